// [[vnf]] keys (topology_keys.hpp, docs/topology.md); [[chain]] and [generator]
// are in chain_generator_keys.cpp.
#include "topology_keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

namespace nfv::topo {

namespace {

bool name_ok(std::string_view s) { return valid_name(s); }

constexpr std::string_view kPortsExpected =
    "a non-empty list of distinct switch port names (the [[port]] 'name's)";
constexpr std::string_view kArgsExpected = "a list of strings (arguments, passed verbatim)";
constexpr std::string_view kMacExpected = "a unicast MAC address like \"52:54:00:00:00:01\"";

// ---------------------------------------------------------------------------
// [[vnf]]

enum class Only { any, process, vm };

struct VnfCtx {
  const Checker& c;
  const CheckEnv& env;
  VnfSpec& v;
};

using VnfSetter = Status (*)(VnfCtx&, const Member&);

Status vnf_ports(VnfCtx& x, const Member& m) {
  auto ports = x.c.strings(*m.value, "'ports'", kPortsExpected, false, name_ok);
  if (!ports) return std::move(ports).error();
  const auto& items = *m.value->as_array();
  for (size_t i = 0; i < ports->size(); ++i) {
    const Where at = where_of(items[i].source());
    for (size_t j = 0; j < i; ++j)
      if ((*ports)[j] == (*ports)[i])
        return x.c.fail(at, "'ports' lists port '" + (*ports)[i] + "' twice", kPortsExpected);
    x.v.ports_at.push_back(at);
  }
  x.v.ports = std::move(*ports);
  return {};
}

Status vnf_cores(VnfCtx& x, const Member& m) {
  auto cores = x.c.cores(*m.value, "'cores'");
  if (!cores) return std::move(cores).error();
  x.v.cores = std::move(*cores);
  x.v.cores_at = where_of(m.value->source());
  return {};
}

Status vnf_restart(VnfCtx& x, const Member& m) {
  static constexpr std::array<std::string_view, 3> kChoices = {"on-failure", "always", "never"};
  auto i = x.c.choice(*m.value, "'restart'", kChoices);
  if (!i) return std::move(i).error();
  x.v.restart = *i == 0 ? Restart::on_failure : *i == 1 ? Restart::always : Restart::never;
  return {};
}

Status vnf_idle(VnfCtx& x, const Member& m) {
  static constexpr std::array<std::string_view, 2> kChoices = {"adaptive", "poll"};
  auto i = x.c.choice(*m.value, "'idle'", kChoices);
  if (!i) return std::move(i).error();
  x.v.idle = *i == 0 ? sw::IdleMode::adaptive : sw::IdleMode::poll;
  x.v.idle_at = where_of(m.value->source());
  return {};
}

// A file named by 'binary' or 'kernel', resolved and checked now so that
// nothing starts when one is missing.
Result<std::string> existing_file(VnfCtx& x, const Member& m, bool executable) {
  const std::string subject = key_subject(m.key);
  const std::string expected =
      std::string(executable ? "an executable file" : "a readable ELF file") +
      ": an absolute path, a path relative to the build directory " + quote(x.env.build_dir) +
      (executable ? " or a command in $PATH" : "");
  auto s = x.c.string(*m.value, subject, expected);
  if (!s) return s;
  const Where at = where_of(m.value->source());
  if (s->empty()) return x.c.fail(at, subject + " is empty", expected);
  const std::string path = resolve_path(*s, x.env.build_dir, executable);
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0)
    return x.c.fail(at,
                    subject + " is " + quote(*s) + ": " +
                        (path.empty() ? std::string("not found in $PATH")
                                      : quote(path) + " does not exist"),
                    expected);
  if (!S_ISREG(st.st_mode) || ::access(path.c_str(), executable ? X_OK : R_OK) != 0)
    return x.c.fail(at, subject + " is " + quote(*s) + ": " + quote(path) + " is not " +
                            (executable ? "an executable" : "a readable") + " file",
                    expected);
  if (!executable) {
    char magic[4] = {};
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    const bool elf = fd >= 0 && ::read(fd, magic, 4) == 4 && std::memcmp(magic, "\x7f" "ELF", 4) == 0;
    if (fd >= 0) ::close(fd);
    if (!elf)
      return x.c.fail(at, subject + " is " + quote(*s) + ": " + quote(path) + " is not an ELF file",
                      expected);
  }
  return path;
}

Status vnf_binary(VnfCtx& x, const Member& m) {
  auto p = existing_file(x, m, true);
  if (!p) return std::move(p).error();
  x.v.binary = std::move(*p);
  return {};
}

Status vnf_args(VnfCtx& x, const Member& m) {
  auto a = x.c.strings(*m.value, "'args'", kArgsExpected, true, nullptr);
  if (!a) return std::move(a).error();
  x.v.args = std::move(*a);
  return {};
}

Status vnf_sdk(VnfCtx& x, const Member& m) {
  auto b = x.c.boolean(*m.value, "'sdk'");
  if (!b) return std::move(b).error();
  x.v.sdk = *b;
  return {};
}

Status vnf_port_options(VnfCtx& x, const Member& m) {
  constexpr std::string_view kExpected =
      "the SDK's port options, comma-separated without spaces, e.g. \"queue-size=1024\"";
  auto s = x.c.string(*m.value, "'port_options'", kExpected);
  if (!s) return std::move(s).error();
  if (s->empty() || s->find_first_of(" \t") != std::string::npos || s->front() == ',')
    return x.c.fail(where_of(m.value->source()), "'port_options' is " + quote(*s), kExpected);
  x.v.port_options = std::move(*s);
  return {};
}

Status vnf_kernel(VnfCtx& x, const Member& m) {
  auto p = existing_file(x, m, false);
  if (!p) return std::move(p).error();
  x.v.kernel = std::move(*p);
  return {};
}

// nfv-vmm's own limits (vmm/src/main.cpp): guest RAM 16M..3G, one vCPU.
constexpr uint64_t kVmMemoryMinMiB = 16, kVmMemoryMaxMiB = 3 * 1024;
constexpr unsigned kVmMaxCpus = 8;  // nfv-vmm's --cpus range
constexpr size_t kVmCmdlineMax = 4095;  // the boot layout's command-line page, without the NUL

Status vnf_memory(VnfCtx& x, const Member& m) {
  constexpr std::string_view kExpected = "a size like \"256M\" or \"1G\": N followed by M or G, 16M..3G (nfv-vmm's range)";
  auto s = x.c.string(*m.value, "'memory'", kExpected);
  if (!s) return std::move(s).error();
  uint64_t n = 0;
  const char* end = s->data() + s->size();
  const auto [p, ec] = std::from_chars(s->data(), end, n);
  const bool shape = ec == std::errc() && p != s->data() && p + 1 == end && (*p == 'M' || *p == 'G');
  const uint64_t mib = shape && n <= (1u << 20) ? (*p == 'G' ? n * 1024 : n) : 0;
  if (!shape)
    return x.c.fail(where_of(m.value->source()), "'memory' is " + quote(*s), kExpected);
  if (mib < kVmMemoryMinMiB || mib > kVmMemoryMaxMiB)
    return x.c.fail(where_of(m.value->source()), "'memory' is " + quote(*s) + ", outside 16M..3G", kExpected);
  x.v.memory = *s;
  return {};
}

Status vnf_cpus(VnfCtx& x, const Member& m) {
  constexpr std::string_view kExpected = "an integer in 1..8 (vCPUs; one worker and one queue pair of each port per vCPU)";
  auto n = x.c.integer(*m.value, "'cpus'", 1, kVmMaxCpus, kExpected);
  if (!n) return std::move(n).error();
  x.v.cpus = static_cast<unsigned>(*n);
  return {};
}

Status vnf_cmdline(VnfCtx& x, const Member& m) {
  constexpr std::string_view kExpected =
      "the guest's command line: printable ASCII, at most 4095 bytes, e.g. \"mode=forward queue-size=1024\"";
  auto s = x.c.string(*m.value, "'cmdline'", kExpected);
  if (!s) return std::move(s).error();
  const Where at = where_of(m.value->source());
  if (s->size() > kVmCmdlineMax)
    return x.c.fail(at, "'cmdline' is " + std::to_string(s->size()) + " bytes long", kExpected);
  for (char ch : *s)
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e)
      return x.c.fail(at, "'cmdline' is " + quote(*s) + ", which has a control or non-ASCII character", kExpected);
  x.v.cmdline = std::move(*s);
  return {};
}

