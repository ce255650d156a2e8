// RxTracker: signature lookup, sequence analysis and latency on synthetic frames.
#include <doctest/doctest.h>

#include <cstdint>
#include <span>
#include <vector>

#include "nfv/net/ipv4.hpp"
#include "nfv/net/packet_builder.hpp"
#include "rx_tracker.hpp"
#include "signature.hpp"

using nfvgen::RxConfig;
using nfvgen::RxTracker;
using nfvgen::Signature;
using nfvgen::StreamRxStats;
namespace net = nfv::net;

namespace {

constexpr uint64_t kHz = 2'000'000'000;  // 2 ticks per ns
const nfv::MacAddress kMacA = nfv::MacAddress::from_u64(0x525400000001);
const nfv::MacAddress kMacB = nfv::MacAddress::from_u64(0x525400000002);

enum class L4 { udp, tcp, icmp };

struct FrameSpec {
  L4 l4 = L4::udp;
  bool ipv6 = false;
  bool vlan = false;
};

using Frame = std::vector<uint8_t>;

Frame build(std::span<const uint8_t> payload, const FrameSpec& spec = {}) {
  Frame buf(256);
  net::PacketBuilder b(buf);
  b.ethernet(kMacB, kMacA);
  if (spec.vlan) b.vlan(net::VlanTag::make(100));
  if (spec.ipv6) {
    net::Ipv6Fields f;
    f.src[15] = 1;
    f.dst[15] = 2;
    b.ipv6(f);
  } else {
    b.ipv4({.src = net::ipv4_address(10, 0, 0, 1), .dst = net::ipv4_address(10, 0, 0, 2)});
  }
  if (spec.l4 == L4::udp) b.udp(1234, 5678);
  if (spec.l4 == L4::tcp) b.tcp({.src_port = 1234, .dst_port = 80});
  if (spec.l4 == L4::icmp) b.icmp(8, 0);
  b.payload(payload);
  const auto len = b.finish(60);
  REQUIRE(len);
  buf.resize(*len);
  return buf;
}

Frame sig_frame(uint16_t stream, uint32_t seq, uint64_t tsc = 0, const FrameSpec& spec = {}) {
  uint8_t sig[nfvgen::kSignatureSize];
  nfvgen::write_signature(sig, Signature{stream, seq, tsc});
  return build(sig, spec);
}

RxTracker make(RxConfig c = {.tsc_hz = kHz}) {
  auto r = RxTracker::create(c);
  REQUIRE(r.ok());
  return std::move(r).value();
}

void feed(RxTracker& rx, uint16_t stream, uint32_t seq, uint64_t tsc = 0, uint64_t now = 0) {
  const Frame f = sig_frame(stream, seq, tsc);
  rx.on_frame(f.data(), static_cast<uint32_t>(f.size()), now);
}

}  // namespace

TEST_CASE("create rejects a configuration it cannot use") {
  for (RxConfig c : {RxConfig{.tsc_hz = 0}, RxConfig{.max_streams = 0, .tsc_hz = kHz},
                     RxConfig{.max_streams = 65537, .tsc_hz = kHz},
                     RxConfig{.tsc_hz = kHz, .max_latency_ns = 0}}) {
    auto r = RxTracker::create(c);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == nfv::Errc::invalid_argument);
  }
  CHECK(make().max_streams() == 256);
  CHECK(make({.max_streams = 65536, .tsc_hz = kHz}).max_streams() == 65536);
}

TEST_CASE("an in-order stream: everything in order, nothing lost") {
  RxTracker rx = make();
  for (uint32_t s = 0; s < 1000; ++s) feed(rx, 3, s);
  const StreamRxStats st = rx.final_stats(3, 1000);
  CHECK(st.stream == 3);
  CHECK(st.received == 1000);
  CHECK(st.bytes == 1000 * 60);  // 14 + 20 + 8 + 16 = 58, padded to 60
  CHECK(st.in_order == 1000);
  CHECK(st.gaps == 0);
  CHECK(st.missing == 0);
  CHECK(st.reordered == 0);
  CHECK(st.duplicates == 0);
  CHECK(st.late_unknown == 0);
  CHECK(st.sent_known);
  CHECK(st.lost == 0);
  CHECK(rx.stats(4).received == 0);
  CHECK_FALSE(rx.stats(3).sent_known);
  CHECK(rx.totals().frames == 1000);
  CHECK(rx.totals().untracked == 0);
}

