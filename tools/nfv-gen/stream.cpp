// StreamTemplate: built once from a StreamSpec, then write() per packet
// (see stream.hpp for what a packet of the stream holds).
#include "stream.hpp"

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

uint32_t header_size_of(const StreamSpec& s) noexcept {
  return 14u + (s.vlan ? 4u : 0u) + (s.l3 == L3Proto::ipv4 ? 20u : 40u) +
         (s.l4 == L4Proto::udp ? 8u : 20u);
}

std::string headers_name(const StreamSpec& s) {
  std::string n = s.vlan ? "Ethernet+VLAN+" : "Ethernet+";
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
                                  &s.dst_port_vary};
  const char* names[] = {"source address", "destination address", "source port",
                         "destination port"};
  for (int i = 0; i < 4; ++i) {
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

nfv::Result<StreamTemplate> StreamTemplate::build(const StreamSpec& s) {
  if (auto st = check_stream_spec(s); !st) return std::move(st).error();
  StreamTemplate t;
  nfv::net::PacketBuilder b(std::span<uint8_t>(t.header_.data(), t.header_.size()));
  b.ethernet(s.dst_mac, s.src_mac);
  if (s.vlan) b.vlan(nfv::net::VlanTag::make(*s.vlan, s.vlan_pcp));
  if (s.l3 == L3Proto::ipv4) {
    b.ipv4({.src = s.src_ip4, .dst = s.dst_ip4, .ttl = s.ttl});
  } else {
    b.ipv6({.src = s.src_ip6, .dst = s.dst_ip6, .hop_limit = s.ttl});
  }
  if (s.l4 == L4Proto::udp) {
    b.udp(s.src_port, s.dst_port);
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
  t.l3_ = s.vlan ? 18 : 14;
  t.l4_ = static_cast<uint16_t>(t.l3_ + (v4 ? 20 : 40));
  t.l4_header_ = s.l4 == L4Proto::udp ? 8 : 20;
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
    f.salt = v.mode == Vary::random ? (mix(s.seed + n) | 1) : 0;
    return f;
  };
  t.src_ip_ = field(v4 ? s.src_ip4 : load_be32(s.src_ip6.data() + 12), s.src_ip_vary, 1);
  t.dst_ip_ = field(v4 ? s.dst_ip4 : load_be32(s.dst_ip6.data() + 12), s.dst_ip_vary, 2);
  t.src_port_ = field(s.src_port, s.src_port_vary, 3);
  t.dst_port_ = field(s.dst_port, s.dst_port_vary, 4);
  if (v4) {
    t.write_fn_ = s.l4 == L4Proto::udp ? &write_impl<true, true> : &write_impl<true, false>;
  } else {
    t.write_fn_ = s.l4 == L4Proto::udp ? &write_impl<false, true> : &write_impl<false, false>;
  }
  return t;
}

uint32_t StreamTemplate::Field::value(uint32_t flow) const noexcept {
  // The random draw stays a 64-bit modulo of the hash: only random fields pay it.
  const uint64_t k = salt != 0 ? mix(salt ^ flow) % count : mod(flow);
  return base + static_cast<uint32_t>(k);
}

FlowFields StreamTemplate::flow_fields(uint32_t flow) const noexcept {
  return {src_ip_.value(flow), dst_ip_.value(flow), static_cast<uint16_t>(src_port_.value(flow)),
          static_cast<uint16_t>(dst_port_.value(flow))};
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
// every change from it is patched into the checksums with RFC 1624 updates:
// the lengths (IPv4 total length; UDP length, counted twice in the UDP
// checksum: its field and the pseudo-header), the four flow fields (addresses
// are in the IPv4 header checksum and in the L4 pseudo-header) and the
// signature words that replace zero padding. Padding is zero and adds nothing.
// flatten: flow_fields(), value() and the checksum helpers inline into the per-frame path.
template <bool kIpv4, bool kUdp>
[[gnu::flatten]] uint32_t StreamTemplate::write_impl(const StreamTemplate& t, uint8_t* out, uint32_t room,
                                    uint64_t seq, uint64_t tsc) noexcept {
  const uint32_t size = t.frame_size(seq);
  if (size > room) return 0;
  const uint32_t hlen = t.l4_ + uint32_t{t.l4_header_};
  if (room >= kMaxHeader) {
    // One fixed-size copy (the template is zero after the headers) instead of
    // a variable copy and a variable memset; only longer frames need more zeros.
    std::memcpy(out, t.header_.data(), kMaxHeader);
    if (size > kMaxHeader) std::memset(out + kMaxHeader, 0, size - kMaxHeader);
  } else {
    std::memcpy(out, t.header_.data(), hlen);
    std::memset(out + hlen, 0, size - hlen);  // size >= hlen: check_stream_spec()
  }
  uint8_t* ip = out + t.l3_;
  uint8_t* l4 = out + t.l4_;
  constexpr uint32_t kCsumAt = kUdp ? 6 : 16;
  // RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), with every change summed into
  // one accumulator and folded once at the end (one's complement addition is
  // associative; 32-bit words fold into the same 16-bit sum as their halves).
  uint64_t l4_acc = static_cast<uint16_t>(~load_be16(l4 + kCsumAt));
  uint64_t ip_acc = kIpv4 ? static_cast<uint16_t>(~load_be16(ip + 10)) : 0;
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

  const FlowFields f = t.flow_fields(t.flow(seq));
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

  if (size >= hlen + kSignatureSize) {
    uint8_t* sig = out + hlen;  // even offset from the L4 header: 16-bit aligned for the sum
    write_signature(sig, Signature{t.id_, static_cast<uint32_t>(seq), tsc});
    for (uint32_t i = 0; i < kSignatureSize; i += 4) l4_acc += load_be32(sig + i);  // replaces zeros
  }
  uint16_t l4_ck = fold(l4_acc);
  if constexpr (kUdp) {
    if (l4_ck == 0) l4_ck = 0xffff;  // RFC 768: 0 means "no checksum"
  }
  store_be16(l4 + kCsumAt, l4_ck);
  return size;
}

}  // namespace nfvgen
