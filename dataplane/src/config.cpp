// Switch configuration loader: one set of rules, two front ends.
//
// The TOML file and the port.add JSON object are both converted into a small
// neutral value tree (Node) that remembers where each key and value came from;
// the rules below run on that tree only, so a check is written once and reads
// the same whether it fails in a file ("FILE:LINE:COLUMN: ...") or in an RPC
// (no position). docs/switch-config.md is the user-facing reference of every
// key; keep it in step with the key tables here.
#include "config.hpp"

#include "flow_rule.hpp"
#include "nfv/control/http_metrics.hpp"
#include "nfv/text_file.hpp"

#include <fcntl.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <system_error>

namespace nfv::sw {

namespace {

// ---------------------------------------------------------------------------
// The neutral value tree.

struct Where {  // 1-based; line 0 means "no position" (JSON)
  uint32_t line = 0;
  uint32_t column = 0;
};

bool before(Where a, Where b) noexcept {
  return a.line != b.line ? a.line < b.line : a.column < b.column;
}

enum class Kind { null, boolean, integer, floating, string, array, table, other };

struct Member;

struct Node {
  Kind kind = Kind::null;
  Where where;
  int64_t integer = 0;          // saturated at INT64_MAX (JSON's larger unsigned numbers)
  std::string text;             // the string value, or the integer as written in decimal
  std::vector<Node> items;      // array elements
  std::vector<Member> members;  // table members, in document order

  const Member* find(std::string_view key) const;
};

struct Member {
  std::string key;
  Where where;  // of the key itself
  Node value;
};

const Member* Node::find(std::string_view key) const {
  for (const Member& m : members)
    if (m.key == key) return &m;
  return nullptr;
}

Where where_of(const toml::source_region& r) noexcept { return {r.begin.line, r.begin.column}; }

// The rules look at most at document -> [[port]] array -> port -> trunk -> VLAN
// id. Deeper values are only ever reported as "an array"/"a table", so their
// contents are not copied: this bounds the recursion for hostile RPC input.
constexpr int kMaxDepth = 4;

Node from_toml(const toml::node& n, int depth = 0) {
  Node out;
  out.where = where_of(n.source());
  switch (n.type()) {
    case toml::node_type::string:
      out.kind = Kind::string;
      out.text = n.as_string()->get();
      break;
    case toml::node_type::integer:
      out.kind = Kind::integer;
      out.integer = n.as_integer()->get();
      out.text = std::to_string(out.integer);
      break;
    case toml::node_type::floating_point: out.kind = Kind::floating; break;
    case toml::node_type::boolean: out.kind = Kind::boolean; break;
    case toml::node_type::array:
      out.kind = Kind::array;
      if (depth == kMaxDepth) break;
      for (const toml::node& e : *n.as_array()) out.items.push_back(from_toml(e, depth + 1));
      break;
    case toml::node_type::table:
      out.kind = Kind::table;
      if (depth == kMaxDepth) break;
      for (auto&& [key, value] : *n.as_table())
        out.members.push_back(
            Member{std::string(key.str()), where_of(key.source()), from_toml(value, depth + 1)});
      // toml::table is ordered by key; report problems in file order instead.
      std::stable_sort(out.members.begin(), out.members.end(),
                       [](const Member& a, const Member& b) { return before(a.where, b.where); });
      break;
    default: out.kind = Kind::other; break;  // dates and times
  }
  return out;
}

Node from_json(const control::Json& j, int depth = 0) {
  using T = control::Json::value_t;
  Node out;
  switch (j.type()) {
    case T::null: out.kind = Kind::null; break;
    case T::boolean: out.kind = Kind::boolean; break;
    case T::number_integer:
      out.kind = Kind::integer;
      out.integer = j.get<int64_t>();
      out.text = std::to_string(out.integer);
      break;
    case T::number_unsigned: {
      // Beyond int64 no key can accept it: saturate, the message shows the digits.
      constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
      const auto u = j.get<uint64_t>();
      out.kind = Kind::integer;
      out.integer = u <= uint64_t{kMax} ? static_cast<int64_t>(u) : kMax;
      out.text = std::to_string(u);
      break;
    }
    case T::number_float: out.kind = Kind::floating; break;
    case T::string:
      out.kind = Kind::string;
      out.text = j.get<std::string>();
      break;
    case T::array:
      out.kind = Kind::array;
      if (depth == kMaxDepth) break;
      for (const auto& e : j) out.items.push_back(from_json(e, depth + 1));
      break;
    case T::object:
      out.kind = Kind::table;
      if (depth == kMaxDepth) break;
      for (const auto& [key, value] : j.items())
        out.members.push_back(Member{key, {}, from_json(value, depth + 1)});
      break;
    default: out.kind = Kind::other; break;  // binary
  }
  return out;
}

// ---------------------------------------------------------------------------
// Error reporting and typed reads.

// `s` between `q` quotes, with quotes, backslashes and control characters escaped.
std::string quote(std::string_view s, char q = '"') {
  std::string out(1, q);
  for (char c : s) {
    if (c == q || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xf];
      out += kHex[static_cast<unsigned char>(c) & 0xf];
    } else {
      out += c;
    }
  }
  return out + q;
}

std::string key_subject(std::string_view key) { return quote(key, '\''); }

// Builds the error messages and reads typed values. `source` is the file name,
// empty for JSON, whose tree has no positions.
class Checker {
 public:
  Checker(std::string source, bool json) : source_(std::move(source)), json_(json) {}

