// Flow keys from real frame bytes, rule matching and priorities, compiled
// actions, and counters kept across table rebuilds.
#include <doctest/doctest.h>

#include <vector>

#include "flow_key.hpp"
#include "rule_set.hpp"

using namespace nfv::sw;

namespace {

// Ethernet [+ 802.1Q] + IPv4 + UDP/TCP frame.
std::vector<uint8_t> ipv4_frame(uint8_t proto, uint16_t sport, uint16_t dport, int vlan = -1,
                                std::array<uint8_t, 4> dst = {10, 1, 2, 3}, uint16_t frag = 0) {
  std::vector<uint8_t> f = {0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a};
  if (vlan >= 0) f.insert(f.end(), {0x81, 0x00, uint8_t(vlan >> 8), uint8_t(vlan)});
  f.insert(f.end(), {0x08, 0x00});
  f.insert(f.end(), {0x45, 0, 0, 28, 0, 0, uint8_t(frag >> 8), uint8_t(frag), 64, proto, 0, 0, 192, 168, 0, 1,
                     dst[0], dst[1], dst[2], dst[3]});
  f.insert(f.end(), {uint8_t(sport >> 8), uint8_t(sport), uint8_t(dport >> 8), uint8_t(dport), 0, 8, 0, 0});
  return f;
}

std::vector<uint8_t> ipv6_udp_frame(uint16_t dport) {
  std::vector<uint8_t> f = {0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a, 0x86, 0xdd,
                            0x60, 0, 0, 0, 0, 8, 17, 64};
  const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  f.insert(f.end(), src, src + 16);
  f.insert(f.end(), dst, dst + 16);
  f.insert(f.end(), {0, 53, uint8_t(dport >> 8), uint8_t(dport), 0, 8, 0, 0});
  return f;
}

KeyWords key_of(const std::vector<uint8_t>& f, uint16_t in_port = 0) {
  return extract_flow_key(f.data(), f.size(), in_port);
}

bool matches(const char* match, const std::vector<uint8_t>& frame, uint16_t in_port = 0) {
  auto m = parse_rule_match(match);
  REQUIRE_MESSAGE(m, m.error.message);
  KeyWords v = m.value->value, k = m.value->mask;
  if (!m.value->in_port.empty()) {
    k[flow_key::kMeta] |= uint64_t{0xffff} << flow_key::kInPortShift;
    v[flow_key::kMeta] |= uint64_t{m.value->in_port == "p1" ? 1u : 2u} << flow_key::kInPortShift;
  }
  return key_matches(key_of(frame, in_port), v, k);
}

uint16_t slots(const std::string& name) { return name == "a" ? 0 : name == "b" ? 1 : name == "c" ? 2 : kNoSlot; }

}  // namespace

TEST_CASE("flow key: fields of an IPv4 UDP frame") {
  const auto k = key_of(ipv4_frame(17, 9, 2152), 3);
  using namespace flow_key;
  CHECK((k[kMeta] >> kInPortShift) == 3);
  CHECK((k[kMeta] >> kDlTypeShift & 0xffff) == 0x0800);
  CHECK((k[kMeta] >> kNwProtoShift & 0xff) == 17);
  CHECK((k[kMeta] & (kFlagIp | kFlagL4)) == (kFlagIp | kFlagL4));
  CHECK(k[kDlDst] == 0x02000000000bULL);
  CHECK(k[kDlSrc] == 0x02000000000aULL);
  CHECK(k[kNwSrc] == 0xc0a80001ULL);
  CHECK(k[kNwDst] == 0x0a010203ULL);
  CHECK(k[kTp] == (9u << 16 | 2152u));
}

TEST_CASE("flow key: truncated frames leave the unread fields out") {
  auto f = ipv4_frame(17, 9, 2152);
  CHECK(extract_flow_key(f.data(), 10, 0)[flow_key::kDlDst] == 0);  // runt
  const auto k = extract_flow_key(f.data(), 14 + 20 + 2, 0);          // UDP header cut
  CHECK((k[flow_key::kMeta] & flow_key::kFlagIp) != 0);
  CHECK((k[flow_key::kMeta] & flow_key::kFlagL4) == 0);
  CHECK_FALSE(matches("udp,tp_src=9", std::vector<uint8_t>(f.begin(), f.begin() + 36)));
}

