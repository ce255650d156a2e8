// Stream configuration front ends (TOML and --stream) over one key table.
#include "stream_config.hpp"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "nfv/net/byte_order.hpp"

namespace nfvgen {

namespace {

using nfv::Errc;
using nfv::make_error;

// The spec being filled plus what the final checks need to know.
struct Draft {
  StreamSpec spec;
  std::optional<bool> src_v6, dst_v6;
  bool flows_given = false;
  bool pcp_given = false;
  bool size_given = false;
};

std::optional<uint64_t> parse_uint(std::string_view s, uint64_t lo, uint64_t hi) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi)
    return std::nullopt;
  return v;
}

// "BASE", "BASE+COUNT", "BASE~COUNT" or "BASE?COUNT": splits off the variation.
std::optional<std::pair<std::string_view, FieldVariation>> split_variation(std::string_view s) {
  const size_t at = s.find_last_of("+~?");
  if (at == std::string_view::npos) return std::pair{s, FieldVariation{}};
  const auto count = parse_uint(s.substr(at + 1), 1, 0xffffffffu);
  if (!count) return std::nullopt;
  const Vary mode = s[at] == '+' ? Vary::increment : s[at] == '~' ? Vary::random : Vary::random_packet;
  return std::pair{s.substr(0, at), FieldVariation{mode, static_cast<uint32_t>(*count)}};
}

bool set_ipv4(uint32_t& out, std::string_view v) {
  const std::string text(v);
  uint8_t buf[4];
  if (inet_pton(AF_INET, text.c_str(), buf) != 1) return false;
  out = nfv::net::load_be32(buf);
  return true;
}

bool set_teid(Draft& d, std::string_view v) {
  const auto split = split_variation(v);
  if (!split) return false;
  const auto teid = parse_uint(split->first, 0, 0xffffffffu);
  if (!teid) return false;
  d.spec.teid = static_cast<uint32_t>(*teid);
  d.spec.teid_vary = split->second;
  return true;
}

bool set_switch(bool& out, std::string_view v) {
  if (v == "1" || v == "on" || v == "true") return out = true, true;
  if (v == "0" || v == "off" || v == "false") return out = false, true;
  return false;
}

bool set_address(Draft& d, std::string_view v, bool src) {
  const auto split = split_variation(v);
  if (!split) return false;
  const std::string text(split->first);
  uint8_t buf[16];
  bool v6;
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
    v6 = false;
    (src ? d.spec.src_ip4 : d.spec.dst_ip4) = nfv::net::load_be32(buf);
  } else if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    v6 = true;
    std::copy(buf, buf + 16, (src ? d.spec.src_ip6 : d.spec.dst_ip6).begin());
  } else {
    return false;
  }
  (src ? d.src_v6 : d.dst_v6) = v6;
  (src ? d.spec.src_ip_vary : d.spec.dst_ip_vary) = split->second;
  return true;
}

bool set_port(Draft& d, std::string_view v, bool src) {
  const auto split = split_variation(v);
  if (!split) return false;
  const auto port = parse_uint(split->first, 0, 65535);
  if (!port) return false;
  (src ? d.spec.src_port : d.spec.dst_port) = static_cast<uint16_t>(*port);
  (src ? d.spec.src_port_vary : d.spec.dst_port_vary) = split->second;
  return true;
}

bool set_size(Draft& d, std::string_view v) {
  d.size_given = true;
  FrameSize& z = d.spec.size;
  if (v == "imix") {
    z = {SizeMode::imix, 60, 1514};
    return true;
  }
  SizeMode mode = SizeMode::uniform;
  size_t at = v.find("..");
  size_t skip = 2;
  if (at != std::string_view::npos) {
    mode = SizeMode::increment;
  } else {
    at = v.find('-');
    skip = 1;
  }
  if (at == std::string_view::npos) {
    const auto n = parse_uint(v, 0, 0xffffffffu);
    if (!n) return false;
    z = {SizeMode::fixed, static_cast<uint32_t>(*n), static_cast<uint32_t>(*n)};
    return true;
  }
  const auto a = parse_uint(v.substr(0, at), 0, 0xffffffffu);
  const auto b = parse_uint(v.substr(at + skip), 0, 0xffffffffu);
  if (!a || !b) return false;
  z = {mode, static_cast<uint32_t>(*a), static_cast<uint32_t>(*b)};
  return true;  // ranges are checked by check_stream_spec()
}

