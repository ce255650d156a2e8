// Fuzz target: checksum invariants on arbitrary data.
//  - checksum_add() equals a word-by-word RFC 1071 reference, whole or in
//    even-sized pieces, at any alignment;
//  - RFC 1624 updates (16-bit, 32-bit, byte ranges) equal recomputation;
//  - a frame PacketBuilder makes around the data verifies, and still does
//    after a NAT-style rewrite patched with incremental updates.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "nfv/net/byte_order.hpp"
#include "nfv/net/checksum.hpp"
#include "nfv/net/packet_builder.hpp"
#include "nfv/net/packet_info.hpp"

using namespace nfv::net;

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

uint16_t reference(const uint8_t* p, size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t{p[i]} << 8 | p[i + 1];
  if (n & 1) sum += uint32_t{p[n - 1]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i]) return false;
  }
  return true;
}

// Equal, except that a sum over all-zero data is 0xffff for recomputation and
// may be 0 for eqn. 3 (both are one's-complement zero).
void require_same(uint16_t incremental, uint16_t full, const uint8_t* data, size_t n) {
  require(incremental == full || (all_zero(data, n) && incremental == 0 && full == 0xffff));
}

void sums(const std::vector<uint8_t>& buf, uint8_t split) {
  const uint8_t* d = buf.data();
  const size_t n = buf.size();
  const uint16_t whole = internet_checksum(d, n);
  require(whole == reference(d, n));
  for (size_t start = 1; start < 4 && start <= n; ++start) {
    require(internet_checksum(d + start, n - start) == reference(d + start, n - start));
  }
  const size_t k = n ? (size_t{split} * 2) % (n + 1) & ~size_t{1} : 0;
  require(checksum_finish(checksum_add(d + k, n - k, checksum_add(d, k))) == whole);
}

void updates(std::vector<uint8_t> buf, uint32_t value, uint8_t where) {
  const size_t n = buf.size() & ~size_t{1};
  if (n < 4) return;
  uint8_t* d = buf.data();
  const uint16_t c0 = internet_checksum(d, n);
  const size_t at16 = (size_t{where} * 2) % n;
  const uint16_t old16 = load_be16(d + at16);
  store_be16(d + at16, static_cast<uint16_t>(value));
  const uint16_t c1 = internet_checksum(d, n);
  require_same(checksum_update16(c0, old16, static_cast<uint16_t>(value)), c1, d, n);

  const size_t at32 = (size_t{where} * 2) % (n - 2);
  const uint32_t old32 = load_be32(d + at32);
  store_be32(d + at32, ~value);
  const uint16_t c2 = internet_checksum(d, n);
  require_same(checksum_update32(c1, old32, ~value), c2, d, n);

  const size_t span = n - at32 >= 16 ? 16 : ((n - at32) & ~size_t{1});
  std::vector<uint8_t> old(d + at32, d + at32 + span);
  for (size_t i = 0; i < span; ++i) d[at32 + i] = static_cast<uint8_t>(d[at32 + i] * 31 + value);
  require_same(checksum_update_bytes(c2, old.data(), d + at32, span), internet_checksum(d, n), d,
               n);
}

// IPv4/UDP or IPv6/TCP around the data; then rewrite source address and port.
void frames(const std::vector<uint8_t>& payload, uint32_t value, bool v6) {
  std::vector<uint8_t> frame(payload.size() + 128);
  PacketBuilder b(frame);
  b.ethernet(nfv::MacAddress::from_u64(2), nfv::MacAddress::from_u64(1));
  if (v6) {
    Ipv6Fields f;
    f.src[15] = 1;
    f.dst[15] = 2;
    b.ipv6(f).tcp({.src_port = 1, .dst_port = 2}).payload(payload);
  } else {
    b.ipv4({.src = value, .dst = ~value}).udp(1, 2).payload(payload);
  }
  auto len = b.finish();
  if (!len) return;  // payload too long for one IP packet
  frame.resize(*len);
  PacketInfo info = parse_packet(frame.data(), frame.size());
  require(info.ok() && info.has_l4());
  uint8_t* l3 = frame.data() + info.l3_offset;
  uint8_t* l4 = frame.data() + info.l4_offset;
  const size_t l4_len = frame.size() - info.l4_offset;
  const size_t csum_at = v6 ? 16 : 6;
  const auto verify = [&] {
    if (v6) return l4_checksum_ipv6(l4, l4_len, l3 + 8, l3 + 24, ip_proto::tcp) == 0;
    return internet_checksum(l3, 20) == 0 &&
           l4_checksum_ipv4(l4, l4_len, load_be32(l3 + 12), load_be32(l3 + 16), ip_proto::udp) == 0;
  };
  require(verify());

  const uint16_t old_port = load_be16(l4), new_port = static_cast<uint16_t>(value >> 7);
  uint16_t c = checksum_update16(load_be16(l4 + csum_at), old_port, new_port);
  store_be16(l4, new_port);
  if (v6) {
    uint8_t addr[16];
    std::memcpy(addr, l3 + 8, 16);
    store_be32(l3 + 8 + 12, value);
    c = checksum_update_bytes(c, addr, l3 + 8, 16);
  } else {
    const uint32_t old_src = load_be32(l3 + 12), new_src = value * 2654435761u;
    store_be32(l3 + 12, new_src);
    store_be16(l3 + 10, checksum_update32(load_be16(l3 + 10), old_src, new_src));
    c = checksum_update32(c, old_src, new_src);
    if (c == 0) c = 0xffff;  // UDP: 0 would mean "no checksum" (RFC 768)
  }
  store_be16(l4 + csum_at, c);
  require(verify());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  uint32_t value = load_be32(data);
  const uint8_t where = data[4];
  std::vector<uint8_t> buf(data + 5, data + size);  // exact size: ASan sees its end
  sums(buf, where);
  updates(buf, value, where);
  frames(buf, value, (where & 1) != 0);
  return 0;
}
