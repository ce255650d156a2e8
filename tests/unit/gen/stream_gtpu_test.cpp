// StreamTemplate, the later features: GTP-U streams (compared byte for byte
// with a frame PacketBuilder makes from scratch, and decoded with the SDK's
// parsers), per-packet random fields (recomputed here from the documented
// formula), warm-buffer writes (the same bytes as a cold write), UDP
// checksum off, and the receive side finding GTP-U signatures.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "nfv/net/byte_order.hpp"
#include "nfv/net/checksum.hpp"
#include "nfv/net/gtpu.hpp"
#include "nfv/net/packet_builder.hpp"
#include "nfv/net/packet_info.hpp"
#include "rx_tracker.hpp"
#include "stream.hpp"
#include "stream_config.hpp"

using namespace nfvgen;
using nfv::net::load_be16;
using nfv::net::load_be32;

namespace {

constexpr uint64_t kTsc0 = 0x0102030405060708ULL;

StreamTemplate build(const StreamSpec& s) {
  auto t = StreamTemplate::build(s);
  REQUIRE_MESSAGE(t.ok(), t.error().message);
  return std::move(t).value();
}

StreamSpec spec(const char* text) {
  auto s = parse_stream_option(text, 3);
  REQUIRE_MESSAGE(s.ok(), s.error().message);
  return std::move(s).value();
}

std::vector<uint8_t> cold(const StreamTemplate& t, uint64_t seq, uint64_t tsc) {
  std::vector<uint8_t> f(2048, 0xa5);  // not zero: write() must not rely on a clean buffer
  const uint32_t n = t.write(f.data(), static_cast<uint32_t>(f.size()), seq, tsc);
  REQUIRE(n != 0);
  f.resize(n);
  return f;
}

// splitmix64's finaliser, as docs/nfv-gen.md gives it.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint32_t per_packet(uint64_t seed, uint64_t field, uint32_t base, uint32_t count, uint64_t seq) {
  const uint64_t salt = mix(seed + field) | 1;
  return base + static_cast<uint32_t>(((mix(salt ^ seq) >> 32) * count) >> 32);
}

}  // namespace

TEST_CASE("GTP-U: every frame equals the one PacketBuilder makes from scratch") {
  for (const char* text : {"gtpu,teid=1000+16,src=10.0.0.1+4,dport=2000+3,size=100..140",
                           "gtpu,teid=7,qfi=9,vlan=12,outer_src=172.16.0.1,outer_dst=172.16.0.2,size=128",
                           "gtpu,tcp,src=2001:db8::1,dst=2001:db8::2+5,teid=5?1000,size=110-400"}) {
    const std::string shown = text;
    CAPTURE(shown);
    const StreamSpec s = spec(text);
    const StreamTemplate t = build(s);
    for (uint64_t seq = 0; seq < 300; ++seq) {
      CAPTURE(seq);
      const auto got = cold(t, seq, kTsc0 + seq);
      const FlowFields f = t.packet_fields(seq);
      // The same frame from scratch: headers, the signature, zeros.
      std::vector<uint8_t> want(2048);
      nfv::net::PacketBuilder b(want);
      b.ethernet(s.dst_mac, s.src_mac);
      if (s.vlan) b.vlan(nfv::net::VlanTag::make(*s.vlan, s.vlan_pcp));
      b.ipv4({.src = s.outer_src_ip4, .dst = s.outer_dst_ip4, .ttl = s.ttl});
      b.udp(2152, 2152, true);
      b.gtpu({.teid = f.teid, .qfi = s.qfi, .pdu_type = 1});
      if (s.l3 == L3Proto::ipv4) {
        b.ipv4({.src = f.src_ip, .dst = f.dst_ip, .ttl = s.ttl});
      } else {
        auto src = s.src_ip6, dst = s.dst_ip6;
        nfv::net::store_be32(src.data() + 12, f.src_ip);
        nfv::net::store_be32(dst.data() + 12, f.dst_ip);
        b.ipv6({.src = src, .dst = dst, .hop_limit = s.ttl});
      }
      if (s.l4 == L4Proto::udp) {
        b.udp(f.src_port, f.dst_port);
      } else {
        b.tcp({.src_port = f.src_port, .dst_port = f.dst_port,
               .flags = static_cast<uint8_t>(nfv::net::tcp_flag::ack | nfv::net::tcp_flag::psh)});
      }
      const uint32_t hlen = t.header_size();
      std::vector<uint8_t> payload(got.size() - hlen, 0);
      if (t.has_signature(static_cast<uint32_t>(got.size())))
        write_signature(payload.data(), {s.id, static_cast<uint32_t>(seq), kTsc0 + seq});
      b.payload(payload);
      const auto len = b.finish(0);
      REQUIRE(len.has_value());
      REQUIRE(*len == got.size());
      want.resize(*len);
      CHECK(got == want);

      // And decoded: the TEID the spec says, the inner packet inside.
      const auto outer = nfv::net::parse_packet(got.data(), got.size());
      REQUIRE(outer.ok());
      CHECK(outer.tunnel_type == nfv::net::TunnelType::gtpu);
      CHECK(outer.src_ip4() == s.outer_src_ip4);
      CHECK(load_be16(got.data() + outer.l4_offset + 6) == 0);  // outer UDP checksum 0
      const uint32_t flow = static_cast<uint32_t>(seq % s.flows);
      if (s.teid_vary.mode == Vary::increment) CHECK(outer.tunnel_id == s.teid + flow % s.teid_vary.count);
      if (s.teid_vary.mode == Vary::fixed) CHECK(outer.tunnel_id == s.teid);
      if (s.teid_vary.mode == Vary::random_packet)
        CHECK(outer.tunnel_id == per_packet(s.seed, 5, s.teid, s.teid_vary.count, seq));
      if (s.qfi) CHECK(outer.qfi == *s.qfi);
      const auto inner = nfv::net::parse_inner(got.data(), got.size(), outer);
      REQUIRE(inner.ok());
      CHECK(inner.payload_offset == t.signature_offset());
      CHECK(inner.dst_port == f.dst_port);
    }
  }
}