TEST_CASE("rule matching") {
  const auto udp = ipv4_frame(17, 9, 2152);
  CHECK(matches("", udp));
  CHECK(matches("udp", udp));
  CHECK(matches("ip", udp));
  CHECK_FALSE(matches("tcp", udp));
  CHECK_FALSE(matches("ipv6", udp));
  CHECK(matches("udp,tp_dst=2152", udp));
  CHECK_FALSE(matches("udp,tp_dst=2153", udp));
  CHECK(matches("udp,tp_src=9,tp_dst=2152", udp));
  CHECK(matches("nw_dst=10.0.0.0/8", udp));
  CHECK(matches("nw_dst=10.1.2.0/24", udp));
  CHECK_FALSE(matches("nw_dst=10.1.3.0/24", udp));
  CHECK(matches("nw_dst=0.0.0.0/0", udp));
  CHECK(matches("nw_src=192.168.0.1", udp));
  CHECK(matches("dl_dst=02:00:00:00:00:0b,dl_src=02:00:00:00:00:0a", udp));
  CHECK_FALSE(matches("dl_dst=02:00:00:00:00:0a", udp));
  CHECK(matches("dl_vlan=none", udp));
  CHECK_FALSE(matches("dl_vlan=10", udp));
  CHECK(matches("in_port=p1", udp, 1));
  CHECK_FALSE(matches("in_port=p1", udp, 2));

  const auto tagged = ipv4_frame(17, 9, 2152, 10);
  CHECK(matches("dl_vlan=10,udp,tp_dst=2152", tagged));  // L3/L4 read past the tag
  CHECK_FALSE(matches("dl_vlan=none", tagged));
  CHECK_FALSE(matches("dl_vlan=11", tagged));

  const auto tcp = ipv4_frame(6, 1000, 80);
  CHECK(matches("tcp,tp_dst=80", tcp));
  CHECK_FALSE(matches("udp,tp_dst=80", tcp));
  CHECK(matches("nw_proto=6", tcp));

  const auto fragment = ipv4_frame(17, 9, 2152, -1, {10, 1, 2, 3}, 100);  // offset != 0: no UDP header
  CHECK(matches("udp", fragment));
  CHECK_FALSE(matches("udp,tp_dst=2152", fragment));

  const auto v6 = ipv6_udp_frame(2152);
  CHECK(matches("udp6,tp_dst=2152", v6));
  CHECK(matches("ipv6,nw_dst=2001:db8:1::/48", v6));
  CHECK_FALSE(matches("ipv6,nw_dst=2001:db8:2::/48", v6));
  CHECK(matches("nw_src=2001:db8::1", v6));
  CHECK(matches("nw_dst=2001:db8::/16", v6));
  CHECK(matches("nw_proto=17", v6));
  CHECK_FALSE(matches("udp", v6));  // udp is IPv4, as in ovs-ofctl
  CHECK_FALSE(matches("nw_dst=10.0.0.0/8", v6));
}

TEST_CASE("rule set: priorities, ties and compiled actions") {
  RuleSet rules;
  const uint32_t low = *rules.add(1, "", "normal");
  const uint32_t udp = *rules.add(10, "in_port=a,udp", "output:c");
  const uint32_t gtp = *rules.add(20, "in_port=a,udp,tp_dst=2152", "push_vlan:100,output:b");
  const uint32_t tie = *rules.add(20, "in_port=a,udp", "drop");  // same priority, added later
  auto table = rules.compile(slots);
  REQUIRE(table);
  REQUIRE(table->size() == 4);

  auto hit = [&](const std::vector<uint8_t>& f, uint16_t in) {
    const int32_t i = table->lookup(key_of(f, in));
    return i < 0 ? 0u : table->entry(i).id;
  };
  CHECK(hit(ipv4_frame(17, 9, 2152), 0) == gtp);
  CHECK(hit(ipv4_frame(17, 9, 53), 0) == tie);  // 20 beats 10; among 20s the older rule
  CHECK(hit(ipv4_frame(6, 9, 2152), 0) == low);
  CHECK(hit(ipv4_frame(17, 9, 2152), 1) == low);  // other port

  const FlowEntry& e = table->entry(table->lookup(key_of(ipv4_frame(17, 9, 2152), 0)));
  REQUIRE(e.n_ops == 2);
  CHECK(e.ops[0].type == ActionType::push_vlan);
  CHECK(e.ops[0].arg == 100);
  CHECK(e.ops[1].type == ActionType::output);
  CHECK(e.ops[1].arg == 1);

  // Batch classification gives the same answers.
  const std::vector<KeyWords> keys = {key_of(ipv4_frame(17, 9, 2152)), key_of(ipv4_frame(6, 1, 1)),
                                      key_of(ipv4_frame(17, 9, 2152), 2)};
  int32_t out[3];
  table->classify(keys.data(), 3, out);
  CHECK(table->entry(out[0]).id == gtp);
  CHECK(table->entry(out[1]).id == low);
  CHECK(table->entry(out[2]).id == low);

  CHECK(rules.del(udp));
  CHECK_FALSE(rules.del(udp));
  CHECK(rules.compile(slots)->size() == 3);
  rules.clear();
  CHECK(rules.compile(slots) == nullptr);  // no table: PMDs skip classification
}

TEST_CASE("rule set: unknown ports, counters across rebuilds, JSON") {
  RuleSet rules;
  const uint32_t id = *rules.add(5, "in_port=gone", "output:c");
  const uint32_t out_gone = *rules.add(5, "in_port=a", "output:gone");
  auto t1 = rules.compile(slots);
  CHECK(t1->lookup(key_of(ipv4_frame(17, 1, 1), 0)) == 1);  // in_port=gone never matches
  CHECK(t1->entry(1).ops[0].arg == kNoSlot);
  // A PMD counts through the entry; a rebuilt table shares the counters.
  t1->entry(0).counters->pmd[3].packets.add(2);
  t1->entry(0).counters->pmd[0].bytes.add(128);
  auto t2 = rules.compile(slots);
  CHECK(t2->entry(0).counters == t1->entry(0).counters);
  const auto j = rules.rule_json(id, slots);
  CHECK(j["packets"] == 2);
  CHECK(j["bytes"] == 128);
  CHECK(j["active"] == false);
  CHECK(j["match"] == "in_port=gone");
  CHECK(rules.list_json(slots).size() == 2);
  CHECK(rules.rule_json(out_gone, slots)["actions"] == "output:gone");

  auto bad = rules.add(5, "udp,tp_dst=x", "drop");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "match \"udp,tp_dst=x\" at offset 11: 'x' is not a port number; expected a number in 0..65535");
  CHECK_FALSE(rules.add(70000, "", "drop"));
}
