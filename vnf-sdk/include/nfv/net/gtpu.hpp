// GtpuView: a GTP-U header (3GPP TS 29.281 §5.1) with its extension headers
// (§5.2), carried in UDP to port 2152 (§4.4.2).
//
//   flags(1: version 3 | PT 1 | spare | E | S | PN) message type(1)
//   length(2: bytes after the first 8) TEID(4)
//   [sequence(2) N-PDU number(1) next extension type(1)]  when E, S or PN
//   [length(1, in 4-byte units) content... next extension type(1)]...
//
// parse() refuses: fewer than 8 bytes, or fewer than 8 + length (truncated);
// version != 1 (bad_version); PT = 0, which is GTP' (unsupported); a length
// too small for the optional field and extension headers it announces
// (bad_length); an extension header of length 0 (bad_header_length, §5.2.1);
// more than kMaxExtensions extension headers (too_many_headers). Bytes after
// 8 + length are not payload.
//
// The PDU Session Container (type 0x85, TS 38.415 §5.5.2) gives the QoS Flow
// Identifier: the low 6 bits of its second octet, in both the DL (PDU type 0)
// and UL (PDU type 1) forms. Unknown extension types are walked over by their
// length; what to do with them (§5.2.1 "comprehension required") is the
// caller's decision.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "nfv/net/byte_order.hpp"
#include "nfv/net/parse.hpp"

namespace nfv::net {

namespace gtpu_msg {  // TS 29.281 §6.1
inline constexpr uint8_t echo_request = 1;
inline constexpr uint8_t echo_response = 2;
inline constexpr uint8_t error_indication = 26;
inline constexpr uint8_t supported_ext_headers = 31;
inline constexpr uint8_t end_marker = 254;
inline constexpr uint8_t g_pdu = 255;  // carries a user packet (T-PDU)
}  // namespace gtpu_msg

namespace gtpu_ext {  // TS 29.281 §5.2.1, Figure 5.2.1-3
inline constexpr uint8_t none = 0x00;
inline constexpr uint8_t udp_port = 0x40;
inline constexpr uint8_t pdcp_pdu_number = 0xc0;
inline constexpr uint8_t pdu_session_container = 0x85;
}  // namespace gtpu_ext

class GtpuView {
 public:
  static constexpr size_t kHeaderLen = 8;    // mandatory part
  static constexpr size_t kOptionalLen = 4;  // sequence, N-PDU, next type
  static constexpr size_t kMaxExtensions = 8;
  static constexpr uint16_t kUdpPort = 2152;
  static constexpr uint8_t kFlagE = 0x04, kFlagS = 0x02, kFlagPN = 0x01;

  static Parsed<GtpuView> parse(const uint8_t* data, size_t len) noexcept;

  uint8_t flags() const noexcept { return p_[0]; }
  uint8_t version() const noexcept { return p_[0] >> 5; }
  bool has_extensions() const noexcept { return (p_[0] & kFlagE) != 0; }
  uint8_t message_type() const noexcept { return p_[1]; }
  bool is_gpdu() const noexcept { return p_[1] == gtpu_msg::g_pdu; }
  uint16_t length() const noexcept { return load_be16(p_ + 2); }
  uint32_t teid() const noexcept { return load_be32(p_ + 4); }

  std::optional<uint16_t> sequence() const noexcept {
    if (!(p_[0] & kFlagS)) return std::nullopt;
    return load_be16(p_ + 8);
  }
  std::optional<uint8_t> npdu_number() const noexcept {
    if (!(p_[0] & kFlagPN)) return std::nullopt;
    return p_[10];
  }

  size_t extension_count() const noexcept { return ext_count_; }
  // From the PDU Session Container, when the header carries one.
  bool has_pdu_session() const noexcept { return pdu_off_ != 0; }
  std::optional<uint8_t> qfi() const noexcept {
    if (!pdu_off_) return std::nullopt;
    return p_[pdu_off_ + 2] & 0x3f;
  }
  // 0: DL PDU SESSION INFORMATION, 1: UL (TS 38.415 §5.5.3.1).
  std::optional<uint8_t> pdu_type() const noexcept {
    if (!pdu_off_) return std::nullopt;
    return p_[pdu_off_ + 1] >> 4;
  }

  size_t header_len() const noexcept { return hdr_len_; }
  const uint8_t* data() const noexcept { return p_; }
  // The T-PDU of a G-PDU (an IPv4/IPv6 packet, or Ethernet for Ethernet PDU
  // sessions), or the information elements of a signalling message.
  const uint8_t* payload() const noexcept { return p_ + hdr_len_; }
  size_t payload_len() const noexcept { return kHeaderLen + length() - hdr_len_; }

 private:
  const uint8_t* p_ = nullptr;
  uint16_t hdr_len_ = 0;
  uint16_t pdu_off_ = 0;  // offset of the PDU Session Container; 0: none
  uint8_t ext_count_ = 0;
};

}  // namespace nfv::net