  Error fail(Where at, std::string_view what, std::string_view expected) const {
    return fail(at, std::string(what) + "; expected " + std::string(expected));
  }
  // `message` already has its "; expected ..." part.
  Error fail(Where at, std::string message) const {
    std::string msg;
    if (at.line != 0)
      msg = source_ + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": ";
    return make_error(Errc::invalid_argument, msg + message);
  }

  std::string kind_name(Kind k) const {
    switch (k) {
      case Kind::null: return "null";
      case Kind::boolean: return "a boolean";
      case Kind::integer: return "an integer";
      case Kind::floating: return "a floating-point number";
      case Kind::string: return "a string";
      case Kind::array: return "an array";
      case Kind::table: return json_ ? "an object" : "a table";
      case Kind::other: return "a date/time";
    }
    return "?";
  }

  // "'queues' is a string; expected an integer in 1..8"
  Error wrong_kind(const Node& v, std::string_view subject, std::string_view expected) const {
    return fail(v.where, std::string(subject) + " is " + kind_name(v.kind), expected);
  }

  Result<int64_t> integer(const Node& v, std::string_view subject, int64_t lo, int64_t hi,
                          std::string_view expected) const {
    if (v.kind != Kind::integer) return wrong_kind(v, subject, expected);
    if (v.integer < lo || v.integer > hi)
      return fail(v.where, std::string(subject) + " is " + v.text, expected);
    return v.integer;
  }

  Result<std::string> string(const Node& v, std::string_view subject,
                             std::string_view expected) const {
    if (v.kind != Kind::string) return wrong_kind(v, subject, expected);
    return v.text;
  }

  // One of `choices`; returns its index.
  template <size_t N>
  Result<size_t> choice(const Node& v, std::string_view subject,
                        const std::array<std::string_view, N>& choices) const {
    std::string expected;
    for (size_t i = 0; i < N; ++i) {
      if (i != 0) expected += i + 1 == N ? " or " : ", ";
      expected += quote(choices[i]);
    }
    if (v.kind != Kind::string) return wrong_kind(v, subject, expected);
    for (size_t i = 0; i < N; ++i)
      if (v.text == choices[i]) return i;
    return fail(v.where, std::string(subject) + " is " + quote(v.text), expected);
  }

  // An array whose elements are checked by the caller.
  Result<const std::vector<Node>*> array(const Node& v, std::string_view subject,
                                         std::string_view expected) const {
    if (v.kind != Kind::array) return wrong_kind(v, subject, expected);
    return &v.items;
  }

 private:
  std::string source_;
  bool json_;
};

// ---------------------------------------------------------------------------
// Value rules shared by several keys.

constexpr size_t kSunPathMax = 108;  // sizeof(sockaddr_un::sun_path), terminator included
constexpr std::string_view kSocketPathExpected =
    "an absolute path shorter than 108 bytes (the unix socket limit)";

Result<std::string> socket_path(const Checker& c, const Member& m) {
  const std::string subject = key_subject(m.key);
  auto s = c.string(m.value, subject, kSocketPathExpected);
  if (!s) return s;
  if (s->empty() || s->front() != '/')
    return c.fail(m.value.where, subject + " is " + quote(*s) + ", not an absolute path",
                  kSocketPathExpected);
  if (s->size() >= kSunPathMax)
    return c.fail(m.value.where, subject + " is " + std::to_string(s->size()) + " bytes long",
                  kSocketPathExpected);
  return s;
}

constexpr std::string_view kVlanExpected = "a VLAN id in 1..4094";

Result<uint16_t> vlan_id(const Checker& c, const Node& v, std::string_view subject) {
  auto id = c.integer(v, subject, 1, 4094, kVlanExpected);
  if (!id) return std::move(id).error();
  return static_cast<uint16_t>(*id);
}

bool valid_port_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > 31) return false;
  return std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
  });
}

