// TextTable: the aligned tables nfvctl prints, and the conversion of JSON
// values into table cells. Printing never throws on an unexpected shape: a
// missing member is "-", a list is comma separated.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nfvctl {

using Json = nlohmann::json;

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> headers);
  void add_row(std::vector<std::string> cells);
  // Columns are separated by two spaces; a column of numbers is right-aligned.
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// `obj[key]`, or null when `obj` is not an object or lacks `key`.
const Json& member(const Json& obj, std::string_view key);

// A value as a cell: null -> "-", strings verbatim, integers in full, other
// numbers with up to `decimals` decimals, lists joined with ','.
std::string cell(const Json& value, int decimals = 1);
inline std::string cell(const Json& obj, std::string_view key, int decimals = 1) {
  return cell(member(obj, key), decimals);
}

// Prints "label  value" lines for the members of `obj` named in `labels` (in
// that order), then any other members under their own names.
void print_fields(const Json& obj,
                  std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
                  std::ostream& out);

}  // namespace nfvctl