TEST_CASE("GTP-U: spec checks and defaults") {
  CHECK(spec("gtpu").size.min == 128);  // 94 bytes of headers and signature need more than 64
  CHECK(spec("gtpu,teid=1+8").flows == 8);
  CHECK(!parse_stream_option("udp,teid=5").ok());  // TEID without gtpu
  CHECK(!parse_stream_option("gtpu,qfi=64").ok());
  CHECK(!parse_stream_option("gtpu,size=64").ok());
  const auto e = parse_stream_option("gtpu,size=70");
  REQUIRE(!e.ok());
  CHECK(e.error().message.find("IPv4+UDP+GTP-U+IPv4+UDP") != std::string::npos);
  CHECK(!parse_stream_option("gtpu,gtpu").ok());
}

TEST_CASE("?COUNT: a seeded uniform draw per packet, reproducible, within range") {
  StreamSpec s = spec("udp,src=10.0.0.0?256,dport=5000?100,sport=7,seed=42");
  CHECK(s.src_ip_vary.mode == Vary::random_packet);
  CHECK(s.flows == 1);  // per-packet fields do not make flows
  const StreamTemplate a = build(s), b = build(s);
  std::set<uint32_t> srcs, dports;
  for (uint64_t seq = 0; seq < 20000; ++seq) {
    const FlowFields f = a.packet_fields(seq);
    REQUIRE(f.src_ip == per_packet(42, 1, 0x0a000000, 256, seq));
    REQUIRE(f.dst_port == per_packet(42, 4, 5000, 100, seq));
    REQUIRE(f.src_port == 7);
    srcs.insert(f.src_ip);
    dports.insert(f.dst_port);
    if (seq < 200) REQUIRE(cold(a, seq, seq) == cold(b, seq, seq));
  }
  CHECK(srcs.size() == 256);  // uniform: 20000 draws hit every one of 256 values
  CHECK(dports.size() == 100);
  CHECK(*srcs.rbegin() == 0x0a0000ff);
  // Consecutive packets differ (not a per-flow value), and another seed gives other values.
  CHECK(a.packet_fields(0).src_ip != a.packet_fields(1).src_ip);
  s.seed = 43;
  const StreamTemplate c = build(s);
  int same = 0;
  for (uint64_t seq = 0; seq < 100; ++seq) same += c.packet_fields(seq).src_ip == a.packet_fields(seq).src_ip;
  CHECK(same < 10);
}