constexpr std::string_view kNameExpected = "1..31 characters from A-Z a-z 0-9 _ . -";
constexpr std::string_view kDevargsExpected =
    "DPDK devargs such as \"net_tap0,iface=t0\" or a PCI address";
constexpr std::string_view kCoresExpected = "a non-empty list of distinct CPU numbers in 0..1023";
constexpr std::string_view kTrunkExpected = "a non-empty list of distinct VLAN ids in 1..4094";
constexpr std::string_view kCoreExpected = "a CPU number in 0..1023";
constexpr std::string_view kMacsExpected =
    "a list of unicast MAC addresses like \"52:54:00:00:00:01\"";
constexpr std::string_view kMacExpected = "a unicast MAC address like \"52:54:00:00:00:01\"";

constexpr std::array<std::string_view, 2> kPortTypes = {"vhost-user", "ethdev"};
constexpr std::array<std::string_view, 2> kVhostModes = {"server", "client"};
constexpr std::array<std::string_view, 2> kIdleModes = {"adaptive", "poll"};
constexpr std::array<std::string_view, 7> kLogLevels = {"trace", "debug",    "info", "warn",
                                                        "error", "critical", "off"};

// ---------------------------------------------------------------------------
// [[port]] keys (and the port.add params). Each setter checks one key's value.

using PortSetter = Status (*)(const Checker&, const Member&, PortConfig&);

enum class Only { any, vhost_user, ethdev };  // the port type a key belongs to

Status set_port_name(const Checker& c, const Member& m, PortConfig& p) {
  auto s = c.string(m.value, "'name'", kNameExpected);
  if (!s) return std::move(s).error();
  if (!valid_port_name(*s)) {
    const std::string length =
        s->size() > 31 ? " (" + std::to_string(s->size()) + " characters)" : "";
    return c.fail(m.value.where, "'name' is " + quote(*s) + length, kNameExpected);
  }
  p.name = std::move(*s);
  return {};
}

Status set_port_type(const Checker& c, const Member& m, PortConfig& p) {
  auto i = c.choice(m.value, "'type'", kPortTypes);
  if (!i) return std::move(i).error();
  p.type = *i == 0 ? PortType::vhost_user : PortType::ethdev;
  return {};
}

Status set_path(const Checker& c, const Member& m, PortConfig& p) {
  auto s = socket_path(c, m);
  if (!s) return std::move(s).error();
  p.path = std::move(*s);
  return {};
}

Status set_mode(const Checker& c, const Member& m, PortConfig& p) {
  auto i = c.choice(m.value, "'mode'", kVhostModes);
  if (!i) return std::move(i).error();
  p.mode = *i == 0 ? VhostMode::server : VhostMode::client;
  return {};
}

Status set_devargs(const Checker& c, const Member& m, PortConfig& p) {
  auto s = c.string(m.value, "'devargs'", kDevargsExpected);
  if (!s) return std::move(s).error();
  if (s->empty()) return c.fail(m.value.where, "'devargs' is empty", kDevargsExpected);
  p.devargs = std::move(*s);
  return {};
}

Status set_queues(const Checker& c, const Member& m, PortConfig& p) {
  auto n = c.integer(m.value, "'queues'", 1, 8, "an integer in 1..8 (queue pairs)");
  if (!n) return std::move(n).error();
  p.queues = static_cast<uint16_t>(*n);
  return {};
}

Status set_vlan(const Checker& c, const Member& m, PortConfig& p) {
  auto id = vlan_id(c, m.value, "'vlan'");
  if (!id) return std::move(id).error();
  p.vlan = *id;
  return {};
}

