// read_text_file(): a configuration file read whole, bounded (a path such as
// /dev/zero must not eat memory), with the error every loader reports:
// "FILE: cannot read: <system error text>" (File too large above the bound).
#pragma once

#include <cstddef>
#include <string>

#include "nfv/result.hpp"

namespace nfv {

inline constexpr std::size_t kMaxConfigFileBytes = std::size_t{16} << 20;

Result<std::string> read_text_file(const std::string& path, std::size_t max_bytes = kMaxConfigFileBytes);

}  // namespace nfv
