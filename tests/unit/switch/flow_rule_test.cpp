// The flow rule text parser and the [[rule]] / metrics keys of the switch config.
#include <doctest/doctest.h>

#include "config.hpp"
#include "flow_rule.hpp"

using namespace nfv::sw;

TEST_CASE("rule match: canonical text and fields") {
  auto m = parse_rule_match("in_port=vm1,ip,nw_dst=10.1.2.3/8,udp,tp_dst=2152");
  REQUIRE(m);
  CHECK(m.value->in_port == "vm1");
  CHECK(m.value->text == "in_port=vm1,udp,nw_dst=10.0.0.0/8,tp_dst=2152");
  // Reparsing the canonical text gives the same words.
  auto again = parse_rule_match(m.value->text);
  REQUIRE(again);
  CHECK(again.value->value == m.value->value);
  CHECK(again.value->mask == m.value->mask);

  CHECK(parse_rule_match("").value->text == "*");
  CHECK(parse_rule_match(" * ").value->text == "*");
  CHECK(parse_rule_match("tcp6,ipv6_src=2001:db8::1/32").value->text == "tcp6,nw_src=2001:db8::/32");
  CHECK(parse_rule_match("dl_vlan=none, dl_dst=02:00:00:00:00:0B").value->text == "dl_vlan=none,dl_dst=02:00:00:00:00:0b");
  CHECK(parse_rule_match("dl_type=0x88cc").value->text == "dl_type=0x88cc");
  CHECK(parse_rule_match("nw_proto=47").value->text == "nw_proto=47");
  CHECK(parse_rule_match("ipv6,nw_proto=47").value->text == "ipv6,nw_proto=47");
}

TEST_CASE("rule match: errors say where and what") {
  struct Case {
    const char* text;
    size_t offset;
    const char* says;
  };
  const Case cases[] = {
      {"in_port=a,nw_dst=10.0.0.0/33", 17, "not an address or prefix"},
      {"udp,tcp", 4, "another IP protocol"},
      {"ip,ipv6", 3, "another EtherType"},
      {"ipv6,nw_src=10.0.0.1", 5, "another EtherType"},
      {"tp_dst=80", 0, "needs its protocol"},
      {"ip,tp_dst=80", 3, "needs its protocol"},
      {"udp,tp_dst=65536", 11, "not a port number"},
      {"udp,,tp_dst=1", 4, "empty field"},
      {"in_port=a,in_port=b", 10, "twice"},
      {"foo=1", 0, "unknown match field 'foo'"},
      {"bogus", 0, "unknown match field 'bogus'"},
      {"dl_vlan=4096", 8, "not a VLAN id"},
      {"dl_src=01:02", 7, "not a MAC address"},
      {"ipv6_dst=10.0.0.1", 9, "is an IPv4 address"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto m = parse_rule_match(c.text);
    REQUIRE_FALSE(m);
    CHECK(m.error.offset == c.offset);
    CHECK(m.error.message.find(c.says) != std::string::npos);
    CHECK(m.error.message.find("; expected ") != std::string::npos);
  }
}

TEST_CASE("rule actions") {
  auto a = parse_rule_actions("push_vlan:100, output:vnf1,count");
  REQUIRE(a);
  REQUIRE(a.value->size() == 2);
  CHECK((*a.value)[0].type == ActionType::push_vlan);
  CHECK((*a.value)[0].vlan == 100);
  CHECK((*a.value)[1].type == ActionType::output);
  CHECK((*a.value)[1].port == "vnf1");
  CHECK(actions_to_string(*a.value) == "push_vlan:100,output:vnf1");
  CHECK(parse_rule_actions("drop").value->at(0).type == ActionType::drop);
  CHECK(parse_rule_actions("count,drop"));
  CHECK(parse_rule_actions("pop_vlan,normal"));
  CHECK(parse_rule_actions("output:a,output:b"));

  CHECK(parse_rule_actions("").error.message.find("no actions") != std::string::npos);
  CHECK(parse_rule_actions("drop,output:a").error.message.find("'drop' together") != std::string::npos);
  CHECK(parse_rule_actions("output:a,push_vlan:5").error.message.find("never sent") != std::string::npos);
  CHECK(parse_rule_actions("output:a,push_vlan:5").error.offset == 9);
  CHECK(parse_rule_actions("push_vlan:0,output:a").error.offset == 10);
  CHECK(parse_rule_actions("push_vlan:4095,output:a").error.message.find("1..4094") != std::string::npos);
  CHECK(parse_rule_actions("output:").error.message.find("no port") != std::string::npos);
  CHECK(parse_rule_actions("flood").error.message.find("unknown action 'flood'") != std::string::npos);
  CHECK(parse_rule_actions("count").error.message.find("only 'count'") != std::string::npos);
  CHECK_FALSE(parse_rule_actions("output:a,output:b,output:c,output:d,output:e,output:f,output:g,output:h,output:i"));
}

namespace {
const char* kPorts = R"(
[[port]]
name = "a"
type = "vhost-user"
path = "/tmp/a.sock"
[[port]]
name = "b"
type = "vhost-user"
path = "/tmp/b.sock"
)";
}

