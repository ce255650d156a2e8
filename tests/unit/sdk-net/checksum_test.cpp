// Checksums: RFC 1071 examples, a reference implementation on random data,
// pseudo-headers, and RFC 1624 incremental updates against recomputation.
#include "nfv/net/checksum.hpp"

#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "frames.hpp"
#include "nfv/net/byte_order.hpp"
#include "nfv/net/packet_info.hpp"

using namespace nfv::net;

namespace {

// RFC 1071 §4.1 "C" reference, word by word, big-endian.
uint16_t reference_checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t{p[i]} << 8 | p[i + 1];
  if (n & 1) sum += uint32_t{p[n - 1]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// Two representations of zero in one's complement: 0x0000 and 0xffff.
bool same_checksum(uint16_t a, uint16_t b) {
  return a == b || ((a == 0 || a == 0xffff) && (b == 0 || b == 0xffff));
}

}  // namespace

TEST_CASE("internet_checksum matches the RFC 1071 §3 example") {
  const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  CHECK(checksum_fold(checksum_add(data, sizeof data)) == 0xddf2);
  CHECK(internet_checksum(data, sizeof data) == static_cast<uint16_t>(~0xddf2));
  CHECK(internet_checksum(data, 0) == 0xffff);
  const uint8_t odd[] = {0xab};
  CHECK(internet_checksum(odd, 1) == static_cast<uint16_t>(~0xab00));
}

TEST_CASE("internet_checksum equals the reference for every length and alignment") {
  std::mt19937 rng(1071);
  std::vector<uint8_t> buf(1600);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t start = 0; start < 8; ++start) {
    for (size_t len = 0; len <= 300; ++len) {
      REQUIRE(internet_checksum(buf.data() + start, len) ==
              reference_checksum(buf.data() + start, len));
    }
  }
  CHECK(internet_checksum(buf.data() + 3, 1500) == reference_checksum(buf.data() + 3, 1500));
  std::vector<uint8_t> ones(4096, 0xff);  // many carries
  CHECK(internet_checksum(ones.data(), ones.size()) ==
        reference_checksum(ones.data(), ones.size()));
}

TEST_CASE("checksum_add over pieces equals one pass when pieces are even") {
  std::mt19937 rng(7);
  std::vector<uint8_t> buf(999);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  uint32_t sum = checksum_add(buf.data(), 100);
  sum = checksum_add(buf.data() + 100, 402, sum);
  sum = checksum_add(buf.data() + 502, 497, sum);
  CHECK(checksum_finish(sum) == internet_checksum(buf.data(), buf.size()));
}

TEST_CASE("ipv4_header_checksum: a known header and a verify of zero") {
  // 45 00 00 73 00 00 40 00 40 11 [b8 61] c0 a8 00 01 c0 a8 00 c7
  uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  CHECK(ipv4_header_checksum(h, sizeof h) == 0xb861);
  store_be16(h + 10, 0xb861);
  CHECK(ipv4_header_checksum(h, sizeof h) == 0xb861);  // the field is ignored
  CHECK(internet_checksum(h, sizeof h) == 0);
}

TEST_CASE("builder checksums verify over the pseudo-headers") {
  for (const auto& named : test::good_frames()) {
    CAPTURE(named.name);
    const auto& frame = named.bytes;
    REQUIRE(!frame.empty());
    PacketInfo info = parse_packet(frame.data(), frame.size());
    REQUIRE(info.ok());
    if (!info.has_l4() || (info.flags & packet_flag::fragment)) continue;
    const uint8_t* l3 = frame.data() + info.l3_offset;
    const uint8_t* l4 = frame.data() + info.l4_offset;
    if (info.l3_type == L3Type::ipv4) {
      const size_t l4_len = load_be16(l3 + 2) - (info.l4_offset - info.l3_offset);
      CHECK(internet_checksum(l3, size_t{l3[0] & 0xfu} * 4) == 0);
      if (info.ip_protocol == ip_proto::icmp) {
        CHECK(internet_checksum(l4, l4_len) == 0);
      } else if (!(info.ip_protocol == ip_proto::udp && load_be16(l4 + 6) == 0)) {
        CHECK(l4_checksum_ipv4(l4, l4_len, info.src_ip4(), info.dst_ip4(), info.ip_protocol) == 0);
      }
    } else {
      const size_t l4_len = 40 + load_be16(l3 + 4) - (info.l4_offset - info.l3_offset);
      CHECK(l4_checksum_ipv6(l4, l4_len, l3 + 8, l3 + 24, info.ip_protocol) == 0);
    }
  }
}

