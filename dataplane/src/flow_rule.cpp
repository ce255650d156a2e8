// The flow rule text parser (syntax in flow_rule.hpp and docs/switch-config.md).
//
// A match is read into Fields (each field at most once, shorthands may repeat
// what another field already says), checked as a whole, then turned into the
// (value, mask) words of flow_key.hpp and a canonical text in a fixed order.
#include "flow_rule.hpp"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <optional>

#include "nfv/mac_address.hpp"

namespace nfv::sw {

namespace {

using namespace flow_key;

struct Token {
  std::string_view text;
  size_t offset;
};

std::string_view trim(std::string_view s, size_t& offset) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1), ++offset;
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Comma-separated tokens with their offsets; empty tokens are kept (and rejected by callers).
std::vector<Token> split(std::string_view text) {
  std::vector<Token> out;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const size_t end = comma == std::string_view::npos ? text.size() : comma;
    size_t off = start;
    const std::string_view t = trim(text.substr(start, end - start), off);
    out.push_back({t, off});
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

std::optional<uint64_t> number(std::string_view s, uint64_t max) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2), base = 16;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v > max) return std::nullopt;
  return v;
}

struct Prefix {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
  unsigned len = 0;
};

std::optional<Prefix> parse_prefix(std::string_view s) {
  Prefix p;
  const size_t slash = s.find('/');
  const std::string addr(s.substr(0, slash));
  p.v6 = addr.find(':') != std::string::npos;
  if (inet_pton(p.v6 ? AF_INET6 : AF_INET, addr.c_str(), p.bytes.data()) != 1) return std::nullopt;
  const unsigned bits = p.v6 ? 128 : 32;
  p.len = bits;
  if (slash != std::string_view::npos) {
    auto n = number(s.substr(slash + 1), bits);
    if (!n) return std::nullopt;
    p.len = static_cast<unsigned>(*n);
  }
  for (unsigned i = 0; i < bits / 8; ++i) {  // clear host bits: 10.1.2.3/8 is 10.0.0.0/8
    const unsigned keep = p.len > i * 8 ? std::min(8u, p.len - i * 8) : 0;
    p.bytes[i] &= static_cast<uint8_t>(0xff00u >> keep);
  }
  return p;
}

std::string prefix_text(const Prefix& p) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(p.v6 ? AF_INET6 : AF_INET, p.bytes.data(), buf, sizeof buf);
  std::string s = buf;
  if (p.len != (p.v6 ? 128u : 32u)) s += "/" + std::to_string(p.len);
  return s;
}

// Writes a prefix into two key words (value and mask).
void put_prefix(const Prefix& p, size_t word, KeyWords& value, KeyWords& mask) {
  if (!p.v6) {
    value[word] = be_bytes(p.bytes.data(), 4);
    mask[word] = p.len == 0 ? 0 : (0xffffffffULL << (32 - p.len)) & 0xffffffffULL;
    mask[word + 1] = ~uint64_t{0};  // w4/w6 are 0 for IPv4
    return;
  }
  value[word] = be_bytes(p.bytes.data(), 8);
  value[word + 1] = be_bytes(p.bytes.data() + 8, 8);
  auto bits = [](unsigned n) { return n == 0 ? uint64_t{0} : n >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - n); };
  mask[word] = bits(p.len);
  mask[word + 1] = bits(p.len > 64 ? p.len - 64 : 0);
}

struct Fields {
  std::string in_port;
  std::optional<int> vlan;  // -1: untagged
  std::optional<uint64_t> dl_src, dl_dst;
  std::optional<uint16_t> dl_type;
  std::optional<uint8_t> proto;
  std::optional<Prefix> src, dst;
  std::optional<uint16_t> tp_src, tp_dst;
  size_t tp_offset = 0;  // of the first tp_ field, for its error
};

struct Shorthand {
  std::string_view name;
  uint16_t dl_type;
  int proto;  // -1: none
};

constexpr Shorthand kShorthands[] = {
    {"ip", kEthIpv4, -1},           {"ipv6", kEthIpv6, -1},          {"ip6", kEthIpv6, -1},
    {"tcp", kEthIpv4, kProtoTcp},   {"udp", kEthIpv4, kProtoUdp},    {"sctp", kEthIpv4, kProtoSctp},
    {"icmp", kEthIpv4, 1},          {"tcp6", kEthIpv6, kProtoTcp},   {"udp6", kEthIpv6, kProtoUdp},
    {"sctp6", kEthIpv6, kProtoSctp}, {"icmp6", kEthIpv6, 58},
};

