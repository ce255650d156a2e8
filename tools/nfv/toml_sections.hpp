// Cutting a TOML document into the parts other programs read.
//
// keep_top_level() returns the text with every line that belongs to a
// top-level key not in `keep` emptied: its key/value lines (all lines of a
// multi-line value), its [table] and [[array]] headers. Comments and blank
// lines stay. Lines and columns of what is kept do not move, so a loader run
// on the result reports positions in the original file. TOML puts at most one
// key/value or header on a line, so a line belongs to one top-level key.
#pragma once

#include <toml++/toml.h>

#include <initializer_list>
#include <string>
#include <string_view>

namespace nfv::topo {

std::string keep_top_level(std::string_view text, const toml::table& doc,
                           std::initializer_list<std::string_view> keep);

}  // namespace nfv::topo