TEST_CASE("writes into reused buffers give the bytes of a fresh write, whoever wrote there before") {
  // Streams of every header length, sizes that grow and shrink, signature-less short frames.
  std::vector<StreamTemplate> ts;
  for (const char* text : {"udp,src=10.0.0.1+1024,size=60-300", "tcp,dst=10.9.0.1?77,size=imix",
                           "udp,udp_checksum=off,size=60..200", "gtpu,teid=1?9,size=96..300",
                           "udp,vlan=5,size=60..70", "gtpu,tcp,qfi=3,vlan=7,src=::1,dst=::2,size=122..1600"})
    ts.push_back(build(spec(text)));
  constexpr int kBuffers = 8;
  std::vector<std::vector<uint8_t>> bufs(kBuffers, std::vector<uint8_t>(2164, 0x5a));
  std::vector<int> owner(kBuffers, -1);
  std::vector<uint32_t> zero_to(kBuffers, 0);
  std::vector<uint64_t> seq(ts.size(), 0);
  uint64_t x = 12345, same = 0;
  for (int i = 0; i < 20000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const int b = static_cast<int>((x >> 33) % kBuffers);
    // Mostly the buffer's own stream again (as a one-stream run), sometimes another.
    const int s = (x >> 20) % 4 == 0 ? static_cast<int>((x >> 40) % ts.size()) : std::max(owner[b], 0);
    CAPTURE(i);
    CAPTURE(s);
    const uint64_t q = seq[s]++;
    same += owner[b] == s;
    const uint32_t n = ts[s].write(bufs[b].data(), 2164, q, kTsc0 ^ q, owner[b] == s, zero_to[b]);
    owner[b] = s;
    REQUIRE(n != 0);
    const auto want = cold(ts[s], q, kTsc0 ^ q);
    REQUIRE(std::equal(want.begin(), want.end(), bufs[b].begin(), bufs[b].begin() + n));
  }
  CHECK(same > 10000);
}

TEST_CASE("udp_checksum=off: the checksum field is 0, everything else as before") {
  const StreamSpec on = spec("udp,src=10.0.0.1+8,size=100");
  const StreamSpec off = spec("udp,src=10.0.0.1+8,size=100,udp_checksum=off");
  CHECK(!off.udp_checksum);
  const StreamTemplate a = build(on), b = build(off);
  for (uint64_t seq = 0; seq < 16; ++seq) {
    auto x = cold(a, seq, 1), y = cold(b, seq, 1);
    CHECK(load_be16(y.data() + 34 + 6) == 0);
    CHECK(load_be16(x.data() + 34 + 6) != 0);
    CHECK(nfv::net::internet_checksum(y.data() + 14, 20) == 0);
    x[34 + 6] = x[34 + 7] = 0;
    CHECK(x == y);
  }
  CHECK(!parse_stream_option("udp,src=::1,dst=::2,udp_checksum=off").ok());  // IPv6 needs it
  CHECK(!parse_stream_option("tcp,udp_checksum=off").ok());
  CHECK(!parse_stream_option("udp,udp_checksum=maybe").ok());
  auto toml = parse_stream_config("[[stream]]\nudp_checksum = false\n", "t.toml");
  REQUIRE(toml.ok());
  CHECK(!(*toml)[0].udp_checksum);
}

TEST_CASE("the receive side finds the signature inside GTP-U") {
  const StreamSpec s = spec("gtpu,teid=100+4,size=150");
  const StreamTemplate t = build(s);
  auto rx = RxTracker::create({.max_streams = 8, .tsc_hz = 1'000'000'000});
  REQUIRE(rx.ok());
  for (uint64_t seq = 0; seq < 10; ++seq) {
    if (seq == 4) continue;  // one lost
    const auto f = cold(t, seq, 1000 + seq);
    rx->on_frame(f.data(), static_cast<uint32_t>(f.size()), 5000);
  }
  const StreamRxStats st = rx->final_stats(s.id, 10);
  CHECK(rx->totals().untracked == 0);
  CHECK(st.received == 9);
  CHECK(st.lost == 1);
  CHECK(st.latency.count == 9);
}
