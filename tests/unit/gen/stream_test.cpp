// StreamTemplate: frames written for several specs go through a pcap file,
// are read back and decoded with parse_packet(); every field must be what the
// spec says for that seq, and the checksums must verify from scratch.
#include "stream.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "nfv/net/byte_order.hpp"
#include "nfv/net/checksum.hpp"
#include "nfv/net/packet_builder.hpp"
#include "nfv/net/packet_info.hpp"
#include "pcap_file.hpp"

using namespace nfvgen;
using nfv::MacAddress;
using nfv::net::load_be16;
using nfv::net::load_be32;

namespace {

constexpr uint64_t kTsc0 = 0x1122334455667788ULL;

StreamTemplate build(const StreamSpec& s) {
  auto t = StreamTemplate::build(s);
  REQUIRE_MESSAGE(t.ok(), t.error().message);
  return std::move(t).value();
}

// Writes packets 0..n-1 to a pcap file and reads them back.
std::vector<std::vector<uint8_t>> through_pcap(const StreamTemplate& t, uint64_t n) {
  std::vector<std::vector<uint8_t>> frames;
  for (uint64_t seq = 0; seq < n; ++seq) {
    std::vector<uint8_t> buf(kMaxFrameSize);
    const uint32_t len = t.write(buf.data(), static_cast<uint32_t>(buf.size()), seq, kTsc0 + seq);
    REQUIRE(len != 0);
    buf.resize(len);
    frames.push_back(std::move(buf));
  }
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("nfv-gen-stream-" + std::to_string(::getpid()) + ".pcap"))
                               .string();
  REQUIRE(nfv::net::test::write_pcap(path, frames));
  auto file = nfv::net::test::read_pcap(path);
  std::filesystem::remove(path);
  REQUIRE(file.has_value());
  CHECK(file->link_type == 1);
  REQUIRE(file->frames.size() == n);
  return std::move(file->frames);
}

// The value a varied field must have for `flow` (random: within its range).
bool field_ok(uint32_t got, uint32_t base, FieldVariation v, uint32_t flow) {
  if (v.mode == Vary::fixed) return got == base;
  if (v.mode == Vary::increment) return got == base + flow % v.count;
  return got - base < v.count;
}

uint32_t expected_size(const FrameSize& z, uint64_t seq) {
  switch (z.mode) {
    case SizeMode::fixed:
      return z.min;
    case SizeMode::increment:
      return z.min + static_cast<uint32_t>(seq % (z.max - z.min + 1));
    case SizeMode::imix:
      return kImixCycle[seq % 12];
    case SizeMode::uniform:
      return 0;  // checked against the range instead
  }
  return 0;
}