TEST_CASE("config: [[rule]] tables") {
  auto cfg = parse_switch_config(std::string(R"([[rule]]
priority = 10
match = "in_port=a,udp,tp_dst=2152"
actions = "output:b"
[[rule]]
actions = "drop"
)") + kPorts, "s.toml");
  REQUIRE_MESSAGE(cfg, (cfg ? "" : cfg.error().message));
  REQUIRE(cfg->rules.size() == 2);
  CHECK(cfg->rules[0].priority == 10);
  CHECK(cfg->rules[0].match == "in_port=a,udp,tp_dst=2152");
  CHECK(cfg->rules[1].priority == 32768);
  CHECK(cfg->rules[1].match.empty());
}

TEST_CASE("config: [[rule]] errors carry FILE:LINE:COLUMN") {
  auto err = [](const std::string& text) {
    auto cfg = parse_switch_config(text + kPorts, "s.toml");
    REQUIRE_FALSE(cfg);
    return cfg.error().message;
  };
  // column: the opening quote is column 9, the text starts at 10, the 'x' at offset 11.
  CHECK(err("[[rule]]\nmatch = \"udp,tp_dst=x\"\nactions = \"drop\"\n") ==
        "s.toml:2:21: 'match': 'x' is not a port number; expected a number in 0..65535");
  CHECK(err("[[rule]]\nactions = \"output:b,pop_vlan\"\n").starts_with("s.toml:2:21: 'actions': the last action"));
  CHECK(err("[[rule]]\nmatch = \"udp\"\n") ==
        "s.toml:1:1: rule has no 'actions' key; expected an 'actions' key such as \"output:vm2\"");
  CHECK(err("[[rule]]\nprio = 1\nactions = \"drop\"\n") ==
        "s.toml:2:1: unknown rule key 'prio'; expected one of priority, match, actions");
  CHECK(err("[[rule]]\npriority = 70000\nactions = \"drop\"\n") ==
        "s.toml:2:12: 'priority' is 70000; expected an integer in 0..65535 (higher first)");
  CHECK(err("[[rule]]\nmatch = \"in_port=zz\"\nactions = \"drop\"\n") ==
        "s.toml:2:10: rule names port 'zz', which is not a [[port]] of this file; expected one of a, b");
  CHECK(err("[[rule]]\nactions = \"output:c\"\n") ==
        "s.toml:2:19: rule names port 'c', which is not a [[port]] of this file; expected one of a, b");
}

TEST_CASE("config: metrics address") {
  CHECK(parse_switch_config("[switch]\nmetrics = \"127.0.0.1:9464\"\n", "s.toml")->metrics == "127.0.0.1:9464");
  CHECK(parse_switch_config("[switch]\nmetrics = \"[::1]:0\"\n", "s.toml"));
  CHECK(parse_switch_config("[switch]\nmetrics = \"localhost:9100\"\n", "s.toml"));
  auto bad = parse_switch_config("[switch]\nmetrics = \"0.0.0.0:9464\"\n", "s.toml");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.starts_with("s.toml:2:11: 'metrics' is \"0.0.0.0:9464\"; expected"));
  CHECK(bad.error().message.find("loopback only") != std::string::npos);
  CHECK_FALSE(check_metrics_address("127.0.0.1"));
  CHECK_FALSE(check_metrics_address("127.0.0.1:99999"));
  CHECK(parse_switch_config("", "s.toml")->metrics.empty());
}