constexpr std::string_view kFieldsExpected =
    "in_port=PORT, dl_vlan=ID|none, dl_src=MAC, dl_dst=MAC, dl_type=N, nw_src=ADDR[/LEN], "
    "nw_dst=ADDR[/LEN], nw_proto=N, tp_src=N, tp_dst=N or one of ip, ipv6, tcp, udp, sctp, icmp, "
    "tcp6, udp6, sctp6, icmp6";

class MatchParser {
 public:
  RuleParsed<RuleMatch> run(std::string_view text) {
    size_t off0 = 0;
    const std::string_view all = trim(text, off0);
    if (all.empty() || all == "*") return finish();
    for (const Token& t : split(text))
      if (!field(t)) return {std::nullopt, err_};
    return finish();
  }

 private:
  bool fail(size_t offset, std::string what, std::string_view expected) {
    err_ = {offset, std::move(what) + "; expected " + std::string(expected)};
    return false;
  }

  bool set_dl_type(uint16_t t, const Token& tok) {
    if (f_.dl_type && *f_.dl_type != t)
      return fail(tok.offset, "'" + std::string(tok.text) + "' contradicts an earlier field (another EtherType)",
                  "fields of one protocol family");
    f_.dl_type = t;
    return true;
  }
  bool set_proto(uint8_t p, const Token& tok) {
    if (f_.proto && *f_.proto != p)
      return fail(tok.offset, "'" + std::string(tok.text) + "' contradicts an earlier field (another IP protocol)",
                  "one IP protocol");
    f_.proto = p;
    return true;
  }
  template <typename T>
  bool once(std::optional<T>& slot, const Token& tok, std::string_view name) {
    if (slot) return fail(tok.offset, "'" + std::string(name) + "' is given twice", "each field at most once");
    return true;
  }

  bool field(const Token& t) {
    if (t.text.empty()) return fail(t.offset, "empty field (two commas in a row?)", kFieldsExpected);
    const size_t eq = t.text.find('=');
    const std::string_view name = t.text.substr(0, eq);
    if (eq == std::string_view::npos) {
      for (const Shorthand& s : kShorthands)
        if (s.name == name)
          return set_dl_type(s.dl_type, t) && (s.proto < 0 || set_proto(static_cast<uint8_t>(s.proto), t));
      return fail(t.offset, "unknown match field '" + std::string(name) + "'", kFieldsExpected);
    }
    const std::string_view v = t.text.substr(eq + 1);
    const size_t voff = t.offset + eq + 1;
    const std::string vs(v);
    if (name == "in_port") {
      if (!f_.in_port.empty()) return fail(t.offset, "'in_port' is given twice", "each field at most once");
      if (v.empty()) return fail(voff, "'in_port' is empty", "a port name");
      f_.in_port = vs;
      return true;
    }
    if (name == "dl_vlan" || name == "vlan") {
      if (!once(f_.vlan, t, name)) return false;
      if (v == "none") return f_.vlan = -1, true;
      auto n = number(v, 4095);
      if (!n) return fail(voff, "'" + vs + "' is not a VLAN id", "a VLAN id in 0..4095 or none (untagged)");
      f_.vlan = static_cast<int>(*n);
      return true;
    }
    if (name == "dl_src" || name == "dl_dst") {
      auto& slot = name == "dl_src" ? f_.dl_src : f_.dl_dst;
      if (!once(slot, t, name)) return false;
      auto mac = MacAddress::parse(v);
      if (!mac) return fail(voff, "'" + vs + "' is not a MAC address", "a MAC address like 02:00:00:00:00:01");
      slot = mac->to_u64();
      return true;
    }
    if (name == "dl_type") {
      auto n = number(v, 0xffff);
      if (!n) return fail(voff, "'" + vs + "' is not an EtherType", "a number in 0..0xffff, e.g. 0x0800");
      return set_dl_type(static_cast<uint16_t>(*n), t);
    }
    if (name == "nw_proto" || name == "ip_proto") {
      auto n = number(v, 255);
      if (!n) return fail(voff, "'" + vs + "' is not an IP protocol number", "a number in 0..255");
      return set_proto(static_cast<uint8_t>(*n), t);
    }
    if (name == "nw_src" || name == "nw_dst" || name == "ipv6_src" || name == "ipv6_dst") {
      auto& slot = name.ends_with("src") ? f_.src : f_.dst;
      if (!once(slot, t, name)) return false;
      auto p = parse_prefix(v);
      if (!p)
        return fail(voff, "'" + vs + "' is not an address or prefix",
                    "an IPv4 or IPv6 address with an optional /LEN (10.0.0.0/8, 2001:db8::/32)");
      if (name.starts_with("ipv6") && !p->v6)
        return fail(voff, "'" + vs + "' is an IPv4 address", "an IPv6 address for " + std::string(name));
      slot = *p;
      return set_dl_type(p->v6 ? kEthIpv6 : kEthIpv4, t);
    }
    if (name == "tp_src" || name == "tp_dst" || name == "udp_src" || name == "udp_dst" ||
        name == "tcp_src" || name == "tcp_dst") {
      auto& slot = name.ends_with("src") ? f_.tp_src : f_.tp_dst;
      if (!once(slot, t, name)) return false;
      auto n = number(v, 65535);
      if (!n) return fail(voff, "'" + vs + "' is not a port number", "a number in 0..65535");
      slot = static_cast<uint16_t>(*n);
      if (!f_.tp_src || !f_.tp_dst) f_.tp_offset = t.offset;
      return true;
    }
    return fail(t.offset, "unknown match field '" + std::string(name) + "'", kFieldsExpected);
  }