void check_frame(const StreamSpec& s, const StreamTemplate& t, uint64_t seq,
                 const std::vector<uint8_t>& f) {
  CAPTURE(seq);
  const uint8_t* p = f.data();
  const auto size = static_cast<uint32_t>(f.size());
  if (s.size.mode == SizeMode::uniform) {
    CHECK(size >= s.size.min);
    CHECK(size <= s.size.max);
    CHECK(size == t.frame_size(seq));
  } else {
    CHECK(size == expected_size(s.size, seq));
  }
  const nfv::net::PacketInfo info = nfv::net::parse_packet(p, f.size());
  REQUIRE(info.ok());
  CHECK(MacAddress::from_bytes(p) == s.dst_mac);
  CHECK(MacAddress::from_bytes(p + 6) == s.src_mac);
  CHECK(info.vlan_count == (s.vlan ? 1 : 0));
  if (s.vlan) {
    CHECK(info.vlan_ids[0] == *s.vlan);
    CHECK((p[14] >> 5) == s.vlan_pcp);
  }
  const uint8_t proto = s.l4 == L4Proto::udp ? 17 : 6;
  CHECK(info.ip_protocol == proto);
  CHECK(info.ttl == s.ttl);
  REQUIRE(info.has_l4());
  const uint32_t flow = static_cast<uint32_t>(seq % s.flows);
  CHECK(field_ok(info.src_port, s.src_port, s.src_port_vary, flow));
  CHECK(field_ok(info.dst_port, s.dst_port, s.dst_port_vary, flow));
  const uint8_t* ip = p + info.l3_offset;
  const uint8_t* l4 = p + info.l4_offset;
  const uint32_t l4_len = size - info.l4_offset;
  if (s.l3 == L3Proto::ipv4) {
    REQUIRE(info.l3_type == nfv::net::L3Type::ipv4);
    CHECK(field_ok(info.src_ip4(), s.src_ip4, s.src_ip_vary, flow));
    CHECK(field_ok(info.dst_ip4(), s.dst_ip4, s.dst_ip_vary, flow));
    CHECK(load_be16(ip + 2) == size - info.l3_offset);
    CHECK(nfv::net::internet_checksum(ip, 20) == 0);
    CHECK(nfv::net::l4_checksum_ipv4(l4, l4_len, info.src_ip4(), info.dst_ip4(), proto) == 0);
  } else {
    REQUIRE(info.l3_type == nfv::net::L3Type::ipv6);
    CHECK(std::equal(ip + 8, ip + 20,
                     s.src_ip6.begin()));  // upper 96 bits never vary
    CHECK(std::equal(ip + 24, ip + 36, s.dst_ip6.begin()));
    CHECK(field_ok(load_be32(ip + 20), load_be32(s.src_ip6.data() + 12), s.src_ip_vary, flow));
    CHECK(field_ok(load_be32(ip + 36), load_be32(s.dst_ip6.data() + 12), s.dst_ip_vary, flow));
    CHECK(load_be16(ip + 4) == l4_len);
    CHECK(nfv::net::l4_checksum_ipv6(l4, l4_len, ip + 8, ip + 24, proto) == 0);
  }
  if (s.l4 == L4Proto::udp) {
    CHECK(load_be16(l4 + 4) == l4_len);
    CHECK(load_be16(l4 + 6) != 0);  // always computed
  }
  // The fields agree with the template's own view of the flow.
  const FlowFields ff = t.flow_fields(flow);
  CHECK(ff.src_port == info.src_port);
  CHECK(ff.dst_port == info.dst_port);

  REQUIRE(info.payload_offset == t.signature_offset());
  uint32_t pad_from = t.signature_offset();
  if (t.has_signature(size)) {
    Signature sig{};
    REQUIRE(read_signature(p + info.payload_offset, sig));
    CHECK(sig.stream == s.id);
    CHECK(sig.seq == static_cast<uint32_t>(seq));
    CHECK(sig.tsc == kTsc0 + seq);
    pad_from += kSignatureSize;
  }
  CHECK(std::all_of(p + pad_from, p + size, [](uint8_t b) { return b == 0; }));
}

void check_stream(const StreamSpec& s, uint64_t n) {
  const StreamTemplate t = build(s);
  const auto frames = through_pcap(t, n);
  for (uint64_t seq = 0; seq < n; ++seq) check_frame(s, t, seq, frames[seq]);
}

StreamSpec ipv6_spec(L4Proto l4) {
  StreamSpec s;
  s.name = "v6";
  s.id = 6;
  s.l3 = L3Proto::ipv6;
  s.l4 = l4;
  s.src_ip6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xf0};
  s.dst_ip6 = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return s;
}

}  // namespace

TEST_CASE("IPv4/UDP, VLAN, IMIX, incrementing addresses and ports over 1024 flows") {
  StreamSpec s;
  s.name = "imix";
  s.id = 42;
  s.vlan = 100;
  s.vlan_pcp = 5;
  s.src_ip_vary = {Vary::increment, 1024};
  s.dst_port_vary = {Vary::increment, 16};
  s.src_port = 1000;
  s.dst_port = 2000;
  s.flows = 1024;
  s.size = {SizeMode::imix, 0, 0};
  check_stream(s, 2 * 1024 + 7);

  const StreamTemplate t = build(s);
  int count60 = 0, count566 = 0, count1514 = 0;
  for (uint64_t seq = 0; seq < 12; ++seq) {
    const uint32_t z = t.frame_size(seq);
    count60 += z == 60;
    count566 += z == 566;
    count1514 += z == 1514;
    CHECK(t.frame_size(seq + 12 * 1000) == z);  // a 12-packet cycle
  }
  CHECK(count60 == 7);
  CHECK(count566 == 4);
  CHECK(count1514 == 1);
  // 14 + 4 + 20 + 8 + 16 = 62: no signature at 60 bytes with a VLAN tag.
  CHECK(t.signature_offset() == 46);
  CHECK_FALSE(t.has_signature(60));
  CHECK(t.has_signature(62));
}

