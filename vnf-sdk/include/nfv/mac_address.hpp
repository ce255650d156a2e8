// MacAddress: a 48-bit Ethernet address as a value type.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace nfv {

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  static MacAddress from_bytes(const uint8_t* p) noexcept {
    MacAddress m;
    std::memcpy(m.bytes.data(), p, 6);
    return m;
  }
  // Parses "52:54:00:00:00:01" (also '-' separated); nullopt when malformed.
  static std::optional<MacAddress> parse(std::string_view text) noexcept;

  // The address as the low 48 bits of an integer, network byte order (first byte highest).
  uint64_t to_u64() const noexcept {
    uint64_t v = 0;
    for (uint8_t b : bytes) v = (v << 8) | b;
    return v;
  }
  static MacAddress from_u64(uint64_t v) noexcept {
    MacAddress m;
    for (int i = 5; i >= 0; --i, v >>= 8) m.bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
    return m;
  }

  bool is_multicast() const noexcept { return (bytes[0] & 0x01) != 0; }  // includes broadcast
  bool is_broadcast() const noexcept { return to_u64() == 0xffffffffffffULL; }
  bool is_zero() const noexcept { return to_u64() == 0; }

  std::string to_string() const;

  friend bool operator==(const MacAddress&, const MacAddress&) = default;
};

}  // namespace nfv
