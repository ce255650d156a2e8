// StreamTemplate: built once from a StreamSpec, then write() per packet
// (see stream.hpp for what a packet of the stream holds).
#include "stream.hpp"

#include <algorithm>
#include <cstring>
#include <span>

#include "nfv/net/byte_order.hpp"
#include "nfv/net/checksum.hpp"
#include "nfv/net/packet_builder.hpp"

namespace nfvgen {

using nfv::Errc;
using nfv::make_error;
using nfv::net::checksum_update16;
using nfv::net::checksum_update32;
using nfv::net::load_be16;
using nfv::net::load_be32;
using nfv::net::store_be16;
using nfv::net::store_be32;

namespace {

// splitmix64's finaliser: a stateless, well-mixed hash, so that random
// fields and uniform sizes are a pure function of (seed, flow or seq).
constexpr uint64_t mix(uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint32_t gtpu_header_size(const StreamSpec& s) noexcept {
  return s.gtpu ? 20u + 8u + 8u + (s.qfi ? 8u : 0u) : 0u;  // outer IPv4 + UDP + GTP-U [+ extension]
}

uint32_t header_size_of(const StreamSpec& s) noexcept {
  return 14u + (s.vlan ? 4u : 0u) + gtpu_header_size(s) + (s.l3 == L3Proto::ipv4 ? 20u : 40u) +
         (s.l4 == L4Proto::udp ? 8u : 20u);
}

std::string headers_name(const StreamSpec& s) {
  std::string n = s.vlan ? "Ethernet+VLAN+" : "Ethernet+";
  if (s.gtpu) n += "IPv4+UDP+GTP-U+";
  n += s.l3 == L3Proto::ipv4 ? "IPv4+" : "IPv6+";
  n += s.l4 == L4Proto::udp ? "UDP" : "TCP";
  return n;
}

}  // namespace

nfv::Status check_stream_spec(const StreamSpec& s) {
  const std::string who =
      "stream " + (s.name.empty() ? "id " + std::to_string(s.id) : "'" + s.name + "'") + ": ";
  const auto bad = [&](const std::string& what) {
    return make_error(Errc::invalid_argument, who + what);
  };
  if (s.flows == 0) return bad("flows is 0; expected at least 1 flow");
  if (s.vlan && *s.vlan > 4095)
    return bad("VLAN id " + std::to_string(*s.vlan) + "; expected 0..4095");
  if (s.vlan_pcp > 7) return bad("VLAN PCP " + std::to_string(s.vlan_pcp) + "; expected 0..7");
  const FieldVariation* vary[] = {&s.src_ip_vary, &s.dst_ip_vary, &s.src_port_vary,
                                  &s.dst_port_vary, &s.teid_vary};
  const char* names[] = {"source address", "destination address", "source port",
                         "destination port", "TEID"};
  for (int i = 0; i < 5; ++i) {
    if (vary[i]->mode != Vary::fixed && vary[i]->count == 0)
      return bad(std::string(names[i]) + " varies over 0 values; expected a count of at least 1");
  }
  for (int i = 2; i < 4; ++i) {
    const uint32_t base = i == 2 ? s.src_port : s.dst_port;
    const uint32_t count = vary[i]->mode == Vary::fixed ? 1 : vary[i]->count;
    if (base + uint64_t{count} - 1 > 65535)
      return bad(std::string(names[i]) + " " + std::to_string(base) + " + " +
                 std::to_string(count) + " values passes 65535; expected a smaller base or count");
  }
  if (s.qfi && *s.qfi > 63) return bad("QFI " + std::to_string(*s.qfi) + "; expected 0..63");
  if (!s.gtpu && (s.qfi || s.teid_vary.mode != Vary::fixed || s.teid != 1))
    return bad("TEID/QFI given for a stream that is not GTP-U; expected 'gtpu' too");
  if (!s.udp_checksum && (s.l3 != L3Proto::ipv4 || s.l4 != L4Proto::udp))
    return bad("udp_checksum off for a stream that is not UDP over IPv4 (IPv6 requires the UDP checksum, RFC 8200 §8.1); "
               "expected udp_checksum on");
  const FrameSize& z = s.size;
  const auto in_range = [](uint32_t v) { return v >= kMinFrameSize && v <= kMaxFrameSize; };
  const std::string range = std::to_string(kMinFrameSize) + ".." + std::to_string(kMaxFrameSize);
  uint32_t smallest = kImixCycle[0];
  if (z.mode == SizeMode::fixed) {
    if (!in_range(z.min)) return bad("frame size " + std::to_string(z.min) + "; expected " + range);
    smallest = z.min;
  } else if (z.mode != SizeMode::imix) {
    if (!in_range(z.min) || !in_range(z.max) || z.min > z.max)
      return bad("frame size range " + std::to_string(z.min) + ".." + std::to_string(z.max) +
                 "; expected a <= b, both in " + range);
    smallest = z.min;
  }
  const uint32_t need = header_size_of(s);
  if (smallest < need)
    return bad("frame size " + std::to_string(smallest) + " is too short for the " +
               std::to_string(need) + " bytes of " + headers_name(s) +
               " headers; expected a size of at least " + std::to_string(need));
  return {};
}

template <bool kIpv4, bool kUdp>
StreamTemplate::WriteFn StreamTemplate::pick_writer(bool gtpu) noexcept {
  return gtpu ? &write_impl<kIpv4, kUdp, true> : &write_impl<kIpv4, kUdp, false>;
}

nfv::Result<StreamTemplate> StreamTemplate::build(const StreamSpec& s) {
  if (auto st = check_stream_spec(s); !st) return std::move(st).error();
  StreamTemplate t;
  nfv::net::PacketBuilder b(std::span<uint8_t>(t.header_.data(), t.header_.size()));
  b.ethernet(s.dst_mac, s.src_mac);
  if (s.vlan) b.vlan(nfv::net::VlanTag::make(*s.vlan, s.vlan_pcp));
  if (s.gtpu) {
    constexpr uint16_t kGtpuPort = nfv::net::GtpuView::kUdpPort;
    b.ipv4({.src = s.outer_src_ip4, .dst = s.outer_dst_ip4, .ttl = s.ttl});
    b.udp(kGtpuPort, kGtpuPort, /*zero_checksum=*/true);
    b.gtpu({.teid = s.teid, .qfi = s.qfi, .pdu_type = 1});
  }
  if (s.l3 == L3Proto::ipv4) {
    b.ipv4({.src = s.src_ip4, .dst = s.dst_ip4, .ttl = s.ttl});
  } else {
    b.ipv6({.src = s.src_ip6, .dst = s.dst_ip6, .hop_limit = s.ttl});
  }
  if (s.l4 == L4Proto::udp) {
    b.udp(s.src_port, s.dst_port, !s.udp_checksum);
  } else {
    b.tcp({.src_port = s.src_port,
           .dst_port = s.dst_port,
           .flags = static_cast<uint8_t>(nfv::net::tcp_flag::ack | nfv::net::tcp_flag::psh)});
  }
  if (!b.finish(0))
    return make_error(Errc::invalid_argument,
                      std::string("stream '") + s.name +
                          "': cannot build its headers: " + nfv::net::build_error_name(b.error()));
  const bool v4 = s.l3 == L3Proto::ipv4;
  t.id_ = s.id;
  t.outer_l3_ = s.vlan ? 18 : 14;
  t.gtpu_ = static_cast<uint16_t>(t.outer_l3_ + 28);
  t.ref_outer_len_ = s.gtpu ? load_be16(t.header_.data() + t.outer_l3_ + 2) : 0;
  t.l3_ = static_cast<uint16_t>(t.outer_l3_ + gtpu_header_size(s));
  t.l4_ = static_cast<uint16_t>(t.l3_ + (v4 ? 20 : 40));
  t.l4_header_ = s.l4 == L4Proto::udp ? 8 : 20;
  t.l4_checksum_ = s.l4 == L4Proto::tcp || s.udp_checksum;
  // IPv4: the addresses at 12 and 16; IPv6: the last 4 bytes of each address
  // (8+12, 24+12).
  t.ip_src_low_ = static_cast<uint16_t>(t.l3_ + (v4 ? 12 : 20));
  t.ip_dst_low_ = static_cast<uint16_t>(t.l3_ + (v4 ? 16 : 36));
  t.ref_l3_len_ = v4 ? load_be16(t.header_.data() + t.l3_ + 2) : 0;
  t.size_ = s.size;
  t.flows_ = s.flows;
  t.flows_mod_ = FastMod(s.flows);
  t.size_salt_ = mix(s.seed ^ 0x53495a45);  // "SIZE"
  const auto field = [&](uint32_t base, const FieldVariation& v, uint64_t n) {
    Field f;
    f.base = base;
    f.count = v.mode == Vary::fixed ? 1 : v.count;
    f.mod = FastMod(f.count);
    const bool random = v.mode == Vary::random || v.mode == Vary::random_packet;
    f.salt = random ? (mix(s.seed + n) | 1) : 0;
    f.per_packet = v.mode == Vary::random_packet;
    return f;
  };
  t.src_ip_ = field(v4 ? s.src_ip4 : load_be32(s.src_ip6.data() + 12), s.src_ip_vary, 1);
  t.dst_ip_ = field(v4 ? s.dst_ip4 : load_be32(s.dst_ip6.data() + 12), s.dst_ip_vary, 2);
  t.src_port_ = field(s.src_port, s.src_port_vary, 3);
  t.dst_port_ = field(s.dst_port, s.dst_port_vary, 4);
  t.teid_ = field(s.teid, s.teid_vary, 5);
  if (v4) {
    t.write_fn_ = s.l4 == L4Proto::udp ? pick_writer<true, true>(s.gtpu) : pick_writer<true, false>(s.gtpu);
  } else {
    t.write_fn_ = s.l4 == L4Proto::udp ? pick_writer<false, true>(s.gtpu) : pick_writer<false, false>(s.gtpu);
  }
  return t;
}

uint32_t StreamTemplate::Field::value(uint32_t flow, uint64_t seq) const noexcept {
  if (count == 1) return base;  // fixed: most fields of most streams
  if (salt == 0) return base + mod(flow);
  if (per_packet) {
    // Lemire's multiply-shift maps the high 32 bits of the hash onto [0, count) without a division.
    return base + static_cast<uint32_t>(((mix(salt ^ seq) >> 32) * count) >> 32);
  }
  // The per-flow draw stays a 64-bit modulo of the hash: only random fields pay it.
  return base + static_cast<uint32_t>(mix(salt ^ flow) % count);
}

FlowFields StreamTemplate::packet_fields(uint64_t seq) const noexcept {
  const uint32_t f = flow(seq);
  return {src_ip_.value(f, seq), dst_ip_.value(f, seq), static_cast<uint16_t>(src_port_.value(f, seq)),
          static_cast<uint16_t>(dst_port_.value(f, seq)), teid_.value(f, seq)};
}

FlowFields StreamTemplate::flow_fields(uint32_t flow) const noexcept {
  return {src_ip_.value(flow, 0), dst_ip_.value(flow, 0), static_cast<uint16_t>(src_port_.value(flow, 0)),
          static_cast<uint16_t>(dst_port_.value(flow, 0)), teid_.value(flow, 0)};
}

uint32_t StreamTemplate::frame_size(uint64_t seq) const noexcept {
  switch (size_.mode) {
    case SizeMode::fixed:
      return size_.min;
    case SizeMode::increment:
      return size_.min + static_cast<uint32_t>(seq % (size_.max - size_.min + 1));
    case SizeMode::uniform:
      return size_.min + static_cast<uint32_t>(mix(size_salt_ ^ seq) % (size_.max - size_.min + 1));
    case SizeMode::imix:
      return kImixCycle[seq % kImixCycle.size()];
  }
  return size_.min;
}

uint32_t StreamTemplate::max_frame_size() const noexcept {
  switch (size_.mode) {
    case SizeMode::fixed:
      return size_.min;
    case SizeMode::imix:
      return 1514;
    default:
      return size_.max;
  }
}

// The header was built for the base field values and a zero-length payload;
// every change from it is patched into the checksums with RFC 1624 updates,
// starting from the template's checksums (not the buffer's: a warm buffer
// holds the previous packet's): the lengths (IPv4 total length; UDP length,
// counted twice in the UDP checksum: its field and the pseudo-header), the
// four flow fields (addresses are in the IPv4 header checksum and in the L4
// pseudo-header) and the signature words that replace zero padding. Padding
// is zero and adds nothing. GTP-U adds the outer lengths (outer IPv4 total
// length and header checksum, outer UDP length, GTP-U length) and the TEID,
// none of which is in the inner checksums.
// flatten: packet_fields(), value() and the checksum helpers inline into the per-frame path.
template <bool kIpv4, bool kUdp, bool kGtpu>
[[gnu::flatten]] uint32_t StreamTemplate::write_impl(const StreamTemplate& t, uint8_t* out, uint32_t room,
                                                     uint64_t seq, uint64_t tsc, bool headers_there,
                                                     uint32_t& zero_to) noexcept {
  // Longest headers: Ethernet, VLAN, IPv4+UDP+GTP-U with its extension (44), IPv6, TCP.
  static_assert(kCleanFrom >= kMaxHeader && kCleanFrom >= 14 + 4 + 44 + 40 + 20 + kSignatureSize);
  const uint32_t size = t.frame_size(seq);
  if (size > room) return 0;
  const uint32_t hlen = t.l4_ + uint32_t{t.l4_header_};
  if (room < kCleanFrom) {
    // A small buffer (tests): everything, exactly.
    std::memcpy(out, t.header_.data(), hlen);
    std::memset(out + hlen, 0, size - hlen);  // size >= hlen: check_stream_spec()
  } else {
    if (!headers_there) {
      // One fixed-size copy (the template is zero after the headers) and a
      // fixed 32-byte clear up to kCleanFrom instead of variable ones.
      std::memcpy(out, t.header_.data(), kMaxHeader);
      std::memset(out + kMaxHeader, 0, kCleanFrom - kMaxHeader);
    } else if (size < hlen + kSignatureSize) {
      std::memset(out + hlen, 0, size - hlen);  // no signature: an older frame's may be there
    }
    if (size > zero_to && size > kCleanFrom) {
      const uint32_t from = std::max(zero_to, kCleanFrom);
      std::memset(out + from, 0, size - from);
      zero_to = size;
    }
  }
  const uint8_t* ref = t.header_.data();
  uint8_t* ip = out + t.l3_;
  uint8_t* l4 = out + t.l4_;
  constexpr uint32_t kCsumAt = kUdp ? 6 : 16;
  // RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), with every change summed into
  // one accumulator and folded once at the end (one's complement addition is
  // associative; 32-bit words fold into the same 16-bit sum as their halves).
  uint64_t l4_acc = static_cast<uint16_t>(~load_be16(ref + t.l4_ + kCsumAt));
  uint64_t ip_acc = kIpv4 ? static_cast<uint16_t>(~load_be16(ref + t.l3_ + 10)) : 0;
  const auto change16 = [](uint64_t& acc, uint16_t old_v, uint16_t new_v) {
    acc += static_cast<uint16_t>(~old_v);
    acc += new_v;
  };
  const auto change32 = [](uint64_t& acc, uint32_t old_v, uint32_t new_v) {
    acc += ~old_v;
    acc += new_v;
  };
  const auto fold = [](uint64_t acc) {
    acc = (acc & 0xffffffff) + (acc >> 32);
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<uint16_t>(~acc);
  };

  const auto l4_len = static_cast<uint16_t>(size - t.l4_);
  change16(l4_acc, t.l4_header_, l4_len);  // pseudo-header length
  if constexpr (kUdp) {
    store_be16(l4 + 4, l4_len);
    change16(l4_acc, t.l4_header_, l4_len);
  }
  if constexpr (kIpv4) {
    const auto total = static_cast<uint16_t>(size - t.l3_);
    store_be16(ip + 2, total);
    change16(ip_acc, t.ref_l3_len_, total);
  } else {
    store_be16(ip + 4, l4_len);  // IPv6 payload length: not in any checksum but
                                 // the pseudo-header
  }

  const FlowFields f = t.packet_fields(seq);
  const auto set_address = [&](uint16_t at, uint32_t base, uint32_t v) {
    store_be32(out + at, v);
    change32(l4_acc, base, v);
    if constexpr (kIpv4) change32(ip_acc, base, v);
  };
  set_address(t.ip_src_low_, t.src_ip_.base, f.src_ip);
  set_address(t.ip_dst_low_, t.dst_ip_.base, f.dst_ip);
  store_be16(l4, f.src_port);
  change16(l4_acc, static_cast<uint16_t>(t.src_port_.base), f.src_port);
  store_be16(l4 + 2, f.dst_port);
  change16(l4_acc, static_cast<uint16_t>(t.dst_port_.base), f.dst_port);
  if constexpr (kIpv4) store_be16(ip + 10, fold(ip_acc));
  if constexpr (kGtpu) {
    uint8_t* outer = out + t.outer_l3_;
    const auto outer_total = static_cast<uint16_t>(size - t.outer_l3_);
    uint64_t outer_acc = static_cast<uint16_t>(~load_be16(ref + t.outer_l3_ + 10));
    change16(outer_acc, t.ref_outer_len_, outer_total);
    store_be16(outer + 2, outer_total);
    store_be16(outer + 10, fold(outer_acc));
    store_be16(outer + 20 + 4, static_cast<uint16_t>(outer_total - 20));  // outer UDP length
    store_be16(out + t.gtpu_ + 2, static_cast<uint16_t>(size - t.gtpu_ - 8));  // after the mandatory 8
    store_be32(out + t.gtpu_ + 4, f.teid);
  }

  const bool sum = !kUdp || t.l4_checksum_;
  if (size >= hlen + kSignatureSize) {
    uint8_t* sig = out + hlen;  // even offset from the L4 header: 16-bit aligned for the sum
    write_signature(sig, Signature{t.id_, static_cast<uint32_t>(seq), tsc});
    if (sum) {
      // The signature's four 32-bit words as they read big-endian, from the
      // values rather than loaded back: a word load over the byte stores just
      // made cannot be forwarded from the store buffer and stalls.
      l4_acc += uint32_t{kSignatureMagic} << 16 | t.id_;
      l4_acc += static_cast<uint32_t>(seq);
      const uint64_t wire_tsc = host_tsc_as_big_endian(tsc);
      l4_acc += static_cast<uint32_t>(wire_tsc >> 32);
      l4_acc += static_cast<uint32_t>(wire_tsc);
    }
  }
  if (sum) {
    uint16_t l4_ck = fold(l4_acc);
    if constexpr (kUdp) {
      if (l4_ck == 0) l4_ck = 0xffff;  // RFC 768: 0 means "no checksum"
    }
    store_be16(l4 + kCsumAt, l4_ck);
  }
  return size;
}

}  // namespace nfvgen