Status set_trunk(const Checker& c, const Member& m, PortConfig& p) {
  auto items = c.array(m.value, "'trunk'", kTrunkExpected);
  if (!items) return std::move(items).error();
  if ((*items)->empty())
    return c.fail(m.value.where, "'trunk' is empty (omit it to carry every VLAN)", kTrunkExpected);
  std::vector<uint16_t> ids;
  for (const Node& e : **items) {
    auto id = vlan_id(c, e, "a 'trunk' element");
    if (!id) return std::move(id).error();
    if (std::find(ids.begin(), ids.end(), *id) != ids.end())
      return c.fail(e.where, "'trunk' lists VLAN " + std::to_string(*id) + " twice",
                    kTrunkExpected);
    ids.push_back(*id);
  }
  std::sort(ids.begin(), ids.end());
  p.trunk = std::move(ids);
  return {};
}

Status set_allowed_macs(const Checker& c, const Member& m, PortConfig& p) {
  auto items = c.array(m.value, "'allowed_macs'", kMacsExpected);
  if (!items) return std::move(items).error();
  std::vector<MacAddress> macs;
  for (const Node& e : **items) {
    auto s = c.string(e, "an 'allowed_macs' element", kMacExpected);
    if (!s) return std::move(s).error();
    const auto mac = MacAddress::parse(*s);
    if (!mac)
      return c.fail(e.where, "'allowed_macs' element " + quote(*s) + " is not a MAC address",
                    kMacExpected);
    // A frame's source address is never multicast, so such an entry could never match.
    if (mac->is_multicast())
      return c.fail(e.where, "'allowed_macs' element " + quote(*s) + " is a multicast address",
                    kMacExpected);
    macs.push_back(*mac);
  }
  p.allowed_macs = std::move(macs);
  return {};
}

struct PortKey {
  std::string_view name;
  Only only;
  PortSetter set;
};

constexpr PortKey kPortKeys[] = {
    {"name", Only::any, set_port_name},
    {"type", Only::any, set_port_type},
    {"path", Only::vhost_user, set_path},
    {"mode", Only::vhost_user, set_mode},
    {"devargs", Only::ethdev, set_devargs},
    {"queues", Only::any, set_queues},
    {"vlan", Only::any, set_vlan},
    {"trunk", Only::any, set_trunk},
    {"allowed_macs", Only::any, set_allowed_macs},
};

const PortKey* find_port_key(std::string_view name) noexcept {
  for (const PortKey& k : kPortKeys)
    if (k.name == name) return &k;
  return nullptr;
}

// "name, type, path, ..." for the keys a port of type `only` accepts (any: all keys).
std::string port_key_list(Only only) {
  std::string out;
  for (const PortKey& k : kPortKeys) {
    if (only != Only::any && k.only != Only::any && k.only != only) continue;
    if (!out.empty()) out += ", ";
    out += k.name;
  }
  return out;
}

// A vhost-user port with neither 'path' nor a socket_dir to take one from.
Error no_path(const Checker& c, Where where, const std::string& port) {
  return c.fail(where, "vhost-user port '" + port + "' has no 'path' key",
                "a 'path' key: " + std::string(kSocketPathExpected) + " (or a [switch] 'socket_dir')");
}

// The socket of a vhost-user port that has no 'path': DIR/NAME.sock.
Result<std::string> socket_in_dir(const Checker& c, Where where, const std::string& dir, const std::string& port) {
  std::string path = dir + "/" + port + ".sock";
  if (path.size() >= kSunPathMax)
    return c.fail(where, "vhost-user port '" + port + "' would get the socket " + quote(path) + ", " +
                             std::to_string(path.size()) + " bytes long",
                  "a 'path' key (" + std::string(kSocketPathExpected) + "), a shorter name or a shorter 'socket_dir'");
  return path;
}

