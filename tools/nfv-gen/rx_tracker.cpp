// RxTracker (see the header).
#include "rx_tracker.hpp"

#include <algorithm>
#include <string>

#include "nfv/net/byte_order.hpp"
#include "nfv/net/ip_protocol.hpp"
#include "nfv/net/packet_info.hpp"
#include "signature.hpp"

namespace nfvgen {

namespace {

// Clears `count` bits of the ring bitmap starting at bit `first` (mod the
// ring size), a word at a time; count < RxTracker::kWindow.
template <size_t N>
void clear_bits(std::array<uint64_t, N>& words, uint32_t first, uint32_t count) noexcept {
  constexpr uint32_t kBits = N * 64;
  while (count > 0) {
    const uint32_t bit = first % kBits;
    const uint32_t off = bit % 64;
    const uint32_t n = std::min(64 - off, count);
    const uint64_t mask = n == 64 ? ~uint64_t{0} : ((uint64_t{1} << n) - 1) << off;
    words[bit / 64] &= ~mask;
    first += n;
    count -= n;
  }
}

// Where the IP packet ends (its length field), at most `len`: Ethernet
// padding after a short datagram is not payload. parse_packet() checked the
// header that holds the field.
uint32_t ip_end(const nfv::net::PacketInfo& info, const uint8_t* frame, uint32_t len) noexcept {
  if (info.l3_offset == nfv::net::PacketInfo::kAbsent) return len;
  const uint8_t* ip = frame + info.l3_offset;
  uint32_t end = len;
  if (info.l3_type == nfv::net::L3Type::ipv4) {
    end = info.l3_offset + uint32_t{nfv::net::load_be16(ip + 2)};  // total length
  } else if (info.l3_type == nfv::net::L3Type::ipv6 && nfv::net::load_be16(ip + 4) != 0) {
    end = info.l3_offset + 40 + uint32_t{nfv::net::load_be16(ip + 4)};  // 0: jumbogram, use len
  }
  return std::min(end, len);
}

}  // namespace

nfv::Result<RxTracker> RxTracker::create(const RxConfig& c) {
  auto bad = [](const std::string& what) { return nfv::make_error(nfv::Errc::invalid_argument, "rx tracker: " + what); };
  if (c.tsc_hz == 0) return bad("the TSC frequency is needed to convert latencies to ns (tsc_hz 0)");
  if (c.max_streams == 0 || c.max_streams > 65536)
    return bad("max_streams must be in [1, 65536] (stream ids are 16 bits), got " + std::to_string(c.max_streams));
  if (c.max_latency_ns == 0) return bad("max_latency_ns must be above 0, e.g. 10 s");
  return RxTracker(c);
}

RxTracker::RxTracker(const RxConfig& c)
    : config_(c),
      ns_per_tick_(1e9 / static_cast<double>(c.tsc_hz)),
      streams_(c.max_streams) {
  // In double: max_latency_ns * tsc_hz overflows 64 bits (10 s at 3 GHz is 3e19 ns*Hz).
  const double ticks = static_cast<double>(c.max_latency_ns) * static_cast<double>(c.tsc_hz) / 1e9;
  max_latency_ticks_ = ticks >= 1.8e19 ? UINT64_MAX : static_cast<uint64_t>(ticks);
  reset();
}

void RxTracker::reset() noexcept {
  for (auto& s : streams_) {
    s = StreamState{};
    s.expected = config_.first_seq;
  }
  totals_ = RxTotals{};
}

void RxTracker::on_frame(const uint8_t* frame, uint32_t len, uint64_t now_tsc) noexcept {
  ++totals_.frames;
  totals_.bytes += len;
  nfv::net::PacketInfo info = nfv::net::parse_packet(frame, len);
  // A GTP-U G-PDU (nfv-gen's GTP-U streams): the signature is in the inner packet.
  if (info.tunnel_type == nfv::net::TunnelType::gtpu && info.inner_offset != nfv::net::PacketInfo::kAbsent) [[unlikely]]
    info = nfv::net::parse_inner(frame, len, info);
  // The signature must fit in the UDP/TCP payload, not in Ethernet padding.
  const uint32_t end = ip_end(info, frame, len);
  if (info.payload_offset == nfv::net::PacketInfo::kAbsent || info.payload_offset > end ||
      end - info.payload_offset < kSignatureSize ||
      (info.ip_protocol != nfv::net::ip_proto::udp && info.ip_protocol != nfv::net::ip_proto::tcp)) {
    ++totals_.untracked;
    ++totals_.untracked_no_signature;
    return;
  }
  Signature sig;
  if (!read_signature(frame + info.payload_offset, sig)) {
    ++totals_.untracked;
    ++totals_.untracked_bad_magic;
    return;
  }
  if (sig.stream >= streams_.size()) {
    ++totals_.untracked;
    ++totals_.untracked_unknown_stream;
    return;
  }
  StreamState& s = streams_[sig.stream];
  ++s.received;
  s.bytes += len;
  on_sequence(s, sig.seq);
  on_latency(s, sig.tsc, now_tsc);
}

void RxTracker::on_sequence(StreamState& s, uint32_t seq) noexcept {
  // Unsigned differences wrap at 2^32: "ahead" is less than half the space forward.
  const uint32_t ahead = seq - s.expected;
  if (ahead < 0x80000000u) {
    if (ahead == 0) {
      ++s.in_order;
    } else {
      ++s.gaps;
      s.missing += ahead;
      // The skipped numbers enter the window as not seen.
      if (ahead >= kWindow) {
        s.seen.fill(0);
      } else {
        clear_bits(s.seen, s.expected, ahead);
      }
    }
    s.seen[(seq % kWindow) / 64] |= uint64_t{1} << (seq % 64);
    s.passed = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{s.passed} + ahead + 1, kWindow));
    s.expected = seq + 1;
    return;
  }
  const uint32_t behind = s.expected - seq;  // in [1, 2^31]
  if (behind > s.passed) {
    ++s.late_unknown;
    return;
  }
  uint64_t& word = s.seen[(seq % kWindow) / 64];
  const uint64_t bit = uint64_t{1} << (seq % 64);
  if (word & bit) {
    ++s.duplicates;
  } else {
    // A clear bit inside the window was skipped by a gap, so missing > 0.
    word |= bit;
    ++s.reordered;
    --s.missing;
  }
}

