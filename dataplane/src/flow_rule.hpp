// Flow rules as the operator writes them: an ovs-ofctl-like text syntax for
// the match and the actions, parsed into RuleSpec (ports still by name). The
// same parser serves the `rule.add` RPC, `[[rule]]` tables in the switch's
// TOML file and the fuzzer; docs/switch-config.md describes the syntax.
//
// Match: comma-separated fields, all of which must hold (empty or "*": every packet)
//   in_port=NAME  dl_vlan=ID|none (alias vlan)  dl_src=MAC  dl_dst=MAC  dl_type=0x0800
//   ip ipv6 tcp udp sctp tcp6 udp6 sctp6 icmp icmp6 (shorthands)
//   nw_src=ADDR[/LEN] nw_dst=ADDR[/LEN] (IPv4 or IPv6; aliases ipv6_src, ipv6_dst)
//   nw_proto=N  tp_src=N  tp_dst=N (needs tcp, udp or sctp)
// Actions: comma-separated, run in order
//   output:PORT  push_vlan:ID  pop_vlan  normal (hand to the L2 bridge)  drop  count (no-op:
//   every rule counts packets and bytes)
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flow_key.hpp"

namespace nfv::sw {

inline constexpr size_t kMaxRuleActions = 8;
inline constexpr size_t kMaxRules = 1024;

enum class ActionType : uint8_t { output, push_vlan, pop_vlan, normal, drop };

struct RuleAction {
  ActionType type = ActionType::drop;
  std::string port;   // output
  uint16_t vlan = 0;  // push_vlan
};

struct RuleMatch {
  std::string in_port;  // empty: any port
  KeyWords value{};     // every field but in_port
  KeyWords mask{};
  std::string text;     // canonical form, e.g. "in_port=vm1,udp,nw_dst=10.0.0.0/8,tp_dst=2152"
};

struct RuleSpec {
  uint32_t priority = 0;  // 0..65535, higher first
  RuleMatch match;
  std::vector<RuleAction> actions;
  std::string actions_text;  // canonical
  // Port names the rule refers to (in_port and outputs), for checking.
  std::vector<std::string> port_names() const;
};

// A syntax error: where in the text (0-based byte offset) and what is wrong,
// as "<what>; expected <what is accepted>".
struct RuleTextError {
  size_t offset = 0;
  std::string message;
};

template <typename T>
struct RuleParsed {
  std::optional<T> value;
  RuleTextError error;
  explicit operator bool() const noexcept { return value.has_value(); }
};

RuleParsed<RuleMatch> parse_rule_match(std::string_view text);
RuleParsed<std::vector<RuleAction>> parse_rule_actions(std::string_view text);
std::string actions_to_string(const std::vector<RuleAction>& actions);

inline constexpr uint32_t kMaxPriority = 65535;

}  // namespace nfv::sw