TEST_CASE("gaps: missing and lost are counted exactly") {
  RxTracker rx = make();
  uint64_t received = 0, skipped_inside = 0, gaps = 0;
  int64_t last = -1;
  for (uint32_t s = 0; s < 10000; ++s) {
    const bool drop = s % 10 == 3 || (s >= 5000 && s < 5100) || s >= 9995;  // the tail too
    if (drop) {
      if (s < 9995) ++skipped_inside;
      continue;
    }
    if (static_cast<int64_t>(s) != last + 1) ++gaps;
    last = s;
    feed(rx, 0, s);
    ++received;
  }
  const StreamRxStats st = rx.final_stats(0, 10000);
  CHECK(st.received == received);
  CHECK(st.gaps == gaps);
  CHECK(st.missing == skipped_inside);  // the sequence cannot see the lost tail
  CHECK(st.lost == 10000 - received);   // the sender's count can
  CHECK(st.lost == skipped_inside + 5);
  CHECK(st.reordered == 0);
  CHECK(st.duplicates == 0);
  CHECK(st.in_order == received - gaps);
}

TEST_CASE("reordering: swapped pairs count as reordered, not lost") {
  RxTracker rx = make();
  for (uint32_t s = 0; s < 1000; s += 2) {
    feed(rx, 1, s + 1);
    feed(rx, 1, s);
  }
  const StreamRxStats st = rx.final_stats(1, 1000);
  CHECK(st.received == 1000);
  CHECK(st.reordered == 500);
  CHECK(st.gaps == 500);
  CHECK(st.missing == 0);
  CHECK(st.duplicates == 0);
  CHECK(st.lost == 0);
}

TEST_CASE("duplicates are told from reordered frames and do not hide loss") {
  RxTracker rx = make();
  SUBCASE("every frame twice") {
    for (uint32_t s = 0; s < 100; ++s) {
      feed(rx, 0, s);
      feed(rx, 0, s);
    }
    const StreamRxStats st = rx.final_stats(0, 100);
    CHECK(st.received == 200);
    CHECK(st.in_order == 100);
    CHECK(st.duplicates == 100);
    CHECK(st.lost == 0);
  }
  SUBCASE("a duplicate of an in-order frame and of a reordered one") {
    for (uint32_t s : {0u, 1u, 2u, 5u, 2u, 3u, 3u, 4u, 4u}) feed(rx, 0, s);
    StreamRxStats st = rx.final_stats(0, 6);
    CHECK(st.received == 9);
    CHECK(st.gaps == 1);
    CHECK(st.reordered == 2);   // 3 and 4
    CHECK(st.duplicates == 3);  // 2, 3 and 4 again
    CHECK(st.missing == 0);
    CHECK(st.lost == 0);
    // Had the sender sent 8, two are lost even though 9 arrived.
    CHECK(rx.final_stats(0, 8).lost == 2);
  }
}

TEST_CASE("late by more than the window, or before the first number: late_unknown") {
  RxTracker rx = make();
  feed(rx, 0, 0);
  feed(rx, 0, 10000);  // a gap larger than the window
  CHECK(rx.stats(0).missing == 9999);
  // The window holds the last kWindow numbers, 10000 included.
  feed(rx, 0, 10000 - RxTracker::kWindow + 1);  // the oldest number it holds
  feed(rx, 0, 10000 - RxTracker::kWindow);      // one older
  feed(rx, 0, 5000);
  feed(rx, 0, 10000);
  StreamRxStats st = rx.stats(0);
  CHECK(st.reordered == 1);
  CHECK(st.missing == 9998);
  CHECK(st.late_unknown == 2);
  CHECK(st.duplicates == 1);
  CHECK(st.received == 6);

  // The window never claims numbers from before the stream began.
  RxTracker fresh = make();
  feed(fresh, 0, 0);
  feed(fresh, 0, 0xffffffffu);
  CHECK(fresh.stats(0).late_unknown == 1);
  CHECK(fresh.stats(0).reordered == 0);
  CHECK(fresh.stats(0).missing == 0);
}

