// A stream: what nfv-gen sends, described once (StreamSpec) and turned into
// a StreamTemplate whose write() produces packet number `seq` of the stream.
//
// Frames are Ethernet [+ one 802.1Q tag] + IPv4 or IPv6 + UDP or TCP, then the
// 16-byte test signature (signature.hpp) when the frame is long enough, then
// zero padding. Frame sizes count no FCS (60..9000 bytes written).
//
// Packet `seq` belongs to flow `seq % flows`; each of source/destination
// address and port is a function of the flow only, so a flow keeps its
// 5-tuple for the whole run:
//   fixed:     base
//   increment: base + (flow % count)
//   random:    base + (mix(seed, field, flow) % count), a stateless hash of a
//              fixed seed: the same spec gives the same values on every run.
//              Flows may share a value (it is a draw, not a permutation).
// For IPv6 the variation applies to the low 32 bits of the address (no carry
// into the upper 96). Ports must not pass 65535; IPv4 addresses wrap.
//
// Frame size of packet `seq`:
//   fixed N; range [a,b] uniform (a stateless hash of seq) or incrementing
//   (a + seq % (b-a+1)); IMIX 7:4:1 in a fixed 12-packet cycle (kImixCycle).
//   IMIX's 64/570/1518 are wire sizes with FCS, as IMIX is defined, so the
//   frames written are 60/566/1514 bytes.
// Because flow and size both derive from seq, a flow count that shares a
// factor with the size cycle gives each flow a subset of the sizes.
//
// Checksums: the IPv4 header checksum and the UDP/TCP checksum are always
// right (UDP over IPv4 included, though RFC 768 would allow 0): the template
// holds them for the base values and a zero payload, and write() patches
// them incrementally (RFC 1624) for the lengths, the flow's fields and the
// signature. A computed UDP checksum of 0 is sent as 0xffff.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "nfv/mac_address.hpp"
#include "nfv/net/ipv6.hpp"
#include "nfv/result.hpp"
#include "signature.hpp"

namespace nfvgen {

enum class L3Proto : uint8_t { ipv4, ipv6 };
enum class L4Proto : uint8_t { udp, tcp };
enum class Vary : uint8_t { fixed, increment, random };
enum class SizeMode : uint8_t { fixed, uniform, increment, imix };

inline constexpr uint32_t kMinFrameSize = 60;    // Ethernet minimum without FCS
inline constexpr uint32_t kMaxFrameSize = 9000;  // jumbo, without FCS
inline constexpr std::array<uint16_t, 12> kImixCycle = {60,   566, 60,  60, 566, 60,
                                                        1514, 60,  566, 60, 60,  566};

struct FieldVariation {
  Vary mode = Vary::fixed;
  uint32_t count = 1;  // number of distinct values (1 for fixed)
};

struct FrameSize {
  SizeMode mode = SizeMode::fixed;
  uint32_t min = 64;  // fixed: the size
  uint32_t max = 64;
};

struct StreamSpec {
  std::string name;
  uint16_t id = 0;  // in the signature; unique per run
  nfv::MacAddress src_mac = nfv::MacAddress::from_u64(0x020000000001);
  nfv::MacAddress dst_mac = nfv::MacAddress::from_u64(0x020000000002);
  std::optional<uint16_t> vlan;  // 0..4095; absent: untagged
  uint8_t vlan_pcp = 0;          // 0..7
  L3Proto l3 = L3Proto::ipv4;
  uint32_t src_ip4 = 0x0a000001;  // host order; for l3 == ipv4
  uint32_t dst_ip4 = 0x0a010001;
  nfv::net::Ipv6Address src_ip6{};  // for l3 == ipv6
  nfv::net::Ipv6Address dst_ip6{};
  L4Proto l4 = L4Proto::udp;
  uint16_t src_port = 1024;
  uint16_t dst_port = 1024;
  FieldVariation src_ip_vary, dst_ip_vary, src_port_vary, dst_port_vary;
  uint32_t flows = 1;  // >= 1
  FrameSize size;
  uint64_t seed = 1;  // for random fields and uniform sizes
  uint8_t ttl = 64;   // IPv4 TTL / IPv6 hop limit
};

// Checks ranges and that every frame size holds the headers; the message
// names the stream and what to change.
nfv::Status check_stream_spec(const StreamSpec& spec);

// The values a flow's packets carry, host order. For IPv6, src_ip/dst_ip are
// the low 32 bits of the addresses.
struct FlowFields {
  uint32_t src_ip;
  uint32_t dst_ip;
  uint16_t src_port;
  uint16_t dst_port;
};

class StreamTemplate {
 public:
  static constexpr uint32_t kMaxHeader = 96;