Status vnf_macs(VnfCtx& x, const Member& m) {
  auto list = x.c.strings(*m.value, "'macs'", kMacExpected, false, [](std::string_view s) {
    const auto mac = MacAddress::parse(s);
    return mac.has_value() && !mac->is_multicast();
  });
  if (!list) return std::move(list).error();
  for (const std::string& s : *list) x.v.macs.push_back(*MacAddress::parse(s));
  return {};
}

Status vnf_console(VnfCtx& x, const Member& m) {
  auto s = x.c.string(*m.value, "'console'", "a file path for the guest's serial output");
  if (!s) return std::move(s).error();
  if (s->empty())
    return x.c.fail(where_of(m.value->source()), "'console' is empty",
                    "a file path for the guest's serial output");
  x.v.console = std::move(*s);
  return {};
}

struct VnfKey {
  std::string_view name;
  Only only;
  VnfSetter set;
};

constexpr VnfKey kVnfKeys[] = {
    {"name", Only::any, nullptr},         {"kind", Only::any, nullptr},
    {"ports", Only::any, vnf_ports},      {"cores", Only::any, vnf_cores},
    {"restart", Only::any, vnf_restart},  {"idle", Only::any, vnf_idle},
    {"binary", Only::process, vnf_binary}, {"args", Only::process, vnf_args},
    {"sdk", Only::process, vnf_sdk},      {"port_options", Only::process, vnf_port_options},
    {"kernel", Only::vm, vnf_kernel},
    {"memory", Only::vm, vnf_memory},     {"cpus", Only::vm, vnf_cpus},
    {"macs", Only::vm, vnf_macs},         {"console", Only::vm, vnf_console},
    {"cmdline", Only::vm, vnf_cmdline},
};