TEST_CASE("sequence numbers wrap at 2^32") {
  RxTracker rx = make({.tsc_hz = kHz, .first_seq = 0xffffff00u});
  SUBCASE("in order across the wrap") {
    for (uint32_t i = 0; i < 512; ++i) feed(rx, 0, 0xffffff00u + i);
    const StreamRxStats st = rx.final_stats(0, 512);
    CHECK(st.in_order == 512);
    CHECK(st.gaps == 0);
    CHECK(st.lost == 0);
  }
  SUBCASE("a gap, a late arrival and a duplicate across the wrap") {
    for (uint32_t s = 0xffffff00u; s != 0xffffffffu; ++s) feed(rx, 0, s);  // up to ...fe
    feed(rx, 0, 1);            // skips 0xffffffff and 0
    feed(rx, 0, 0);            // late across the wrap
    feed(rx, 0, 0xfffffffeu);  // seen before the wrap
    feed(rx, 0, 2);
    const StreamRxStats st = rx.final_stats(0, 259);
    CHECK(st.gaps == 1);
    CHECK(st.reordered == 1);
    CHECK(st.duplicates == 1);
    CHECK(st.missing == 1);  // 0xffffffff
    CHECK(st.late_unknown == 0);
    CHECK(st.in_order == 256);
    CHECK(st.lost == 1);
  }
}

TEST_CASE("frames without a usable signature are untracked, with the reason") {
  RxTracker rx = make();
  auto give = [&](const Frame& f, uint32_t len) { rx.on_frame(f.data(), len, 0); };
  auto give_all = [&](const Frame& f) { give(f, static_cast<uint32_t>(f.size())); };

  // ARP: no L4 at all.
  {
    Frame buf(128);
    net::PacketBuilder b(buf);
    b.ethernet(nfv::MacAddress::from_u64(0xffffffffffff), kMacA)
        .arp(1, kMacA, net::ipv4_address(10, 0, 0, 1), {}, net::ipv4_address(10, 0, 0, 2));
    const auto len = b.finish(60);
    REQUIRE(len);
    give(buf, static_cast<uint32_t>(*len));
  }
  // An 8-byte UDP payload that starts like a signature: the zero padding up
  // to 60 bytes would complete it, but padding is not payload.
  give_all(build(std::vector<uint8_t>{0x4e, 0x47, 0, 0, 0, 0, 0, 0}));
  // Truncated: the last byte of the signature cut off.
  const Frame good = sig_frame(0, 0);
  give(good, 57);
  // A signature in an ICMP echo: not UDP/TCP.
  {
    uint8_t sig[nfvgen::kSignatureSize];
    nfvgen::write_signature(sig, Signature{0, 0, 0});
    give_all(build(sig, {.l4 = L4::icmp}));
  }
  CHECK(rx.totals().untracked_no_signature == 4);

  Frame bad = sig_frame(0, 0);
  bad[42] ^= 0xff;  // 14 + 20 + 8: the magic's first byte
  give_all(bad);
  CHECK(rx.totals().untracked_bad_magic == 1);

  give_all(sig_frame(256, 0));
  give_all(sig_frame(0xffff, 0));
  CHECK(rx.totals().untracked_unknown_stream == 2);

  CHECK(rx.totals().frames == 7);
  CHECK(rx.totals().untracked == 7);
  CHECK(rx.stats(0).received == 0);

  // The same signature behind a VLAN tag, IPv6 or TCP is found.
  give_all(sig_frame(0, 0, 0, {.vlan = true}));
  give_all(sig_frame(0, 1, 0, {.ipv6 = true}));
  give_all(sig_frame(0, 2, 0, {.l4 = L4::tcp}));
  give_all(sig_frame(0, 3, 0, {.l4 = L4::tcp, .ipv6 = true, .vlan = true}));
  CHECK(rx.stats(0).received == 4);
  CHECK(rx.stats(0).in_order == 4);
  CHECK(rx.totals().untracked == 7);
}

