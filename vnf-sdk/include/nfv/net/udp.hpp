// UdpView: a UDP header (RFC 768).
//
//   src port(2) dst port(2) length(2) checksum(2) payload...
//
// parse() is given the bytes the IP layer carries (IPv4 payload_len() or
// IPv6 upper_len()) and refuses fewer than 8 bytes or a length beyond them
// (truncated) and a length below 8 (bad_length). A length shorter than the
// IP payload is accepted: the payload ends where the UDP length says.
// The checksum is not verified here (see checksum.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "nfv/net/byte_order.hpp"
#include "nfv/net/parse.hpp"

namespace nfv::net {

class UdpView {
 public:
  static constexpr size_t kHeaderLen = 8;

  static Parsed<UdpView> parse(const uint8_t* data, size_t len) noexcept;

  uint16_t src_port() const noexcept { return load_be16(p_); }
  uint16_t dst_port() const noexcept { return load_be16(p_ + 2); }
  uint16_t length() const noexcept { return load_be16(p_ + 4); }
  uint16_t checksum() const noexcept { return load_be16(p_ + 6); }

  const uint8_t* data() const noexcept { return p_; }
  const uint8_t* payload() const noexcept { return p_ + kHeaderLen; }
  size_t payload_len() const noexcept { return size_t{length()} - kHeaderLen; }

 private:
  const uint8_t* p_ = nullptr;
};

}  // namespace nfv::net