template <typename T>
bool set_uint(T& out, std::string_view v, uint64_t lo, uint64_t hi) {
  const auto n = parse_uint(v, lo, hi);
  if (n) out = static_cast<T>(*n);
  return n.has_value();
}

struct Key {
  const char* name;
  const char* expected;
  bool integer_ok;  // TOML: may be an integer as well as a string
  bool (*apply)(Draft&, std::string_view);
};

#define VARIATION \
  "optionally followed by +COUNT (per flow), ~COUNT (random per flow) or ?COUNT (random per packet), COUNT >= 1"
// clang-format off
constexpr Key kKeys[] = {
  {"name", "a non-empty name without ','", false, [](Draft& d, std::string_view v) {
     if (v.empty() || v.find(',') != std::string_view::npos) return false;
     d.spec.name = std::string(v); return true; }},
  {"id", "an integer 0..65535", true,
   [](Draft& d, std::string_view v) { return set_uint(d.spec.id, v, 0, 65535); }},
  {"protocol", "\"udp\" or \"tcp\"", false, [](Draft& d, std::string_view v) {
     if (v != "udp" && v != "tcp") return false;
     d.spec.l4 = v == "udp" ? L4Proto::udp : L4Proto::tcp; return true; }},
  {"smac", "a unicast MAC address like 02:00:00:00:00:01", false, [](Draft& d, std::string_view v) {
     const auto m = nfv::MacAddress::parse(v);
     if (!m || m->is_multicast()) return false;
     d.spec.src_mac = *m; return true; }},
  {"dmac", "a MAC address like 02:00:00:00:00:02", false, [](Draft& d, std::string_view v) {
     const auto m = nfv::MacAddress::parse(v);
     if (m) d.spec.dst_mac = *m;
     return m.has_value(); }},
  {"vlan", "a VLAN id 0..4095", true, [](Draft& d, std::string_view v) {
     const auto n = parse_uint(v, 0, 4095);
     if (n) d.spec.vlan = static_cast<uint16_t>(*n);
     return n.has_value(); }},
  {"pcp", "a priority 0..7", true, [](Draft& d, std::string_view v) {
     d.pcp_given = true; return set_uint(d.spec.vlan_pcp, v, 0, 7); }},
  {"src", "an IPv4 or IPv6 address, " VARIATION, false,
   [](Draft& d, std::string_view v) { return set_address(d, v, true); }},
  {"dst", "an IPv4 or IPv6 address, " VARIATION, false,
   [](Draft& d, std::string_view v) { return set_address(d, v, false); }},
  {"sport", "a port 0..65535, " VARIATION, true,
   [](Draft& d, std::string_view v) { return set_port(d, v, true); }},
  {"dport", "a port 0..65535, " VARIATION, true,
   [](Draft& d, std::string_view v) { return set_port(d, v, false); }},
  {"flows", "an integer 1..16777216", true, [](Draft& d, std::string_view v) {
     d.flows_given = true; return set_uint(d.spec.flows, v, 1, 1u << 24); }},
  {"size", "N (60..9000), A-B (uniform random), A..B (incrementing) or \"imix\"", true, &set_size},
  {"seed", "an integer 0..18446744073709551615", true,
   [](Draft& d, std::string_view v) { d.spec.seed_given = true; return set_uint(d.spec.seed, v, 0, UINT64_MAX); }},
  {"udp_checksum", "on or off (1/0): off sends UDP checksum 0, IPv4 only", true,
   [](Draft& d, std::string_view v) { return set_switch(d.spec.udp_checksum, v); }},
  {"tunnel", "\"gtpu\" (IPv4/UDP/GTP-U around the stream's packet)", false, [](Draft& d, std::string_view v) {
     if (v != "gtpu") return false;
     d.spec.gtpu = true; return true; }},
  {"teid", "a GTP-U TEID 0..4294967295, " VARIATION, true, &set_teid},
  {"qfi", "a QoS flow id 0..63 (adds a PDU Session Container)", true, [](Draft& d, std::string_view v) {
     const auto n = parse_uint(v, 0, 63);
     if (n) d.spec.qfi = static_cast<uint8_t>(*n);
     return n.has_value(); }},
  {"outer_src", "an IPv4 address (the GTP-U tunnel's source)", false,
   [](Draft& d, std::string_view v) { return set_ipv4(d.spec.outer_src_ip4, v); }},
  {"outer_dst", "an IPv4 address (the GTP-U tunnel's destination)", false,
   [](Draft& d, std::string_view v) { return set_ipv4(d.spec.outer_dst_ip4, v); }},
  {"ttl", "an integer 1..255", true,
   [](Draft& d, std::string_view v) { return set_uint(d.spec.ttl, v, 1, 255); }},
};
// clang-format on
#undef VARIATION