TEST_CASE(
    "IPv4/UDP random fields: reproducible, within range, signature at 60 "
    "bytes") {
  StreamSpec s;
  s.id = 7;
  s.src_ip_vary = {Vary::random, 1u << 20};
  s.dst_ip_vary = {Vary::random, 256};
  s.src_port_vary = {Vary::random, 60000};
  s.dst_port = 5000;
  s.dst_port_vary = {Vary::random, 10};
  s.flows = 500;
  s.size = {SizeMode::fixed, 60, 60};
  check_stream(s, 1000);

  const StreamTemplate a = build(s), b = build(s);
  CHECK(a.has_signature(60));  // 14 + 20 + 8 + 16 = 58
  std::set<uint32_t> sources;
  for (uint64_t seq = 0; seq < 500; ++seq) {
    uint8_t x[64], y[64];
    REQUIRE(a.write(x, sizeof x, seq, seq) == 60);
    REQUIRE(b.write(y, sizeof y, seq, seq) == 60);
    CHECK(std::equal(x, x + 60, y));
    sources.insert(a.flow_fields(a.flow(seq)).src_ip);
  }
  CHECK(sources.size() > 490);  // 500 draws from 2^20 values: few collisions
  s.seed = 2;
  CHECK(build(s).flow_fields(3).src_ip != a.flow_fields(3).src_ip);
}

TEST_CASE(
    "IPv4/UDP uniform and incrementing size ranges keep lengths and "
    "checksums right") {
  StreamSpec s;
  s.src_port_vary = {Vary::increment, 100};
  s.flows = 100;
  s.size = {SizeMode::uniform, 60, 9000};
  check_stream(s, 600);
  s.size = {SizeMode::increment, 60, 1514};
  check_stream(s, 1600);
}

TEST_CASE("IPv4/TCP and IPv6/UDP/TCP: checksums over the pseudo-header, lengths") {
  StreamSpec v4tcp;
  v4tcp.l4 = L4Proto::tcp;
  v4tcp.dst_ip_vary = {Vary::increment, 300};
  v4tcp.flows = 300;
  v4tcp.size = {SizeMode::increment, 60, 200};
  check_stream(v4tcp, 700);

  StreamSpec v6udp = ipv6_spec(L4Proto::udp);
  v6udp.vlan = 7;
  v6udp.src_ip_vary = {Vary::increment, 64};  // crosses ...ff:fff0 -> low-32-bit wrap
  v6udp.dst_port_vary = {Vary::random, 1000};
  v6udp.flows = 64;
  v6udp.size = {SizeMode::increment, 66, 99};  // IMIX's 60 bytes cannot hold IPv6 (see below)
  check_stream(v6udp, 300);

  StreamSpec v6tcp = ipv6_spec(L4Proto::tcp);
  v6tcp.dst_ip_vary = {Vary::random, 1000};
  v6tcp.flows = 50;
  v6tcp.size = {SizeMode::uniform, 74, 1514};
  check_stream(v6tcp, 400);
  const StreamTemplate t = build(v6tcp);
  CHECK_FALSE(t.has_signature(74));  // 14 + 40 + 20: no room for the signature
  CHECK(t.has_signature(90));
}