TEST_CASE("checksum_update16/32 equal recomputation on random data") {
  std::mt19937 rng(1624);
  std::vector<uint8_t> buf(64);
  for (int iter = 0; iter < 20000; ++iter) {
    const size_t len = 2 + 2 * (rng() % 32);
    for (size_t i = 0; i < len; ++i) buf[i] = static_cast<uint8_t>(rng());
    if (iter % 7 == 0) std::fill(buf.begin(), buf.begin() + static_cast<long>(len), 0xff);
    const uint16_t before = internet_checksum(buf.data(), len);

    const size_t at16 = 2 * (rng() % (len / 2));
    const uint16_t old16 = load_be16(buf.data() + at16);
    const uint16_t new16 =
        iter % 5 == 0 ? static_cast<uint16_t>(~old16) : static_cast<uint16_t>(rng());
    store_be16(buf.data() + at16, new16);
    const uint16_t full16 = internet_checksum(buf.data(), len);
    const uint16_t inc16 = checksum_update16(before, old16, new16);
    REQUIRE(same_checksum(inc16, full16));

    if (len < 4) continue;
    const size_t at32 = 2 * (rng() % ((len - 2) / 2));
    const uint32_t old32 = load_be32(buf.data() + at32);
    const uint32_t new32 = static_cast<uint32_t>(rng());
    store_be32(buf.data() + at32, new32);
    const uint16_t full32 = internet_checksum(buf.data(), len);
    REQUIRE(same_checksum(checksum_update32(full16, old32, new32), full32));
    // Unless the data became all zeros, eqn. 3 gives exactly what recomputation does.
    bool all_zero = true;
    for (size_t i = 0; i < len; ++i) all_zero = all_zero && buf[i] == 0;
    if (!all_zero) REQUIRE(checksum_update32(full16, old32, new32) == full32);
  }
}

TEST_CASE("checksum_update_bytes follows a rewritten IPv6 address") {
  std::mt19937 rng(66);
  std::vector<uint8_t> buf(80);
  for (int iter = 0; iter < 2000; ++iter) {
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    const uint16_t before = internet_checksum(buf.data(), buf.size());
    uint8_t old_addr[16];
    std::memcpy(old_addr, buf.data() + 8, 16);
    for (size_t i = 8; i < 24; ++i) buf[i] = static_cast<uint8_t>(rng());
    REQUIRE(checksum_update_bytes(before, old_addr, buf.data() + 8, 16) ==
            internet_checksum(buf.data(), buf.size()));
  }
}

TEST_CASE("NAT rewrite: incremental IPv4 and TCP checksums equal recomputation") {
  // A source NAT: new source address and port; the IP header checksum covers
  // the address, the TCP checksum covers both through the pseudo-header.
  auto frames = test::good_frames();
  auto frame = frames[1].bytes;  // vlan-ipv4-tcp-syn
  PacketInfo info = parse_packet(frame.data(), frame.size());
  REQUIRE(info.ip_protocol == ip_proto::tcp);
  uint8_t* ip = frame.data() + info.l3_offset;
  uint8_t* tcp = frame.data() + info.l4_offset;
  const size_t tcp_len = load_be16(ip + 2) - 20u;

  std::mt19937 rng(3022);
  for (int iter = 0; iter < 1000; ++iter) {
    const uint32_t old_src = load_be32(ip + 12), new_src = static_cast<uint32_t>(rng());
    const uint16_t old_port = load_be16(tcp), new_port = static_cast<uint16_t>(rng());
    store_be32(ip + 12, new_src);
    store_be16(ip + 10, checksum_update32(load_be16(ip + 10), old_src, new_src));
    uint16_t c = checksum_update32(load_be16(tcp + 16), old_src, new_src);
    store_be16(tcp, new_port);
    store_be16(tcp + 16, checksum_update16(c, old_port, new_port));

    REQUIRE(load_be16(ip + 10) == ipv4_header_checksum(ip, 20));
    const uint16_t stored = load_be16(tcp + 16);
    store_be16(tcp + 16, 0);
    REQUIRE(stored == l4_checksum_ipv4(tcp, tcp_len, new_src, load_be32(ip + 16), ip_proto::tcp));
    store_be16(tcp + 16, stored);
  }
}

TEST_CASE("pseudo-header sums match a spelled-out pseudo-header") {
  const uint8_t pseudo4[] = {10, 0, 0, 1, 10, 0, 0, 2, 0, 17, 0x01, 0x00};
  CHECK(checksum_fold(ipv4_pseudo_header_sum(test::kIpA, test::kIpB, 17, 256)) ==
        checksum_fold(checksum_add(pseudo4, sizeof pseudo4)));
  uint8_t pseudo6[40] = {};
  std::memcpy(pseudo6, test::kIp6A.data(), 16);
  std::memcpy(pseudo6 + 16, test::kIp6B.data(), 16);
  store_be32(pseudo6 + 32, 70000);
  pseudo6[39] = 58;
  CHECK(checksum_fold(ipv6_pseudo_header_sum(test::kIp6A.data(), test::kIp6B.data(), 58, 70000)) ==
        checksum_fold(checksum_add(pseudo6, sizeof pseudo6)));
}