  [[gnu::cold]] static nfv::Result<StreamTemplate> build(const StreamSpec& spec);

  // Writes packet `seq` to out[0..room): headers, signature {id, seq mod 2^32,
  // tsc} when the size allows it, zero padding. Returns the frame length, or
  // 0 (nothing written) when room is too small. Allocates nothing.
  uint32_t write(uint8_t* out, uint32_t room, uint64_t seq, uint64_t tsc) const noexcept {
    return write_fn_(*this, out, room, seq, tsc);
  }

  uint32_t frame_size(uint64_t seq) const noexcept;
  uint32_t flow(uint64_t seq) const noexcept {
    return seq <= UINT32_MAX ? flows_mod_(static_cast<uint32_t>(seq)) : static_cast<uint32_t>(seq % flows_);
  }
  FlowFields flow_fields(uint32_t flow) const noexcept;

  // Where the signature starts (right after the L4 header); whether a frame
  // of `size` bytes carries one.
  uint32_t signature_offset() const noexcept { return l4_ + l4_header_; }
  bool has_signature(uint32_t size) const noexcept {
    return size >= signature_offset() + kSignatureSize;
  }
  uint32_t header_size() const noexcept { return signature_offset(); }
  uint32_t max_frame_size() const noexcept;
  uint16_t id() const noexcept { return id_; }

 private:
  // a % d for 32-bit a and d with two multiplications instead of a division
  // (Lemire, Kaser, Kurz: "Faster remainder by direct computation", 2019): a
  // 64-bit div costs tens of cycles, and a frame needs up to five of them.
  struct FastMod {
    uint64_t m = 0;  // ceil(2^64 / d); 0 for d = 1 (everything is 0 mod 1)
    uint32_t d = 1;
    FastMod() = default;
    explicit FastMod(uint32_t divisor) noexcept : m(UINT64_MAX / divisor + 1), d(divisor) {}
    uint32_t operator()(uint32_t a) const noexcept {
      const uint64_t low = m * a;
      return static_cast<uint32_t>((static_cast<unsigned __int128>(low) * d) >> 64);
    }
  };
  struct Field {  // one varied field
    uint32_t base = 0;
    uint32_t count = 1;
    FastMod mod;  // % count
    uint64_t salt = 0;  // 0: increment (or fixed); else random with this salt
    uint32_t value(uint32_t flow) const noexcept;
  };
  using WriteFn = uint32_t (*)(const StreamTemplate&, uint8_t*, uint32_t, uint64_t,
                               uint64_t) noexcept;
  template <bool kIpv4, bool kUdp>
  static uint32_t write_impl(const StreamTemplate& t, uint8_t* out, uint32_t room, uint64_t seq,
                             uint64_t tsc) noexcept;

  StreamTemplate() = default;

  std::array<uint8_t, kMaxHeader> header_{};  // base values, zero payload, checksums filled
  WriteFn write_fn_ = nullptr;
  uint16_t id_ = 0;
  uint16_t l3_ = 0;         // offset of the IP header
  uint16_t l4_ = 0;         // offset of the UDP/TCP header
  uint16_t l4_header_ = 0;  // 8 or 20
  uint16_t ip_src_low_ = 0,
           ip_dst_low_ = 0;  // offsets of the (low) 32 address bits
  uint16_t ref_l3_len_ = 0;  // IPv4 total length in header_ (zero payload)
  FrameSize size_;
  uint32_t flows_ = 1;
  FastMod flows_mod_;
  uint64_t size_salt_ = 0;
  Field src_ip_, dst_ip_, src_port_, dst_port_;
};

}  // namespace nfvgen