TEST_CASE("write() equals a frame built from scratch with PacketBuilder") {
  StreamSpec s = ipv6_spec(L4Proto::tcp);
  s.vlan = 300;
  s.vlan_pcp = 2;
  s.src_port_vary = {Vary::increment, 8};
  s.dst_ip_vary = {Vary::random, 77};
  s.flows = 8;
  s.size = {SizeMode::increment, 100, 130};
  const StreamTemplate t = build(s);
  for (uint64_t seq = 0; seq < 40; ++seq) {
    CAPTURE(seq);
    uint8_t got[256], want[256];
    const uint32_t len = t.write(got, sizeof got, seq, kTsc0);
    const FlowFields ff = t.flow_fields(t.flow(seq));
    nfv::net::Ipv6Fields ip{.src = s.src_ip6, .dst = s.dst_ip6};
    nfv::net::store_be32(ip.src.data() + 12, ff.src_ip);
    nfv::net::store_be32(ip.dst.data() + 12, ff.dst_ip);
    uint8_t payload[256] = {};
    write_signature(payload, {s.id, static_cast<uint32_t>(seq), kTsc0});
    nfv::net::PacketBuilder b(want);
    b.ethernet(s.dst_mac, s.src_mac)
        .vlan(nfv::net::VlanTag::make(300, 2))
        .ipv6(ip)
        .tcp({.src_port = ff.src_port, .dst_port = ff.dst_port, .flags = 0x18})
        .payload({payload, len - t.header_size()});
    REQUIRE(b.finish(0) == len);
    CHECK(std::equal(got, got + len, want));
  }
}

TEST_CASE("UDP checksum is never sent as 0") {
  StreamSpec s;
  s.src_port_vary = {Vary::random, 65000};
  s.src_port = 0;
  s.flows = 65536;
  s.size = {SizeMode::fixed, 60, 60};
  const StreamTemplate t = build(s);
  uint8_t f[64];
  int ffff = 0;
  for (uint64_t seq = 0; seq < 300000; ++seq) {
    REQUIRE(t.write(f, sizeof f, seq, seq * 0x9e3779b97f4a7c15ULL) == 60);
    const uint16_t ck = load_be16(f + 40);
    REQUIRE(ck != 0);
    if (ck == 0xffff) {
      ++ffff;
      CHECK(nfv::net::l4_checksum_ipv4(f + 34, 26, load_be32(f + 26), load_be32(f + 30), 17) == 0);
    }
  }
  CHECK(ffff > 0);  // about 300000 / 65536 expected
}

TEST_CASE("write() into too small a buffer writes nothing and returns 0") {
  StreamSpec s;
  s.size = {SizeMode::fixed, 128, 128};
  const StreamTemplate t = build(s);
  std::vector<uint8_t> buf(127, 0xaa);
  CHECK(t.write(buf.data(), 127, 0, 0) == 0);
  CHECK(std::all_of(buf.begin(), buf.end(), [](uint8_t b) { return b == 0xaa; }));
  CHECK(t.max_frame_size() == 128);
}

TEST_CASE("bad specs are rejected with a message saying what to change") {
  const auto error_of = [](const StreamSpec& s) {
    auto t = StreamTemplate::build(s);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().code == nfv::Errc::invalid_argument);
    return t.error().message;
  };
  StreamSpec s = ipv6_spec(L4Proto::tcp);
  s.vlan = 1;
  s.size = {SizeMode::fixed, 60, 60};
  CHECK(error_of(s) ==
        "stream 'v6': frame size 60 is too short for the 78 "
        "bytes of Ethernet+VLAN+IPv6+TCP "
        "headers; expected a size of at least 78");
  s.size = {SizeMode::imix, 0, 0};
  CHECK(error_of(s).find("frame size 60 is too short") != std::string::npos);

  StreamSpec p;
  p.name = "p";
  p.dst_port = 65530;
  p.dst_port_vary = {Vary::increment, 7};
  CHECK(error_of(p) ==
        "stream 'p': destination port 65530 + 7 values passes 65535; expected a "
        "smaller base or count");
  p.dst_port_vary = {Vary::increment, 6};
  CHECK(StreamTemplate::build(p).ok());
  p.flows = 0;
  CHECK(error_of(p) == "stream 'p': flows is 0; expected at least 1 flow");
  p.flows = 1;
  p.size = {SizeMode::uniform, 200, 100};
  CHECK(error_of(p) ==
        "stream 'p': frame size range 200..100; expected a <= "
        "b, both in 60..9000");
  p.size = {SizeMode::fixed, 9001, 9001};
  CHECK(error_of(p) == "stream 'p': frame size 9001; expected 60..9000");
}
