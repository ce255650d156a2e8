// Topology loader: the [[vnf]], [[chain]] and [generator] key tables, and the
// order of the checks (docs/topology.md is the user-facing reference; keep it
// in step with the key tables here).
//
// Order: TOML syntax, unknown top-level keys, the switch's part (by the
// switch's loader), the streams (by nfv-gen's loader), [[vnf]], [[chain]],
// [generator] (each in file order), then the cross-checks.
#include "topology.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <system_error>

#include "nfv/text_file.hpp"
#include "stream_config.hpp"
#include "toml_sections.hpp"
#include "topology_checker.hpp"
#include "topology_keys.hpp"

namespace nfv::topo {

namespace {

// Checks each table of the array `member` with `check_one`.
template <typename Spec, typename Fn>
Status check_tables(const Checker& c, const Member& member, std::string_view what,
                    std::vector<Spec>& out, Fn check_one) {
  const std::string expected = "an array of tables ([[" + std::string(what) + "]] sections)";
  const auto* a = member.value->as_array();
  if (a == nullptr) return c.wrong_kind(*member.value, key_subject(what), expected);
  for (const toml::node& n : *a) {
    const auto* t = n.as_table();
    if (t == nullptr) return c.wrong_kind(n, "a " + key_subject(what) + " element", expected);
    auto spec = check_one(*t);
    if (!spec) return std::move(spec).error();
    for (const Spec& other : out)
      if (other.name == spec->name)
        return c.fail(where_of(t->get("name")->source()),
                      std::string(what) + " name '" + spec->name + "' is already used by the " +
                          std::string(what) + " at line " + std::to_string(other.at.line),
                      "a unique " + std::string(what) + " name");
    out.push_back(std::move(*spec));
  }
  return {};
}


}  // namespace

Result<Topology> parse_topology(std::string_view toml_text, const std::string& source_name,
                                const CheckEnv& env) {
  const Checker c(source_name);
  toml::table doc;
  try {
    doc = toml::parse(toml_text, std::string_view(source_name));
  } catch (const toml::parse_error& e) {
    return c.fail(where_of(e.source()), e.description(), "valid TOML (https://toml.io/en/v1.0.0)");
  }
  const std::vector<Member> top = members_in_order(doc);
  static constexpr std::string_view kTop[] = {"switch", "port",      "rule",  "vnf",
                                              "chain",  "generator", "stream"};
  for (const Member& m : top)
    if (std::find(std::begin(kTop), std::end(kTop), m.key) == std::end(kTop))
      return c.fail(m.at, "unknown top-level key " + key_subject(m.key),
                    "only [switch], [[port]], [[rule]], [[vnf]], [[chain]], [generator] and [[stream]]");

  Topology t;
  t.file = source_name;
  t.switch_toml = keep_top_level(toml_text, doc, {"switch", "port", "rule"});
  auto sw = sw::parse_switch_config(t.switch_toml, source_name);
  if (!sw) return std::move(sw).error();
  t.sw = std::move(*sw);
  if (const auto* ports = doc.get_as<toml::array>("port"))
    for (const toml::node& p : *ports) t.port_at.push_back(where_of(p.source()));
  if (const auto* s = doc.get_as<toml::table>("switch")) {
    auto at = [&](const char* key) {
      const toml::node* v = s->get(key);
      return where_of((v != nullptr ? v : static_cast<const toml::node*>(s))->source());
    };
    t.switch_idle_at = at("idle");
    t.switch_cores_at = at("cores");
  }

  if (doc.contains("stream")) {
    t.streams_toml = keep_top_level(toml_text, doc, {"stream"});
    auto streams = nfvgen::parse_stream_config(t.streams_toml, source_name);
    if (!streams) return std::move(streams).error();
    t.streams = std::move(*streams);
  }

  for (const Member& m : top) {
    Status st;
    if (m.key == "vnf") {
      st = check_tables(c, m, "vnf", t.vnfs,
                        [&](const toml::table& table) { return check_vnf(c, table, env); });
    } else if (m.key == "chain") {
      st = check_tables(c, m, "chain", t.chains,
                        [&](const toml::table& table) { return check_chain(c, table); });
    } else if (m.key == "generator") {
      const auto* table = m.value->as_table();
      if (table == nullptr) return c.wrong_kind(*m.value, "'generator'", "a [generator] table");
      auto g = check_generator(c, *table);
      if (!g) return std::move(g).error();
      t.generator = std::move(*g);
    }
    if (!st) return std::move(st).error();
  }
  if (!t.streams.empty() && !t.generator) {
    const toml::node& first = *doc.get_as<toml::array>("stream")->get(0);
    return c.fail(where_of(first.source()), "[[stream]] tables without a [generator]",
                  "a [generator] table naming the port the streams are sent on");
  }
  if (auto st = cross_check(c, t, env, t.port_at); !st) return std::move(st).error();
  return t;
}

Result<Topology> load_topology(const std::string& file, const CheckEnv& env) {
  auto text = read_text_file(file);
  if (!text) return std::move(text).error();
  return parse_topology(*text, file, env);
}

CheckEnv host_env() {
  CheckEnv env;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (unsigned cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &set)) env.cpus.push_back(cpu);
  if (const char* b = std::getenv("NFV_BUILD_DIR"); b != nullptr && *b != '\0') {
    env.build_dir = b;
    return env;
  }
  char exe[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    std::string path(exe, static_cast<size_t>(n));
    const std::string suffix = "/tools/nfv/nfv";
    if (path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
      env.build_dir = path.substr(0, path.size() - suffix.size());
      return env;
    }
  }
  char cwd[PATH_MAX];
  env.build_dir = ::getcwd(cwd, sizeof cwd) != nullptr ? cwd : ".";
  return env;
}

std::string resolve_path(const std::string& value, const std::string& build_dir, bool search_path) {
  if (value.empty()) return {};
  if (value.front() == '/') return value;
  if (value.find('/') != std::string::npos || !search_path) return build_dir + "/" + value;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    const size_t colon = std::min(dirs.find(':'), dirs.size());
    std::string candidate = std::string(dirs.substr(0, colon)) + "/" + value;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    dirs.remove_prefix(std::min(colon + 1, dirs.size()));
  }
  return {};
}

const char* to_string(VnfKind k) noexcept { return k == VnfKind::process ? "process" : "vm"; }

const char* to_string(Restart r) noexcept {
  switch (r) {
    case Restart::on_failure: return "on-failure";
    case Restart::always: return "always";
    case Restart::never: return "never";
  }
  return "?";
}

}  // namespace nfv::topo
