// A stream: what nfv-gen sends, described once (StreamSpec) and turned into
// a StreamTemplate whose write() produces packet number `seq` of the stream.
//
// Frames are Ethernet [+ one 802.1Q tag] + IPv4 or IPv6 + UDP or TCP, then the
// 16-byte test signature (signature.hpp) when the frame is long enough, then
// zero padding. Frame sizes count no FCS (60..9000 bytes written).
// GTP-U streams (spec.gtpu) wrap that IP packet in Ethernet [+ tag] + outer
// IPv4 + UDP (2152 -> 2152, checksum 0, legal over IPv4) + GTP-U G-PDU
// (TS 29.281 §5.1, with a PDU Session Container when qfi is set); the inner
// packet carries the varied fields and the signature.
//
// Packet `seq` belongs to flow `seq % flows`. Each of source/destination
// address and port (and the GTP-U TEID) is one of:
//   fixed:     base
//   increment: base + (flow % count)                       (BASE+COUNT)
//   random:    base + (mix(seed, field, flow) % count)     (BASE~COUNT)
//              a stateless hash of a fixed seed: a flow keeps its value for
//              the whole run, the same spec gives the same values every run;
//              flows may share a value (a draw, not a permutation).
//   random per packet: base + ((mix(salt ^ seq) >> 32) * count >> 32)
//              (BASE?COUNT) a new uniform draw for every packet, from the
//              seed too: reproducible, but not a function of the flow.
// mix() is splitmix64's finaliser and salt = mix(seed + n) | 1 with n = 1..5
// for src, dst, sport, dport, teid (docs/nfv-gen.md has the formulas to
// recompute any packet). For IPv6 the variation applies to the low 32 bits of
// the address (no carry into the upper 96). Ports must not pass 65535; IPv4
// addresses and TEIDs wrap.
//
// Frame size of packet `seq`:
//   fixed N; range [a,b] uniform (a stateless hash of seq) or incrementing
//   (a + seq % (b-a+1)); IMIX 7:4:1 in a fixed 12-packet cycle (kImixCycle).
//   IMIX's 64/570/1518 are wire sizes with FCS, as IMIX is defined, so the
//   frames written are 60/566/1514 bytes.
// Because flow and size both derive from seq, a flow count that shares a
// factor with the size cycle gives each flow a subset of the sizes.
//
// Checksums: the IPv4 header checksums and the TCP checksum are always right;
// the UDP checksum too unless udp_checksum is off (then it is 0, "no
// checksum", RFC 768; only allowed over IPv4). The template holds them for the
// base values and a zero payload, and write() patches them incrementally
// (RFC 1624) for the lengths, the packet's fields and the signature. A
// computed UDP checksum of 0 is sent as 0xffff.
//
// Reused buffers: write(..., headers_there, zero_to) is told whether the
// buffer holds this stream's header bytes (this template wrote it last and
// nobody else touched it since) and up to where its tail is known to be zero
// (bytes [kCleanFrom, zero_to), whatever wrote them: no frame of any stream
// has anything but zero padding there). It then rewrites only what changes
// per packet: lengths, varied fields, checksums, the signature, and zeros
// past zero_to; with other headers there, a 128-byte header copy more. The
// generator keeps both per tx buffer.
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
enum class Vary : uint8_t { fixed, increment, random, random_packet };
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
  bool seed_given = false;  // seed= was in the spec (--seed does not override it)
  uint8_t ttl = 64;   // IPv4 TTL / IPv6 hop limit
  bool udp_checksum = true;  // false: UDP checksum 0 (IPv4 only)
  // GTP-U encapsulation (the fields above describe the inner packet).
  bool gtpu = false;
  uint32_t outer_src_ip4 = 0xc0a80001;  // 192.168.0.1, host order
  uint32_t outer_dst_ip4 = 0xc0a80002;  // 192.168.0.2
  uint32_t teid = 1;
  FieldVariation teid_vary;
  std::optional<uint8_t> qfi;  // 0..63: adds a PDU Session Container (UL)
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
  uint32_t teid;  // GTP-U streams
};

