// Error messages and typed reads for the topology's own keys, in the words of
// the switch's configuration checker (dataplane/src/config.cpp):
// "FILE:LINE:COLUMN: <what is wrong>; expected <what is accepted>".
#pragma once

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nfv/result.hpp"
#include "topology.hpp"

namespace nfv::topo {

inline Where where_of(const toml::source_region& r) noexcept { return {r.begin.line, r.begin.column}; }

inline bool before(Where a, Where b) noexcept {
  return a.line != b.line ? a.line < b.line : a.column < b.column;
}

// A table's members in file order (toml::table is ordered by key).
struct Member {
  std::string_view key;
  Where at;  // of the key
  const toml::node* value;
};

std::vector<Member> members_in_order(const toml::table& t);

std::string quote(std::string_view s, char q = '"');
inline std::string key_subject(std::string_view key) { return quote(key, '\''); }

class Checker {
 public:
  explicit Checker(std::string source) : source_(std::move(source)) {}

  Error fail(Where at, std::string_view what, std::string_view expected) const;
  Error wrong_kind(const toml::node& v, std::string_view subject, std::string_view expected) const;

  Result<std::string> string(const toml::node& v, std::string_view subject,
                             std::string_view expected) const;
  Result<int64_t> integer(const toml::node& v, std::string_view subject, int64_t lo, int64_t hi,
                          std::string_view expected) const;
  Result<bool> boolean(const toml::node& v, std::string_view subject) const;
  // A list of strings, each accepted by `ok` (described by `expected`).
  Result<std::vector<std::string>> strings(const toml::node& v, std::string_view subject,
                                           std::string_view expected, bool allow_empty,
                                           bool (*ok)(std::string_view)) const;
  // A non-empty list of distinct CPU numbers 0..1023, in the given order.
  Result<std::vector<unsigned>> cores(const toml::node& v, std::string_view subject) const;

  template <size_t N>
  Result<size_t> choice(const toml::node& v, std::string_view subject,
                        const std::array<std::string_view, N>& choices) const {
    std::string expected;
    for (size_t i = 0; i < N; ++i) {
      if (i != 0) expected += i + 1 == N ? " or " : ", ";
      expected += quote(choices[i]);
    }
    const auto* s = v.as_string();
    if (s == nullptr) return wrong_kind(v, subject, expected);
    for (size_t i = 0; i < N; ++i)
      if (s->get() == choices[i]) return i;
    return fail(where_of(v.source()), std::string(subject) + " is " + quote(s->get()), expected);
  }

  const std::string& source() const noexcept { return source_; }

 private:
  std::string source_;
};

// Names of VNFs and chains follow the switch's port-name rule.
bool valid_name(std::string_view s) noexcept;
constexpr std::string_view kNameExpected = "1..31 characters from A-Z a-z 0-9 _ . -";

// Cross-checks between sections (topology_checks.cpp): ports named by VNFs,
// chains and the generator exist and are vhost-user, each socket has one
// peer, chains are realisable, CPUs exist and busy pollers fit.
Status cross_check(const Checker& c, const Topology& t, const CheckEnv& env,
                   const std::vector<Where>& port_at);

}  // namespace nfv::topo