  RuleParsed<RuleMatch> finish() {
    if ((f_.tp_src || f_.tp_dst) &&
        !(f_.proto && (*f_.proto == kProtoTcp || *f_.proto == kProtoUdp || *f_.proto == kProtoSctp))) {
      fail(f_.tp_offset, "a transport port needs its protocol", "tcp, udp or sctp (or nw_proto=6/17/132) in the match");
      return {std::nullopt, err_};
    }
    RuleMatch m;
    KeyWords& v = m.value;
    KeyWords& k = m.mask;
    std::string text;
    auto add = [&](const std::string& s) { text += (text.empty() ? "" : ",") + s; };
    if (!f_.in_port.empty()) add("in_port=" + f_.in_port);  // the value is filled in when compiled
    m.in_port = f_.in_port;
    if (f_.vlan) {
      k[kMeta] |= uint64_t{0x1fff} << kVlanShift;
      if (*f_.vlan >= 0) v[kMeta] |= uint64_t{static_cast<uint16_t>(kVlanPresent | *f_.vlan)} << kVlanShift;
      add("dl_vlan=" + (*f_.vlan < 0 ? std::string("none") : std::to_string(*f_.vlan)));
    }
    if (f_.dl_src) k[kDlSrc] = 0xffffffffffffULL, v[kDlSrc] = *f_.dl_src, add("dl_src=" + MacAddress::from_u64(*f_.dl_src).to_string());
    if (f_.dl_dst) k[kDlDst] = 0xffffffffffffULL, v[kDlDst] = *f_.dl_dst, add("dl_dst=" + MacAddress::from_u64(*f_.dl_dst).to_string());
    if (f_.dl_type) {
      k[kMeta] |= uint64_t{0xffff} << kDlTypeShift;
      v[kMeta] |= uint64_t{*f_.dl_type} << kDlTypeShift;
    }
    if (f_.proto) {
      // An IP protocol means an IP header was read, whatever the family.
      k[kMeta] |= uint64_t{0xff} << kNwProtoShift | kFlagIp;
      v[kMeta] |= uint64_t{*f_.proto} << kNwProtoShift | kFlagIp;
    }
    add_protocol_text(add);
    if (f_.src) put_prefix(*f_.src, kNwSrc, v, k), add("nw_src=" + prefix_text(*f_.src));
    if (f_.dst) put_prefix(*f_.dst, kNwDst, v, k), add("nw_dst=" + prefix_text(*f_.dst));
    if (f_.tp_src || f_.tp_dst) k[kMeta] |= kFlagL4, v[kMeta] |= kFlagL4;
    if (f_.tp_src) k[kTp] |= 0xffffULL << 16, v[kTp] |= uint64_t{*f_.tp_src} << 16, add("tp_src=" + std::to_string(*f_.tp_src));
    if (f_.tp_dst) k[kTp] |= 0xffff, v[kTp] |= *f_.tp_dst, add("tp_dst=" + std::to_string(*f_.tp_dst));
    m.text = text.empty() ? "*" : text;
    return {std::move(m), {}};
  }

