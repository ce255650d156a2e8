// ArpView: an ARP packet for IPv4 over Ethernet (RFC 826), the only kind an
// Ethernet VNF meets: hardware type 1, protocol 0x0800, lengths 6 and 4.
//
//   htype(2) ptype(2) hlen(1) plen(1) oper(2) sha(6) spa(4) tha(6) tpa(4)
//
// Other hardware/protocol combinations parse as `unsupported`. Trailing bytes
// (Ethernet padding to 60 bytes) are ignored.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nfv/mac_address.hpp"
#include "nfv/net/byte_order.hpp"
#include "nfv/net/parse.hpp"

namespace nfv::net {

namespace arp_op {
inline constexpr uint16_t request = 1;
inline constexpr uint16_t reply = 2;
}  // namespace arp_op

class ArpView {
 public:
  static constexpr size_t kLen = 28;

  static Parsed<ArpView> parse(const uint8_t* data, size_t len) noexcept;

  uint16_t operation() const noexcept { return load_be16(p_ + 6); }
  MacAddress sender_mac() const noexcept { return MacAddress::from_bytes(p_ + 8); }
  uint32_t sender_ip() const noexcept { return load_be32(p_ + 14); }  // host order
  MacAddress target_mac() const noexcept { return MacAddress::from_bytes(p_ + 18); }
  uint32_t target_ip() const noexcept { return load_be32(p_ + 24); }  // host order
  const uint8_t* data() const noexcept { return p_; }

 private:
  const uint8_t* p_ = nullptr;
};

}  // namespace nfv::net