class StreamTemplate {
 public:
  static constexpr uint32_t kMaxHeader = 128;
  // Past the longest headers (122 bytes) and their signature: only padding from here.
  static constexpr uint32_t kCleanFrom = 160;

  [[gnu::cold]] static nfv::Result<StreamTemplate> build(const StreamSpec& spec);

  // Writes packet `seq` to out[0..room): headers, signature {id, seq mod 2^32,
  // tsc} when the size allows it, zero padding. Returns the frame length, or
  // 0 (nothing written) when room is too small. Allocates nothing.
  uint32_t write(uint8_t* out, uint32_t room, uint64_t seq, uint64_t tsc) const noexcept {
    uint32_t zero_to = 0;
    return write_fn_(*this, out, room, seq, tsc, false, zero_to);
  }
  // The same into a reused buffer (see the top): headers_there when this
  // template wrote it last; zero_to (0 when unknown) is updated. Buffers
  // with room below kCleanFrom get a whole write.
  uint32_t write(uint8_t* out, uint32_t room, uint64_t seq, uint64_t tsc, bool headers_there,
                 uint32_t& zero_to) const noexcept {
    return write_fn_(*this, out, room, seq, tsc, headers_there, zero_to);
  }

  uint32_t frame_size(uint64_t seq) const noexcept;
  uint32_t flow(uint64_t seq) const noexcept {
    return seq <= UINT32_MAX ? flows_mod_(static_cast<uint32_t>(seq)) : static_cast<uint32_t>(seq % flows_);
  }
  // The fields of packet `seq` (per-flow fields from flow(seq), per-packet
  // random fields from seq itself).
  FlowFields packet_fields(uint64_t seq) const noexcept;
  // Per-flow fields of `flow` (per-packet random fields as for seq 0).
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
    bool per_packet = false;  // random per packet (salt != 0)
    uint32_t value(uint32_t flow, uint64_t seq) const noexcept;
  };
  using WriteFn = uint32_t (*)(const StreamTemplate&, uint8_t*, uint32_t, uint64_t,
                               uint64_t, bool, uint32_t&) noexcept;
  template <bool kIpv4, bool kUdp, bool kGtpu>
  static uint32_t write_impl(const StreamTemplate& t, uint8_t* out, uint32_t room, uint64_t seq,
                             uint64_t tsc, bool headers_there, uint32_t& zero_to) noexcept;
  template <bool kIpv4, bool kUdp>
  static WriteFn pick_writer(bool gtpu) noexcept;

  StreamTemplate() = default;

  std::array<uint8_t, kMaxHeader> header_{};  // base values, zero payload, checksums filled
  WriteFn write_fn_ = nullptr;
  uint16_t id_ = 0;
  bool l4_checksum_ = true;  // false: UDP checksum left 0
  uint16_t outer_l3_ = 0;    // GTP-U: offset of the outer IPv4 header
  uint16_t gtpu_ = 0;        // GTP-U: offset of the GTP-U header
  uint16_t ref_outer_len_ = 0;  // GTP-U: outer IPv4 total length in header_
  uint16_t l3_ = 0;         // offset of the (inner) IP header
  uint16_t l4_ = 0;         // offset of the UDP/TCP header
  uint16_t l4_header_ = 0;  // 8 or 20
  uint16_t ip_src_low_ = 0,
           ip_dst_low_ = 0;  // offsets of the (low) 32 address bits
  uint16_t ref_l3_len_ = 0;  // IPv4 total length in header_ (zero payload)
  FrameSize size_;
  uint32_t flows_ = 1;
  FastMod flows_mod_;
  uint64_t size_salt_ = 0;
  Field src_ip_, dst_ip_, src_port_, dst_port_, teid_;
};

}  // namespace nfvgen