// Checks one port table/object. Null values (JSON) count as absent, so a port
// object printed by port_config_to_json reads back unchanged. A vhost-user
// port without 'path' is an error unless `path_later` (the file's socket_dir,
// applied once the whole file is read, may give it one).
Result<PortConfig> check_port(const Checker& c, const Node& table, bool path_later) {
  for (const Member& m : table.members)
    if (find_port_key(m.key) == nullptr)
      return c.fail(m.where, "unknown port key " + key_subject(m.key),
                    "one of " + port_key_list(Only::any));

  auto present = [&](std::string_view key) -> const Member* {
    const Member* m = table.find(key);
    return m != nullptr && m->value.kind != Kind::null ? m : nullptr;
  };

  PortConfig port;
  const Member* name = present("name");
  if (name == nullptr)
    return c.fail(table.where, "port has no 'name' key",
                  "a 'name' key: " + std::string(kNameExpected));
  if (auto st = set_port_name(c, *name, port); !st) return std::move(st).error();
  const Member* type = present("type");
  if (type == nullptr)
    return c.fail(table.where, "port '" + port.name + "' has no 'type' key",
                  "a 'type' key: \"vhost-user\" or \"ethdev\"");
  if (auto st = set_port_type(c, *type, port); !st) return std::move(st).error();

  const Only own = port.type == PortType::vhost_user ? Only::vhost_user : Only::ethdev;
  const char* own_name = to_string(port.type);
  const Member* vlan = nullptr;
  const Member* trunk = nullptr;
  for (const Member& m : table.members) {
    if (m.value.kind == Kind::null || &m == name || &m == type) continue;
    const PortKey& key = *find_port_key(m.key);
    if (key.only != Only::any && key.only != own)
      return c.fail(m.where,
                    key_subject(m.key) + " is " +
                        (key.only == Only::ethdev ? "an ethdev" : "a vhost-user") +
                        " key but port '" + port.name + "' has type \"" + own_name + "\"",
                    std::string("only ") + own_name + " keys: " + port_key_list(own));
    if (auto st = key.set(c, m, port); !st) return std::move(st).error();
    if (m.key == "vlan") vlan = &m;
    if (m.key == "trunk") trunk = &m;
  }

  if (vlan != nullptr && trunk != nullptr) {
    const Member* later = before(vlan->where, trunk->where) ? trunk : vlan;
    return c.fail(later->where, "port '" + port.name + "' sets both 'vlan' and 'trunk'",
                  "either an access 'vlan' or a 'trunk' list, not both");
  }
  if (port.type == PortType::vhost_user && present("path") == nullptr && !path_later)
    return no_path(c, table.where, port.name);
  if (port.type == PortType::ethdev && present("devargs") == nullptr)
    return c.fail(table.where, "ethdev port '" + port.name + "' has no 'devargs' key",
                  "a 'devargs' key: " + std::string(kDevargsExpected));
  return port;
}

// ---------------------------------------------------------------------------
// [switch] keys.

using SwitchSetter = Status (*)(const Checker&, const Member&, SwitchConfig&);

Status set_cores(const Checker& c, const Member& m, SwitchConfig& s) {
  auto items = c.array(m.value, "'cores'", kCoresExpected);
  if (!items) return std::move(items).error();
  if ((*items)->empty())
    return c.fail(m.value.where, "'cores' is empty (omit it for the default)", kCoresExpected);
  std::vector<unsigned> cores;
  for (const Node& e : **items) {
    auto cpu = c.integer(e, "a 'cores' element", 0, 1023, kCoreExpected);
    if (!cpu) return std::move(cpu).error();
    const auto u = static_cast<unsigned>(*cpu);
    if (std::find(cores.begin(), cores.end(), u) != cores.end())
      return c.fail(e.where, "'cores' lists CPU " + std::to_string(u) + " twice", kCoresExpected);
    cores.push_back(u);
  }
  s.cores = std::move(cores);  // in the given order
  return {};
}

Status set_idle(const Checker& c, const Member& m, SwitchConfig& s) {
  auto i = c.choice(m.value, "'idle'", kIdleModes);
  if (!i) return std::move(i).error();
  s.idle = *i == 0 ? IdleMode::adaptive : IdleMode::poll;
  return {};
}

Status set_socket(const Checker& c, const Member& m, SwitchConfig& s) {
  auto path = socket_path(c, m);
  if (!path) return std::move(path).error();
  s.socket = std::move(*path);
  return {};
}

Status set_socket_dir(const Checker& c, const Member& m, SwitchConfig& s) {
  auto dir = socket_path(c, m);  // an absolute path; the sockets in it are checked for length
  if (!dir) return std::move(dir).error();
  while (dir->size() > 1 && dir->back() == '/') dir->pop_back();
  s.socket_dir = std::move(*dir);
  return {};
}

Status set_log_level(const Checker& c, const Member& m, SwitchConfig& s) {
  auto i = c.choice(m.value, "'log_level'", kLogLevels);
  if (!i) return std::move(i).error();
  s.log_level = std::string(kLogLevels[*i]);
  return {};
}

Status set_mac_aging(const Checker& c, const Member& m, SwitchConfig& s) {
  auto n = c.integer(m.value, "'mac_aging_s'", 10, 86400, "an integer in 10..86400 (seconds)");
  if (!n) return std::move(n).error();
  s.mac_aging_s = static_cast<uint32_t>(*n);
  return {};
}

