#include "text_table.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace nfvctl {

namespace {

bool is_placeholder(const std::string& text) { return text.empty() || text == "-"; }

bool looks_numeric(const std::string& text) {
  return !is_placeholder(text) && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
}

}  // namespace

TextTable::TextTable(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void TextTable::add_row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

void TextTable::print(std::ostream& out) const {
  const size_t columns = headers_.size();
  std::vector<size_t> width(columns);
  // Right-aligned: columns with at least one number and nothing but numbers and placeholders.
  std::vector<bool> right(columns, false);
  for (size_t c = 0; c < columns; ++c) {
    width[c] = headers_[c].size();
    bool numbers_only = true;
    for (const auto& row : rows_) {
      width[c] = std::max(width[c], row[c].size());
      if (looks_numeric(row[c])) {
        right[c] = true;
      } else if (!is_placeholder(row[c])) {
        numbers_only = false;
      }
    }
    right[c] = right[c] && numbers_only;
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < columns; ++c) {
      if (c > 0) line += "  ";
      const size_t pad = width[c] - row[c].size();
      if (right[c]) line.append(pad, ' ');
      line += row[c];
      if (!right[c] && c + 1 < columns) line.append(pad, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  };
  print_row(headers_);
  for (const auto& row : rows_) print_row(row);
}

const Json& member(const Json& obj, std::string_view key) {
  static const Json kNull = nullptr;
  if (!obj.is_object()) return kNull;
  const auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string cell(const Json& value, int decimals) {
  switch (value.type()) {
    case Json::value_t::null:
      return "-";
    case Json::value_t::string:
      return value.get<std::string>();
    case Json::value_t::boolean:
      return value.get<bool>() ? "yes" : "no";
    case Json::value_t::number_integer:
      return std::to_string(value.get<int64_t>());
    case Json::value_t::number_unsigned:
      return std::to_string(value.get<uint64_t>());
    case Json::value_t::number_float:
      return fmt::format("{:.{}f}", value.get<double>(), decimals);
    case Json::value_t::array: {
      if (value.empty()) return "-";
      std::string joined;
      for (const auto& item : value) {
        if (!joined.empty()) joined += ',';
        joined += cell(item, decimals);
      }
      return joined;
    }
    default:
      return value.dump();
  }
}

void print_fields(const Json& obj,
                  std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
                  std::ostream& out) {
  std::vector<std::pair<std::string, std::string>> lines;
  for (const auto& [key, label] : labels) {
    if (obj.contains(key)) lines.emplace_back(label, cell(obj[std::string(key)]));
  }
  for (const auto& item : obj.items()) {
    const std::string& key = item.key();
    const bool known =
        std::any_of(labels.begin(), labels.end(), [&](const auto& l) { return l.first == key; });
    if (!known && !item.value().is_object()) lines.emplace_back(key, cell(item.value()));
  }
  size_t width = 0;
  for (const auto& line : lines) width = std::max(width, line.first.size());
  for (const auto& [label, value] : lines) out << fmt::format("{:<{}}  {}\n", label, width, value);
}

}  // namespace nfvctl
