// Typed reads and error messages for the topology's keys (topology_checker.hpp).
#include "topology_checker.hpp"

namespace nfv::topo {

std::vector<Member> members_in_order(const toml::table& t) {
  std::vector<Member> out;
  for (auto&& [key, value] : t) out.push_back(Member{key.str(), where_of(key.source()), &value});
  std::stable_sort(out.begin(), out.end(),
                   [](const Member& a, const Member& b) { return before(a.at, b.at); });
  return out;
}

// `s` between `q` quotes, with quotes, backslashes and control characters escaped.
std::string quote(std::string_view s, char q) {
  std::string out(1, q);
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == q || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += ch;
    }
  }
  return out + q;
}

Error Checker::fail(Where at, std::string_view what, std::string_view expected) const {
  std::string msg = source_ + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": ";
  msg.append(what).append("; expected ").append(expected);
  return make_error(Errc::invalid_argument, std::move(msg));
}

namespace {

const char* kind_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date/time";
  }
}

}  // namespace

Error Checker::wrong_kind(const toml::node& v, std::string_view subject,
                          std::string_view expected) const {
  return fail(where_of(v.source()), std::string(subject) + " is " + kind_name(v), expected);
}

Result<std::string> Checker::string(const toml::node& v, std::string_view subject,
                                    std::string_view expected) const {
  const auto* s = v.as_string();
  if (s == nullptr) return wrong_kind(v, subject, expected);
  return s->get();
}

Result<int64_t> Checker::integer(const toml::node& v, std::string_view subject, int64_t lo,
                                 int64_t hi, std::string_view expected) const {
  const auto* i = v.as_integer();
  if (i == nullptr) return wrong_kind(v, subject, expected);
  if (i->get() < lo || i->get() > hi)
    return fail(where_of(v.source()), std::string(subject) + " is " + std::to_string(i->get()),
                expected);
  return i->get();
}

Result<bool> Checker::boolean(const toml::node& v, std::string_view subject) const {
  const auto* b = v.as_boolean();
  if (b == nullptr) return wrong_kind(v, subject, "true or false");
  return b->get();
}

Result<std::vector<std::string>> Checker::strings(const toml::node& v, std::string_view subject,
                                                  std::string_view expected, bool allow_empty,
                                                  bool (*ok)(std::string_view)) const {
  const auto* a = v.as_array();
  if (a == nullptr) return wrong_kind(v, subject, expected);
  if (a->empty() && !allow_empty)
    return fail(where_of(v.source()), std::string(subject) + " is empty", expected);
  std::vector<std::string> out;
  for (const toml::node& e : *a) {
    const std::string element = "a " + std::string(subject) + " element";
    const auto* s = e.as_string();
    if (s == nullptr) return wrong_kind(e, element, expected);
    if (ok != nullptr && !ok(s->get()))
      return fail(where_of(e.source()), element + " is " + quote(s->get()), expected);
    out.push_back(s->get());
  }
  return out;
}

Result<std::vector<unsigned>> Checker::cores(const toml::node& v, std::string_view subject) const {
  constexpr std::string_view kExpected = "a non-empty list of distinct CPU numbers in 0..1023";
  const auto* a = v.as_array();
  if (a == nullptr) return wrong_kind(v, subject, kExpected);
  if (a->empty()) return fail(where_of(v.source()), std::string(subject) + " is empty", kExpected);
  std::vector<unsigned> out;
  for (const toml::node& e : *a) {
    auto cpu = integer(e, "a " + std::string(subject) + " element", 0, 1023, kExpected);
    if (!cpu) return std::move(cpu).error();
    const auto u = static_cast<unsigned>(*cpu);
    if (std::find(out.begin(), out.end(), u) != out.end())
      return fail(where_of(e.source()),
                  std::string(subject) + " lists CPU " + std::to_string(u) + " twice", kExpected);
    out.push_back(u);
  }
  return out;
}

bool valid_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > 31) return false;
  return std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
  });
}

}  // namespace nfv::topo