void RxTracker::on_latency(StreamState& s, uint64_t tx_tsc, uint64_t now_tsc) noexcept {
  if (now_tsc < tx_tsc || now_tsc - tx_tsc > max_latency_ticks_) {
    ++s.bad_timestamp;
    return;
  }
  // At most max_latency_ns (~1e10) after conversion: exact enough in a double.
  s.latency.record(static_cast<uint64_t>(static_cast<double>(now_tsc - tx_tsc) * ns_per_tick_ + 0.5));
}

StreamRxStats RxTracker::stats(uint16_t stream) const noexcept {
  StreamRxStats r;
  r.stream = stream;
  if (stream >= streams_.size()) return r;
  const StreamState& s = streams_[stream];
  static_cast<StreamCounters&>(r) = s;
  const LatencyHistogram& h = s.latency;
  r.latency = LatencySummary{
      .count = h.count(),
      .min_ns = h.min(),
      .p50_ns = h.percentile(50),
      .p90_ns = h.percentile(90),
      .p99_ns = h.percentile(99),
      .p999_ns = h.percentile(99.9),
      .max_ns = h.max(),
      .mean_ns = h.mean(),
      .jitter_ns = h.jitter(),
  };
  return r;
}

StreamRxStats RxTracker::final_stats(uint16_t stream, uint64_t sent) const noexcept {
  StreamRxStats r = stats(stream);
  r.sent_known = true;
  r.sent = sent;
  const uint64_t unique = r.received - r.duplicates;  // duplicates <= received
  r.lost = sent > unique ? sent - unique : 0;
  return r;
}

const LatencyHistogram& RxTracker::histogram(uint16_t stream) const noexcept {
  // An out-of-range id reads an empty histogram rather than out of bounds.
  static const LatencyHistogram kEmpty{};
  return stream < streams_.size() ? streams_[stream].latency : kEmpty;
}

}  // namespace nfvgen
