// RuleSet: parsing into ids, compiling into FlowTables, JSON for rule.list.
#include "rule_set.hpp"

#include <algorithm>

namespace nfv::sw {

using control::Json;

uint64_t RuleCounters::packets() const noexcept {
  uint64_t n = 0;
  for (const PerPmd& p : pmd) n += p.packets.load();
  return n;
}

uint64_t RuleCounters::bytes() const noexcept {
  uint64_t n = 0;
  for (const PerPmd& p : pmd) n += p.bytes.load();
  return n;
}

Result<uint32_t> RuleSet::add(uint32_t priority, std::string_view match, std::string_view actions) {
  if (priority > kMaxPriority)
    return make_error(Errc::invalid_argument,
                      "'priority' is " + std::to_string(priority) + "; expected an integer in 0..65535");
  auto m = parse_rule_match(match);
  if (!m)
    return make_error(Errc::invalid_argument, "match \"" + std::string(match) + "\" at offset " +
                                                  std::to_string(m.error.offset) + ": " + m.error.message);
  auto a = parse_rule_actions(actions);
  if (!a)
    return make_error(Errc::invalid_argument, "actions \"" + std::string(actions) + "\" at offset " +
                                                  std::to_string(a.error.offset) + ": " + a.error.message);
  RuleSpec spec;
  spec.priority = priority;
  spec.match = std::move(*m.value);
  spec.actions = std::move(*a.value);
  spec.actions_text = actions_to_string(spec.actions);
  return add(std::move(spec));
}

Result<uint32_t> RuleSet::add(RuleSpec spec) {
  if (rules_.size() >= kMaxRules)
    return make_error(Errc::resource, "the flow table is full (" + std::to_string(kMaxRules) +
                                          " rules); delete rules first");
  const uint32_t id = next_id_++;
  rules_.emplace(id, Installed{std::move(spec), std::make_shared<RuleCounters>()});
  return id;
}

bool RuleSet::del(uint32_t id) { return rules_.erase(id) != 0; }

size_t RuleSet::clear() {
  const size_t n = rules_.size();
  rules_.clear();
  return n;
}

std::vector<uint32_t> RuleSet::ids_in_order() const {
  std::vector<uint32_t> ids;
  for (const auto& [id, r] : rules_) ids.push_back(id);
  std::stable_sort(ids.begin(), ids.end(), [&](uint32_t a, uint32_t b) {
    return rules_.at(a).spec.priority > rules_.at(b).spec.priority;  // ids already ascending
  });
  return ids;
}

std::unique_ptr<FlowTable> RuleSet::compile(const Resolve& resolve) const {
  if (rules_.empty()) return nullptr;
  std::vector<FlowEntry> entries;
  std::vector<std::shared_ptr<RuleCounters>> keep;
  for (uint32_t id : ids_in_order()) {
    const Installed& r = rules_.at(id);
    FlowEntry e;
    e.id = id;
    e.priority = r.spec.priority;
    e.value = r.spec.match.value;
    e.mask = r.spec.match.mask;
    if (!r.spec.match.in_port.empty()) {
      e.mask[flow_key::kMeta] |= uint64_t{0xffff} << flow_key::kInPortShift;
      e.value[flow_key::kMeta] |= uint64_t{resolve(r.spec.match.in_port)} << flow_key::kInPortShift;
    }
    for (const RuleAction& a : r.spec.actions) {
      FlowOp op{a.type, 0};
      if (a.type == ActionType::output) op.arg = resolve(a.port);
      if (a.type == ActionType::push_vlan) op.arg = a.vlan;
      e.ops[e.n_ops++] = op;
    }
    for (uint8_t w = 0; w < kKeyWords; ++w)
      if (e.mask[w] != 0) e.probe = w;
    e.counters = r.counters.get();
    keep.push_back(r.counters);
    entries.push_back(e);
  }
  return std::make_unique<FlowTable>(std::move(entries), std::move(keep));
}

Json RuleSet::rule_json(uint32_t id, const Resolve& resolve) const {
  const Installed& r = rules_.at(id);
  bool active = true;
  for (const std::string& p : r.spec.port_names()) active = active && resolve(p) != kNoSlot;
  return {{"id", id},
          {"priority", r.spec.priority},
          {"match", r.spec.match.text},
          {"actions", r.spec.actions_text},
          {"packets", r.counters->packets()},
          {"bytes", r.counters->bytes()},
          {"active", active}};
}

Json RuleSet::list_json(const Resolve& resolve) const {
  Json list = Json::array();
  for (uint32_t id : ids_in_order()) list.push_back(rule_json(id, resolve));
  return list;
}

}  // namespace nfv::sw
