// Line ownership from toml++'s source regions (see toml_sections.hpp).
#include "toml_sections.hpp"

#include <algorithm>
#include <vector>

namespace nfv::topo {

namespace {

// Marks the lines `n` occupies. A standard table ([x], [[x]]) owns its header
// line only (its keys mark their own lines); an array of such tables owns
// nothing itself (its source region spans everything between its first and
// last header). Values, inline tables and other arrays own all their lines.
void mark(const toml::node& n, std::vector<bool>& owned) {
  auto set = [&](uint32_t first, uint32_t last) {
    for (uint32_t l = first; l <= last && l < owned.size(); ++l) owned[l] = true;
  };
  const toml::source_region& r = n.source();
  if (const toml::table* t = n.as_table(); t != nullptr && !t->is_inline()) {
    set(r.begin.line, r.begin.line);
    for (auto&& [key, value] : *t) {
      set(key.source().begin.line, key.source().begin.line);
      mark(value, owned);
    }
    return;
  }
  if (const toml::array* a = n.as_array(); a != nullptr && a->is_array_of_tables() &&
                                             !a->empty() && !a->front().as_table()->is_inline()) {
    for (const toml::node& e : *a) mark(e, owned);
    return;
  }
  set(r.begin.line, std::max(r.begin.line, r.end.line));
}

}  // namespace

std::string keep_top_level(std::string_view text, const toml::table& doc,
                           std::initializer_list<std::string_view> keep) {
  // Lines are 1-based; count them to size the masks.
  const size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 2;
  std::vector<bool> drop(lines, false);
  std::vector<bool> held(lines, false);
  for (auto&& [key, value] : doc) {
    const bool kept = std::find(keep.begin(), keep.end(), key.str()) != keep.end();
    std::vector<bool>& target = kept ? held : drop;
    target[std::min<size_t>(key.source().begin.line, lines - 1)] = true;
    mark(value, target);
  }
  std::string out;
  out.reserve(text.size());
  size_t line = 1;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t nl = std::min(text.find('\n', pos), text.size());
    if (!drop[line] || held[line]) out.append(text.substr(pos, nl - pos));
    if (nl == text.size()) break;
    out += '\n';
    pos = nl + 1;
    ++line;
  }
  return out;
}

}  // namespace nfv::topo
