// RuleSet: the switch's flow rules as the control thread keeps them (ids,
// specs with port names, counters), and their compilation into a FlowTable
// for the PMD threads once port names are resolved to slots.
//
// Rule ids start at 1 and are never reused while the switch runs. Rules may
// name ports that do not exist (yet, or any more): an unknown in_port never
// matches, an output to an unknown port drops (counted as the in-port's
// "rule" drops); `active` in rule_json says whether every port is present.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "flow_rule.hpp"
#include "flow_table.hpp"
#include "nfv/control/jsonrpc.hpp"
#include "nfv/result.hpp"

namespace nfv::sw {

class RuleSet {
 public:
  using Resolve = std::function<uint16_t(const std::string& port)>;  // slot or kNoSlot

  // Parses and adds a rule; errors name the part ("match"/"actions") and the position.
  Result<uint32_t> add(uint32_t priority, std::string_view match, std::string_view actions);
  Result<uint32_t> add(RuleSpec spec);
  bool del(uint32_t id);
  size_t clear();
  size_t size() const noexcept { return rules_.size(); }
  bool empty() const noexcept { return rules_.empty(); }

  // nullptr when there are no rules (the PMDs then skip classification).
  std::unique_ptr<FlowTable> compile(const Resolve& resolve) const;

  control::Json rule_json(uint32_t id, const Resolve& resolve) const;
  // In table order (priority, then id).
  control::Json list_json(const Resolve& resolve) const;

  struct Installed {
    RuleSpec spec;
    std::shared_ptr<RuleCounters> counters;
  };
  const std::map<uint32_t, Installed>& rules() const noexcept { return rules_; }
  std::vector<uint32_t> ids_in_order() const;

 private:
  std::map<uint32_t, Installed> rules_;
  uint32_t next_id_ = 1;
};

}  // namespace nfv::sw