const Key* find_key(std::string_view name) {
  for (const Key& k : kKeys)
    if (name == k.name) return &k;
  return nullptr;
}

std::string key_list() {
  std::string s;
  for (const Key& k : kKeys) s += (s.empty() ? "" : ", ") + std::string(k.name);
  return s;
}

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

Draft new_draft(uint16_t index) {
  Draft d;
  d.spec.name = "stream" + std::to_string(index);
  d.spec.id = index;
  return d;
}

// After the keys: defaults that depend on other keys, cross-key rules, then
// check_stream_spec(). Returns "what; expected what" on failure.
std::optional<std::string> finish(Draft& d) {
  StreamSpec& s = d.spec;
  const bool v6 = d.src_v6.value_or(d.dst_v6.value_or(false));
  if (d.src_v6.value_or(v6) != v6 || d.dst_v6.value_or(v6) != v6)
    return "'src' and 'dst' are of different address families; expected both "
           "IPv4 or both IPv6";
  if (v6 && (!d.src_v6 || !d.dst_v6))
    return "only one of 'src' and 'dst' is given for IPv6; expected both (the "
           "defaults are IPv4)";
  s.l3 = v6 ? L3Proto::ipv6 : L3Proto::ipv4;
  if (d.pcp_given && !s.vlan) return "'pcp' is given without 'vlan'; expected a 'vlan' key too";
  // A GTP-U frame needs 94 bytes for its headers and the signature: 128 unless told.
  if (s.gtpu && !d.size_given) s.size = {SizeMode::fixed, 128, 128};
  if (!d.flows_given) {
    s.flows = 1;
    for (const FieldVariation* v :
         {&s.src_ip_vary, &s.dst_ip_vary, &s.src_port_vary, &s.dst_port_vary, &s.teid_vary})
      if (v->mode == Vary::increment || v->mode == Vary::random) s.flows = std::max(s.flows, std::min(v->count, 1u << 24));
  }
  if (auto st = check_stream_spec(s); !st) return st.error().message;
  return std::nullopt;
}

// toml++ node kind in the words of the messages.
const char* kind_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date/time";
  }
}

}  // namespace

nfv::Result<StreamSpec> parse_stream_option(std::string_view text, uint16_t index) {
  const auto fail = [](const std::string& what) {
    return make_error(Errc::invalid_argument, "--stream: " + what);
  };
  Draft d = new_draft(index);
  std::vector<std::string_view> seen;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string_view item = text.substr(pos, comma - pos);
    pos = comma + 1;
    const size_t eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? item : item.substr(eq + 1);
    if (eq == std::string_view::npos && item == "gtpu") {
      if (std::find(seen.begin(), seen.end(), "tunnel") != seen.end())
        return fail("the tunnel is given twice; expected gtpu or tunnel=gtpu once");
      seen.push_back("tunnel");
      d.spec.gtpu = true;
      continue;
    }
    if (eq == std::string_view::npos && (item == "udp" || item == "tcp")) {
      if (std::find(seen.begin(), seen.end(), "protocol") != seen.end())
        return fail(
            "the protocol is given twice; expected one of udp, tcp or "
            "protocol=");
      seen.push_back("protocol");
      d.spec.l4 = item == "udp" ? L4Proto::udp : L4Proto::tcp;
      continue;
    }
    if (eq == std::string_view::npos)
      return fail("item " + quote(item) +
                  " is not KEY=VALUE; expected udp, tcp, gtpu or KEY=VALUE with KEY one of " +
                  key_list());
    const Key* k = find_key(key);
    if (!k) return fail("unknown key " + quote(key) + "; expected one of " + key_list());
    if (std::find(seen.begin(), seen.end(), key) != seen.end())
      return fail("'" + std::string(key) + "' is given twice; expected each key once");
    seen.push_back(key);
    if (!k->apply(d, value))
      return fail("'" + std::string(key) + "' is " + quote(value) + "; expected " + k->expected);
  }
  if (auto problem = finish(d)) return fail(*problem);
  return std::move(d.spec);
}