std::string vnf_key_list(Only only) {
  std::string out;
  for (const VnfKey& k : kVnfKeys) {
    if (only != Only::any && k.only != Only::any && k.only != only) continue;
    out += (out.empty() ? "" : ", ") + std::string(k.name);
  }
  return out;
}

}  // namespace

Result<VnfSpec> check_vnf(const Checker& c, const toml::table& table, const CheckEnv& env) {
  const std::vector<Member> members = members_in_order(table);
  auto find_key = [](std::string_view k) -> const VnfKey* {
    for (const VnfKey& key : kVnfKeys)
      if (key.name == k) return &key;
    return nullptr;
  };
  for (const Member& m : members)
    if (find_key(m.key) == nullptr)
      return c.fail(m.at, "unknown vnf key " + key_subject(m.key), "one of " + vnf_key_list(Only::any));

  VnfSpec v;
  v.at = where_of(table.source());
  const toml::node* name = table.get("name");
  if (name == nullptr)
    return c.fail(v.at, "vnf has no 'name' key", "a 'name' key: " + std::string(kNameExpected));
  auto n = c.string(*name, "'name'", kNameExpected);
  if (!n) return std::move(n).error();
  if (!valid_name(*n)) return c.fail(where_of(name->source()), "'name' is " + quote(*n), kNameExpected);
  v.name = std::move(*n);
  const toml::node* kind = table.get("kind");
  if (kind == nullptr)
    return c.fail(v.at, "vnf '" + v.name + "' has no 'kind' key",
                  "a 'kind' key: \"process\" or \"vm\"");
  static constexpr std::array<std::string_view, 2> kKinds = {"process", "vm"};
  auto k = c.choice(*kind, "'kind'", kKinds);
  if (!k) return std::move(k).error();
  v.kind = *k == 0 ? VnfKind::process : VnfKind::vm;
  const Only own = v.kind == VnfKind::process ? Only::process : Only::vm;

  VnfCtx x{c, env, v};
  for (const Member& m : members) {
    const VnfKey& key = *find_key(m.key);
    if (key.set == nullptr) continue;  // name, kind: done
    if (key.only != Only::any && key.only != own)
      return c.fail(m.at,
                    key_subject(m.key) + " is a " + (key.only == Only::vm ? "vm" : "process") +
                        " key but vnf '" + v.name + "' has kind \"" + to_string(v.kind) + "\"",
                    std::string("only ") + to_string(v.kind) + " keys: " + vnf_key_list(own));
    if (auto st = key.set(x, m); !st) return std::move(st).error();
  }
  if (v.ports.empty())
    return c.fail(v.at, "vnf '" + v.name + "' has no 'ports' key", "a 'ports' key: " + std::string(kPortsExpected));
  if (v.kind == VnfKind::process && v.binary.empty())
    return c.fail(v.at, "process vnf '" + v.name + "' has no 'binary' key",
                  "a 'binary' key: the VNF program (e.g. \"sample-vnfs/l2fwd/nfv-l2fwd\")");
  if (v.kind == VnfKind::vm && v.kernel.empty())
    return c.fail(v.at, "vm vnf '" + v.name + "' has no 'kernel' key",
                  "a 'kernel' key: the guest ELF the VMM boots");
  if (v.kind == VnfKind::vm && !v.macs.empty() && v.macs.size() != v.ports.size())
    return c.fail(where_of(table.get("macs")->source()),
                  "'macs' has " + std::to_string(v.macs.size()) + " addresses for " +
                      std::to_string(v.ports.size()) + " ports",
                  "one MAC address per port (or no 'macs' key for 52:54:00:... defaults)");
  return v;
}

}  // namespace nfv::topo
