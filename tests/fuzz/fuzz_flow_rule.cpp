// libFuzzer target: the flow rule text parser (rule.add params, [[rule]] strings).
// Input: MATCH '\n' ACTIONS. Besides not crashing, a parsed match's canonical
// text must parse again into the same (value, mask) words, and the canonical
// actions must parse again into the same text; error offsets stay in the text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "flow_rule.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);  // bytes as text: no alignment needed
  const size_t nl = in.find('\n');
  const std::string_view match = in.substr(0, nl);
  const std::string_view actions = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);

  auto m = nfv::sw::parse_rule_match(match);
  if (m) {
    auto again = nfv::sw::parse_rule_match(m.value->text);
    if (!again || again.value->value != m.value->value || again.value->mask != m.value->mask ||
        again.value->text != m.value->text || again.value->in_port != m.value->in_port)
      __builtin_trap();
  } else if (m.error.offset > match.size()) {
    __builtin_trap();
  }
  auto a = nfv::sw::parse_rule_actions(actions);
  if (a) {
    const std::string text = nfv::sw::actions_to_string(*a.value);
    auto again = nfv::sw::parse_rule_actions(text);
    if (!again || nfv::sw::actions_to_string(*again.value) != text) __builtin_trap();
  } else if (a.error.offset > actions.size()) {
    __builtin_trap();
  }
  return 0;
}