nfv::Result<std::vector<StreamSpec>> parse_stream_config(std::string_view toml_text,
                                                         const std::string& source_name) {
  const auto fail = [&](const toml::source_region& at, const std::string& what) {
    return make_error(Errc::invalid_argument, source_name + ":" + std::to_string(at.begin.line) +
                                                  ":" + std::to_string(at.begin.column) + ": " +
                                                  what);
  };
  toml::table doc;
  try {
    doc = toml::parse(toml_text, std::string_view(source_name));
  } catch (const toml::parse_error& e) {
    return fail(e.source(),
                std::string(e.description()) + "; expected valid TOML (https://toml.io/en/v1.0.0)");
  }
  std::vector<StreamSpec> out;
  for (const auto& [top_key, top] : doc) {
    if (top_key.str() != "stream")
      return fail(top_key.source(), "unknown top-level key " + quote(top_key.str()) +
                                        "; expected only [[stream]] tables");
    const toml::array* arr = top.as_array();
    if (!arr || !arr->is_array_of_tables())
      return fail(top.source(),
                  "'stream' is " + std::string(kind_name(top)) + "; expected [[stream]] tables");
    for (const toml::node& node : *arr) {
      const toml::table& table = *node.as_table();
      Draft d = new_draft(static_cast<uint16_t>(out.size()));
      // toml::table is ordered by key; check in file order so the first problem
      // is reported.
      std::vector<std::pair<const toml::key*, const toml::node*>> members;
      for (const auto& [k, v] : table) members.emplace_back(&k, &v);
      std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) {
        const auto &x = a.first->source().begin, &y = b.first->source().begin;
        return x.line != y.line ? x.line < y.line : x.column < y.column;
      });
      for (const auto& [key, value] : members) {
        const Key* k = find_key(key->str());
        if (!k)
          return fail(key->source(), "unknown stream key " + quote(key->str()) +
                                         "; expected one of " + key_list());
        std::string text;
        std::string shown;
        if (const auto* s = value->as_string()) {
          text = s->get();
          shown = quote(text);
        } else if (const auto* i = value->as_integer(); i && k->integer_ok) {
          text = shown = std::to_string(i->get());
        } else if (const auto* b = value->as_boolean(); b && std::string_view(k->name) == "udp_checksum") {
          text = shown = b->get() ? "true" : "false";
        } else {
          return fail(value->source(), "'" + std::string(k->name) + "' is " + kind_name(*value) +
                                           "; expected " + k->expected);
        }
        if (!k->apply(d, text))
          return fail(value->source(),
                      "'" + std::string(k->name) + "' is " + shown + "; expected " + k->expected);
      }
      if (auto problem = finish(d)) return fail(table.source(), *problem);
      for (const StreamSpec& other : out) {
        if (other.name == d.spec.name || other.id == d.spec.id)
          return fail(table.source(), "stream '" + d.spec.name + "' (id " +
                                          std::to_string(d.spec.id) +
                                          ") has the name or id of stream '" + other.name +
                                          "'; expected unique names and ids");
      }
      out.push_back(std::move(d.spec));
    }
  }
  return out;
}

}  // namespace nfvgen