Status set_memory(const Checker& c, const Member& m, SwitchConfig& s) {
  auto n = c.integer(m.value, "'memory_mb'", 64, 65536, "an integer in 64..65536 (MiB)");
  if (!n) return std::move(n).error();
  s.memory_mb = static_cast<uint32_t>(*n);
  return {};
}

Status set_eal_args(const Checker& c, const Member& m, SwitchConfig& s) {
  auto items = c.array(m.value, "'eal_args'", "a list of strings (DPDK EAL arguments)");
  if (!items) return std::move(items).error();
  std::vector<std::string> args;
  for (const Node& e : **items) {
    auto a = c.string(e, "an 'eal_args' element", "a string (one EAL argument, passed verbatim)");
    if (!a) return std::move(a).error();
    args.push_back(std::move(*a));
  }
  s.eal_args = std::move(args);
  return {};
}

Status set_metrics(const Checker& c, const Member& m, SwitchConfig& s) {
  constexpr std::string_view kExpected = "\"127.0.0.1:PORT\", \"[::1]:PORT\" or \"localhost:PORT\" (loopback only)";
  auto a = c.string(m.value, "'metrics'", kExpected);
  if (!a) return std::move(a).error();
  if (auto st = control::MetricsHttpServer::check_address(*a); !st)
    return c.fail(m.value.where, "'metrics' is " + quote(*a), kExpected);
  s.metrics = std::move(*a);
  return {};
}

struct SwitchKey {
  std::string_view name;
  SwitchSetter set;
};

constexpr SwitchKey kSwitchKeys[] = {
    {"cores", set_cores},           {"idle", set_idle},
    {"socket", set_socket},         {"log_level", set_log_level},
    {"mac_aging_s", set_mac_aging}, {"memory_mb", set_memory},
    {"eal_args", set_eal_args},     {"metrics", set_metrics},
    {"socket_dir", set_socket_dir},
};

Status check_switch_table(const Checker& c, const Node& table, SwitchConfig& cfg) {
  for (const Member& m : table.members) {
    const auto* key = std::find_if(std::begin(kSwitchKeys), std::end(kSwitchKeys),
                                   [&](const SwitchKey& k) { return k.name == m.key; });
    if (key == std::end(kSwitchKeys)) {
      std::string all;
      for (const SwitchKey& k : kSwitchKeys) all += (all.empty() ? "" : ", ") + std::string(k.name);
      return c.fail(m.where, "unknown [switch] key " + key_subject(m.key), "one of " + all);
    }
    if (auto st = key->set(c, m, cfg); !st) return st;
  }
  return {};
}

Status check_ports(const Checker& c, const Member& member, SwitchConfig& cfg) {
  constexpr std::string_view kExpected = "an array of tables ([[port]] sections)";
  auto items = c.array(member.value, "'port'", kExpected);
  if (!items) return std::move(items).error();
  for (const Node& table : **items) {
    if (table.kind != Kind::table) return c.wrong_kind(table, "a 'port' element", kExpected);
    auto port = check_port(c, table, /*path_later=*/true);
    if (!port) return std::move(port).error();
    for (size_t i = 0; i < cfg.ports.size() && !port->path.empty(); ++i) {
      const PortConfig& other = cfg.ports[i];
      const Node& first = (**items)[i];
      if (other.name == port->name)
        return c.fail(table.find("name")->value.where,
                      "port name '" + port->name + "' is already used by the port at line " +
                          std::to_string(first.where.line),
                      "a unique port name");
      if (port->type == PortType::vhost_user && other.type == PortType::vhost_user &&
          other.path == port->path)
        return c.fail(table.find("path")->value.where,
                      "vhost-user path " + quote(port->path) + " is already used by port '" +
                          other.name + "'",
                      "a different socket path for each vhost-user port");
    }
    cfg.ports.push_back(std::move(*port));
  }
  return {};
}

// ---------------------------------------------------------------------------
// [[rule]] tables: priority, match, actions (the rule text syntax of flow_rule.hpp).

// Where byte `offset` of a string value is: after the opening quote (exact for
// strings without escapes, which rule texts never need).
Where inside(const Node& v, size_t offset) {
  return {v.where.line, v.where.column + 1 + static_cast<uint32_t>(offset)};
}

