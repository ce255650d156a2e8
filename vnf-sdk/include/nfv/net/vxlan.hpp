// VxlanView: a VXLAN header (RFC 7348 §5), carried in UDP to port 4789 and
// followed by the inner Ethernet frame.
//
//   flags(1: R R R R I R R R) reserved(3) VNI(3) reserved(1) inner frame...
//
// parse() refuses fewer than 8 bytes (truncated) and a header without the I
// flag (bad_flags: RFC 7348 §5 says the I flag MUST be 1 for a valid VNI).
// The reserved bits are ignored on receipt, as the RFC asks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nfv/net/byte_order.hpp"
#include "nfv/net/parse.hpp"

namespace nfv::net {

class VxlanView {
 public:
  static constexpr size_t kHeaderLen = 8;
  static constexpr uint16_t kUdpPort = 4789;  // IANA, RFC 7348 §5
  static constexpr uint8_t kFlagVni = 0x08;   // the I flag

  static Parsed<VxlanView> parse(const uint8_t* data, size_t len) noexcept;

  uint8_t flags() const noexcept { return p_[0]; }
  uint32_t vni() const noexcept { return load_be24(p_ + 4); }

  const uint8_t* data() const noexcept { return p_; }
  const uint8_t* payload() const noexcept { return p_ + kHeaderLen; }  // inner Ethernet
  size_t payload_len() const noexcept { return len_ - kHeaderLen; }

 private:
  const uint8_t* p_ = nullptr;
  size_t len_ = 0;
};

}  // namespace nfv::net
