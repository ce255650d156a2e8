// TcpView: a TCP header with its options (RFC 9293 §3.1).
//
//   src port(2) dst port(2) seq(4) ack(4) data offset/flags(2) window(2)
//   checksum(2) urgent pointer(2) options(data offset*4 - 20) payload...
//
// parse() refuses fewer than 20 bytes or than data offset*4 (truncated), a
// data offset below 5 (bad_header_length), and options whose length byte is
// < 2 or runs past the header (bad_option; RFC 9293 §3.2: kinds 0 and 1 are
// single bytes, every other option carries its own length). Options after
// End of Option List are padding and not looked at.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "nfv/net/byte_order.hpp"
#include "nfv/net/parse.hpp"

namespace nfv::net {

namespace tcp_flag {
inline constexpr uint8_t fin = 0x01;
inline constexpr uint8_t syn = 0x02;
inline constexpr uint8_t rst = 0x04;
inline constexpr uint8_t psh = 0x08;
inline constexpr uint8_t ack = 0x10;
inline constexpr uint8_t urg = 0x20;
inline constexpr uint8_t ece = 0x40;
inline constexpr uint8_t cwr = 0x80;
}  // namespace tcp_flag

namespace tcp_option {
inline constexpr uint8_t end = 0;
inline constexpr uint8_t nop = 1;
inline constexpr uint8_t mss = 2;           // RFC 9293 §3.2
inline constexpr uint8_t window_scale = 3;  // RFC 7323 §2
inline constexpr uint8_t sack_permitted = 4;
inline constexpr uint8_t timestamps = 8;  // RFC 7323 §3
}  // namespace tcp_option

class TcpView {
 public:
  static constexpr size_t kMinHeaderLen = 20;
  static constexpr size_t kMaxHeaderLen = 60;

  static Parsed<TcpView> parse(const uint8_t* data, size_t len) noexcept;

  uint16_t src_port() const noexcept { return load_be16(p_); }
  uint16_t dst_port() const noexcept { return load_be16(p_ + 2); }
  uint32_t seq() const noexcept { return load_be32(p_ + 4); }
  uint32_t ack() const noexcept { return load_be32(p_ + 8); }
  uint8_t data_offset() const noexcept { return p_[12] >> 4; }  // 32-bit words
  size_t header_len() const noexcept { return size_t{data_offset()} * 4; }
  uint8_t flags() const noexcept { return p_[13]; }  // tcp_flag bits
  bool has_flags(uint8_t mask) const noexcept { return (p_[13] & mask) == mask; }
  uint16_t window() const noexcept { return load_be16(p_ + 14); }
  uint16_t checksum() const noexcept { return load_be16(p_ + 16); }
  uint16_t urgent_pointer() const noexcept { return load_be16(p_ + 18); }

  std::span<const uint8_t> options() const noexcept {
    return {p_ + kMinHeaderLen, header_len() - kMinHeaderLen};
  }
  // The option of that kind, length byte and all ({kind, len, value...});
  // empty when absent. Kinds 0 and 1 are never returned.
  std::span<const uint8_t> find_option(uint8_t kind) const noexcept;
  // The Maximum Segment Size option's value (SYN segments), for MSS clamping.
  std::optional<uint16_t> mss() const noexcept;

  const uint8_t* data() const noexcept { return p_; }
  const uint8_t* payload() const noexcept { return p_ + header_len(); }
  size_t payload_len() const noexcept { return len_ - header_len(); }

 private:
  const uint8_t* p_ = nullptr;
  size_t len_ = 0;
};

}  // namespace nfv::net