  template <typename Add>
  void add_protocol_text(Add& add) {
    if (f_.dl_type && f_.proto) {
      for (const Shorthand& s : kShorthands)
        if (s.proto == *f_.proto && s.dl_type == *f_.dl_type && s.name != "ip6") return add(std::string(s.name));
      add(*f_.dl_type == kEthIpv4 ? "ip" : *f_.dl_type == kEthIpv6 ? "ipv6" : dl_type_text());
      return add("nw_proto=" + std::to_string(*f_.proto));
    }
    if (f_.dl_type) {
      if (f_.src || f_.dst) return;  // nw_src/nw_dst say the family
      return add(*f_.dl_type == kEthIpv4 ? "ip" : *f_.dl_type == kEthIpv6 ? "ipv6" : dl_type_text());
    }
    if (f_.proto) add("nw_proto=" + std::to_string(*f_.proto));
  }

  std::string dl_type_text() const {
    char buf[16];
    std::snprintf(buf, sizeof buf, "dl_type=0x%04x", *f_.dl_type);
    return buf;
  }

  Fields f_;
  RuleTextError err_;
};

constexpr std::string_view kActionsExpected =
    "output:PORT, push_vlan:ID, pop_vlan, normal, drop or count, comma separated";

}  // namespace

std::vector<std::string> RuleSpec::port_names() const {
  std::vector<std::string> names;
  if (!match.in_port.empty()) names.push_back(match.in_port);
  for (const RuleAction& a : actions)
    if (a.type == ActionType::output) names.push_back(a.port);
  return names;
}

RuleParsed<RuleMatch> parse_rule_match(std::string_view text) { return MatchParser{}.run(text); }

RuleParsed<std::vector<RuleAction>> parse_rule_actions(std::string_view text) {
  auto fail = [](size_t off, std::string what, std::string_view expected) {
    return RuleParsed<std::vector<RuleAction>>{std::nullopt, {off, std::move(what) + "; expected " + std::string(expected)}};
  };
  std::vector<RuleAction> out;
  size_t off0 = 0;
  if (trim(text, off0).empty()) return fail(off0, "no actions", kActionsExpected);
  bool drop = false, terminal = false;
  size_t last_off = 0;
  for (const Token& t : split(text)) {
    const size_t colon = t.text.find(':');
    const std::string_view name = t.text.substr(0, colon);
    const std::string arg = colon == std::string_view::npos ? std::string() : std::string(t.text.substr(colon + 1));
    const size_t aoff = t.offset + colon + 1;
    RuleAction a;
    if (t.text.empty()) return fail(t.offset, "empty action (two commas in a row?)", kActionsExpected);
    if (name == "count" && colon == std::string_view::npos) continue;  // every rule counts
    if (name == "output") {
      if (arg.empty()) return fail(t.offset, "'output' has no port", "output:PORT");
      a.type = ActionType::output, a.port = arg;
    } else if (name == "push_vlan") {
      auto n = number(arg, 4094);
      if (!n || *n == 0) return fail(aoff, "'" + arg + "' is not a VLAN id", "push_vlan:ID with ID in 1..4094");
      a.type = ActionType::push_vlan, a.vlan = static_cast<uint16_t>(*n);
    } else if ((name == "pop_vlan" || name == "strip_vlan") && colon == std::string_view::npos) {
      a.type = ActionType::pop_vlan;
    } else if (name == "normal" && colon == std::string_view::npos) {
      a.type = ActionType::normal;
    } else if (name == "drop" && colon == std::string_view::npos) {
      a.type = ActionType::drop;
      drop = true;
    } else {
      return fail(t.offset, "unknown action '" + std::string(t.text) + "'", kActionsExpected);
    }
    if (out.size() == kMaxRuleActions)
      return fail(t.offset, "more than " + std::to_string(kMaxRuleActions) + " actions", "at most 8 actions");
    terminal = a.type == ActionType::output || a.type == ActionType::normal;
    last_off = t.offset;
    out.push_back(std::move(a));
  }
  if (drop && out.size() != 1)
    return fail(0, "'drop' together with other actions", "drop alone (optionally with count)");
  if (out.empty()) return fail(0, "only 'count'", "count with drop, output:PORT or normal");
  if (!drop && !terminal)
    return fail(last_off, "the last action changes a packet that is never sent",
                "actions that end with output:PORT or normal (or drop)");
  return {std::move(out), {}};
}

std::string actions_to_string(const std::vector<RuleAction>& actions) {
  std::string s;
  for (const RuleAction& a : actions) {
    if (!s.empty()) s += ",";
    switch (a.type) {
      case ActionType::output: s += "output:" + a.port; break;
      case ActionType::push_vlan: s += "push_vlan:" + std::to_string(a.vlan); break;
      case ActionType::pop_vlan: s += "pop_vlan"; break;
      case ActionType::normal: s += "normal"; break;
      case ActionType::drop: s += "drop"; break;
    }
  }
  return s;
}

}  // namespace nfv::sw
