// Switch: the rule.* JSON-RPC methods (docs/switch-rpc.md). Every change
// rebuilds the FlowTable and publishes a new Snapshot (datapath.hpp).
#include <spdlog/spdlog.h>

#include "switch.hpp"

namespace nfv::sw {

using control::Json;
using control::RpcError;

uint16_t Switch::resolve_port(const std::string& name) const {
  auto slot = find_port(name);
  return slot ? *slot : kNoSlot;
}

RuleSet::Resolve Switch::resolver() const {
  return [this](const std::string& name) { return resolve_port(name); };
}

void Switch::register_rule_methods(control::JsonRpcServer& rpc) {
  auto id_param = [](const Json& p) -> uint32_t {
    if (!p.is_object() || !p.contains("id") || !p["id"].is_number_unsigned() || p["id"].get<uint64_t>() > UINT32_MAX)
      throw RpcError(RpcError::kInvalidParams, "missing integer parameter 'id' (see rule.list)");
    return p["id"].get<uint32_t>();
  };
  rpc.add_method("rule.add", [this](const Json& p) {
    if (!p.is_object()) throw RpcError(RpcError::kInvalidParams, "params must be an object: {\"priority\", \"match\", \"actions\"}");
    for (const auto& [key, value] : p.items())
      if (key != "priority" && key != "match" && key != "actions")
        throw RpcError(RpcError::kInvalidParams, "unknown parameter '" + key + "'; expected priority, match, actions");
    uint32_t priority = 32768;
    if (p.contains("priority")) {
      if (!p["priority"].is_number_unsigned() || p["priority"].get<uint64_t>() > kMaxPriority)
        throw RpcError(RpcError::kInvalidParams, "'priority' must be an integer in 0..65535");
      priority = p["priority"].get<uint32_t>();
    }
    std::string match, actions;
    if (p.contains("match")) {
      if (!p["match"].is_string()) throw RpcError(RpcError::kInvalidParams, "'match' must be a string, e.g. \"in_port=vm1,udp\"");
      match = p["match"].get<std::string>();
    }
    if (!p.contains("actions") || !p["actions"].is_string())
      throw RpcError(RpcError::kInvalidParams, "missing string parameter 'actions', e.g. \"output:vm2\"");
    actions = p["actions"].get<std::string>();
    // Parse first (syntax errors), then check the ports against what exists now.
    RuleSet probe;
    if (auto r = probe.add(priority, match, actions); !r) throw RpcError(RpcError::kInvalidParams, r.error().message);
    for (const std::string& name : probe.rules().begin()->second.spec.port_names())
      if (!find_port(name))
        throw RpcError(RpcError::kNotFound, "rule names port '" + name + "', which does not exist; see port.list");
    auto id = rules_.add(std::move(probe.rules().begin()->second.spec));
    if (!id) throw RpcError(RpcError::kFailed, id.error().message);
    publish();
    spdlog::info("rule {} added: priority={} {} actions={}", *id, priority, match, actions);
    return rules_.rule_json(*id, resolver());
  });
  rpc.add_method("rule.del", [this, id_param](const Json& p) {
    const uint32_t id = id_param(p);
    if (!rules_.del(id)) throw RpcError(RpcError::kNotFound, "no rule " + std::to_string(id) + "; see rule.list");
    publish();
    spdlog::info("rule {} deleted", id);
    return Json{{"deleted", id}};
  });
  rpc.add_method("rule.flush", [this](const Json&) {
    const size_t n = rules_.clear();
    publish();
    return Json{{"flushed", n}};
  });
  rpc.add_method("rule.list", [this](const Json&) { return rules_.list_json(resolver()); });
}

}  // namespace nfv::sw