TEST_CASE("latency percentiles from synthetic TSC values") {
  RxTracker rx = make();
  const uint64_t base = 1'000'000'000'000ull;
  for (uint32_t i = 1; i <= 10000; ++i) {
    const uint64_t tx = base + uint64_t{i} * 1000;
    feed(rx, 7, i - 1, tx, tx + uint64_t{i} * 200);  // i * 100 ns at 2 GHz
  }
  const StreamRxStats st = rx.stats(7);
  CHECK(st.latency.count == 10000);
  CHECK(st.latency.min_ns == 100);
  CHECK(st.latency.max_ns == 1'000'000);
  CHECK(st.latency.mean_ns == doctest::Approx(500'050));
  // Percentiles are bucket upper edges: at or above the exact value, within 1/32.
  auto near = [](uint64_t got, double exact) { return got >= exact && got <= exact * (1 + 1.0 / 32); };
  CHECK(near(st.latency.p50_ns, 500'000));
  CHECK(near(st.latency.p90_ns, 900'000));
  CHECK(near(st.latency.p99_ns, 990'000));
  CHECK(near(st.latency.p999_ns, 999'000));
  // Consecutive latencies differ by 100 ns: RFC 3550 jitter converges to 100.
  CHECK(st.latency.jitter_ns == doctest::Approx(100).epsilon(0.01));
  CHECK(rx.histogram(7).count() == 10000);
  CHECK(rx.histogram(300).count() == 0);

  // A frequency that is not a whole number of ticks per ns rounds correctly.
  RxTracker rx3 = make({.tsc_hz = 3'000'000'000});
  for (uint32_t s = 0; s < 3; ++s) feed(rx3, 0, s, 5000, 5000 + 3000);
  CHECK(rx3.stats(0).latency.min_ns == 1000);
  CHECK(rx3.stats(0).latency.max_ns == 1000);
}

TEST_CASE("bad timestamps are counted, not recorded; the frame still counts") {
  RxTracker rx = make();
  const uint64_t t = 100 * kHz;              // 100 s into the TSC
  feed(rx, 0, 0, t + 10, t);                 // from the future
  feed(rx, 0, 1, t, t + 11 * kHz);           // 11 s: over the 10 s default
  feed(rx, 0, 2, t, t + 9 * kHz);            // 9 s: recorded
  feed(rx, 0, 3, t, t);                      // 0 ns: recorded
  StreamRxStats st = rx.stats(0);
  CHECK(st.bad_timestamp == 2);
  CHECK(st.latency.count == 2);
  CHECK(st.latency.max_ns == 9'000'000'000ull);
  CHECK(st.received == 4);
  CHECK(st.in_order == 4);

  RxTracker strict = make({.tsc_hz = kHz, .max_latency_ns = 1'000'000});  // 1 ms
  feed(strict, 0, 0, t, t + 2 * 1'000'000);  // exactly 1 ms: recorded
  feed(strict, 0, 1, t, t + 2 * 1'000'001);  // just over
  CHECK(strict.stats(0).bad_timestamp == 1);
  CHECK(strict.stats(0).latency.max_ns == 1'000'000);
}

TEST_CASE("reset clears counters and windows, keeping the configuration") {
  RxTracker rx = make({.tsc_hz = kHz, .first_seq = 100});
  feed(rx, 0, 100);
  feed(rx, 0, 105);
  const Frame junk = build(std::vector<uint8_t>(20, 0));
  rx.on_frame(junk.data(), static_cast<uint32_t>(junk.size()), 0);
  rx.reset();
  CHECK(rx.stats(0).received == 0);
  CHECK(rx.stats(0).missing == 0);
  CHECK(rx.totals().frames == 0);
  CHECK(rx.totals().untracked == 0);
  feed(rx, 0, 100);  // first_seq again: in order
  feed(rx, 0, 101);
  CHECK(rx.stats(0).in_order == 2);
  CHECK(rx.stats(0).late_unknown == 0);
}