Status check_rule(const Checker& c, const Node& table, RuleConfig& rule, std::vector<std::string>& names) {
  const Node* match = nullptr;
  const Node* actions = nullptr;
  for (const Member& m : table.members) {
    if (m.key == "priority") {
      auto n = c.integer(m.value, "'priority'", 0, kMaxPriority, "an integer in 0..65535 (higher first)");
      if (!n) return std::move(n).error();
      rule.priority = static_cast<uint32_t>(*n);
    } else if (m.key == "match" || m.key == "actions") {
      auto s = c.string(m.value, key_subject(m.key), m.key == "match" ? "a match such as \"in_port=vm1,udp\""
                                                                     : "actions such as \"output:vm2\"");
      if (!s) return std::move(s).error();
      (m.key == "match" ? rule.match : rule.actions) = *s;
      (m.key == "match" ? match : actions) = &m.value;
    } else {
      return c.fail(m.where, "unknown rule key " + key_subject(m.key), "one of priority, match, actions");
    }
  }
  if (actions == nullptr)
    return c.fail(table.where, "rule has no 'actions' key", "an 'actions' key such as \"output:vm2\"");
  RuleSpec spec;
  if (match != nullptr) {
    auto parsed = parse_rule_match(rule.match);
    if (!parsed) return c.fail(inside(*match, parsed.error.offset), "'match': " + parsed.error.message);
    spec.match = std::move(*parsed.value);
  }
  auto parsed = parse_rule_actions(rule.actions);
  if (!parsed) return c.fail(inside(*actions, parsed.error.offset), "'actions': " + parsed.error.message);
  spec.actions = std::move(*parsed.value);
  names = spec.port_names();
  return {};
}

// Rules may come before the ports in the file: their port names are checked after the document.
struct PendingRule {
  const Node* table;
  std::vector<std::string> names;
};

Status check_rules(const Checker& c, const Member& member, SwitchConfig& cfg, std::vector<PendingRule>& pending) {
  constexpr std::string_view kExpected = "an array of tables ([[rule]] sections)";
  auto items = c.array(member.value, "'rule'", kExpected);
  if (!items) return std::move(items).error();
  for (const Node& table : **items) {
    if (table.kind != Kind::table) return c.wrong_kind(table, "a 'rule' element", kExpected);
    if (cfg.rules.size() == kMaxRules)
      return c.fail(table.where, "more than " + std::to_string(kMaxRules) + " rules", "at most 1024 rules");
    RuleConfig rule;
    std::vector<std::string> names;
    if (auto st = check_rule(c, table, rule, names); !st) return st;
    cfg.rules.push_back(std::move(rule));
    pending.push_back({&table, std::move(names)});
  }
  return {};
}

Status check_rule_ports(const Checker& c, const SwitchConfig& cfg, const std::vector<PendingRule>& pending) {
  for (size_t i = 0; i < pending.size(); ++i)
    for (const std::string& name : pending[i].names) {
      const bool known = std::any_of(cfg.ports.begin(), cfg.ports.end(), [&](const PortConfig& p) { return p.name == name; });
      if (known) continue;
      const RuleConfig& r = cfg.rules[i];
      const Member* in_match = pending[i].table->find("match");
      const size_t at = r.match.find("in_port=" + name);
      Where where = pending[i].table->find("actions")->value.where;
      if (in_match != nullptr && at != std::string::npos) where = inside(in_match->value, at);
      else if (size_t o = r.actions.find(name); o != std::string::npos) where = inside(pending[i].table->find("actions")->value, o);
      std::string all;
      for (const PortConfig& p : cfg.ports) all += (all.empty() ? "" : ", ") + p.name;
      return c.fail(where, "rule names port '" + name + "', which is not a [[port]] of this file",
                    all.empty() ? std::string("a [[port]] with that name") : "one of " + all);
    }
  return {};
}

// After the whole file: vhost-user ports without 'path' get theirs from
// socket_dir (or are an error without one), the control socket too unless
// 'socket' was given; then no two vhost-user ports may share a socket.
Status apply_socket_dir(const Checker& c, const Node& root, SwitchConfig& cfg) {
  const Member* sw = root.find("switch");
  if (!cfg.socket_dir.empty() && (sw == nullptr || sw->value.find("socket") == nullptr))
    cfg.socket = cfg.socket_dir + "/switch.sock";
  const Member* ports = root.find("port");
  for (size_t i = 0; i < cfg.ports.size(); ++i) {
    PortConfig& p = cfg.ports[i];
    if (p.type != PortType::vhost_user || !p.path.empty()) continue;
    const Node& table = ports->value.items[i];
    if (cfg.socket_dir.empty()) return no_path(c, table.where, p.name);
    auto path = socket_in_dir(c, table.where, cfg.socket_dir, p.name);
    if (!path) return std::move(path).error();
    for (const PortConfig& other : cfg.ports)
      if (other.type == PortType::vhost_user && other.path == *path)
        return c.fail(table.where,
                      "vhost-user port '" + p.name + "' would get the socket " + quote(*path) +
                          " from 'socket_dir', which port '" + other.name + "' already uses",
                      "a different socket path for each vhost-user port");
    p.path = std::move(*path);
  }
  return {};
}

Result<SwitchConfig> check_document(const Checker& c, const Node& root) {
  SwitchConfig cfg;
  std::vector<PendingRule> pending;
  for (const Member& m : root.members) {
    if (m.key == "switch") {
      if (m.value.kind != Kind::table) return c.wrong_kind(m.value, "'switch'", "a [switch] table");
      if (auto st = check_switch_table(c, m.value, cfg); !st) return std::move(st).error();
    } else if (m.key == "port") {
      if (auto st = check_ports(c, m, cfg); !st) return std::move(st).error();
    } else if (m.key == "rule") {
      if (auto st = check_rules(c, m, cfg, pending); !st) return std::move(st).error();
    } else {
      return c.fail(m.where, "unknown top-level key " + key_subject(m.key),
                    "only a [switch] table, [[port]] tables and [[rule]] tables");
    }
  }
  if (auto st = check_rule_ports(c, cfg, pending); !st) return std::move(st).error();
  if (auto st = apply_socket_dir(c, root, cfg); !st) return std::move(st).error();
  return cfg;
}


}  // namespace

// ---------------------------------------------------------------------------
// Front ends.

Result<SwitchConfig> load_switch_config(const std::string& file) {
  auto text = read_text_file(file);
  if (!text) return std::move(text).error();
  return parse_switch_config(*text, file);
}

Result<SwitchConfig> parse_switch_config(std::string_view toml_text,
                                         const std::string& source_name) {
  const Checker c(source_name, false);
  toml::table doc;
  try {
    doc = toml::parse(toml_text, std::string_view(source_name));
  } catch (const toml::parse_error& e) {
    return c.fail(where_of(e.source()), e.description(), "valid TOML (https://toml.io/en/v1.0.0)");
  }
  return check_document(c, from_toml(doc));
}

Result<PortConfig> port_config_from_json(const control::Json& params, const std::string& socket_dir) {
  const Checker c({}, true);
  const Node root = from_json(params);
  if (root.kind != Kind::table)
    return c.fail({}, "the port parameters are " + c.kind_name(root.kind),
                  "an object with the keys " + port_key_list(Only::any));
  auto port = check_port(c, root, /*path_later=*/!socket_dir.empty());
  if (port && port->type == PortType::vhost_user && port->path.empty()) {
    auto path = socket_in_dir(c, root.where, socket_dir, port->name);
    if (!path) return std::move(path).error();
    port->path = std::move(*path);
  }
  return port;
}

control::Json port_config_to_json(const PortConfig& port) {
  using control::Json;
  const bool vhost = port.type == PortType::vhost_user;
  Json macs = Json::array();
  for (const MacAddress& m : port.allowed_macs) macs.push_back(m.to_string());
  return Json{
      {"name", port.name},
      {"type", to_string(port.type)},
      {"path", vhost ? Json(port.path) : Json(nullptr)},
      {"mode", vhost ? Json(to_string(port.mode)) : Json(nullptr)},
      {"devargs", vhost ? Json(nullptr) : Json(port.devargs)},
      {"queues", port.queues},
      {"vlan", port.vlan ? Json(*port.vlan) : Json(nullptr)},
      {"trunk", port.trunk ? Json(*port.trunk) : Json(nullptr)},
      {"allowed_macs", std::move(macs)},
  };
}

Status check_metrics_address(std::string_view address) {
  return control::MetricsHttpServer::check_address(address);
}

const char* to_string(PortType t) noexcept {
  return t == PortType::vhost_user ? "vhost-user" : "ethdev";
}

const char* to_string(VhostMode m) noexcept { return m == VhostMode::server ? "server" : "client"; }

const char* to_string(IdleMode m) noexcept { return m == IdleMode::adaptive ? "adaptive" : "poll"; }

}  // namespace nfv::sw
