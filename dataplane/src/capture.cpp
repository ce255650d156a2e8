// Packet capture: the PMD copy (capture_burst) and the control-side sessions.
#include "capture.hpp"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <time.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace nfv::sw {

using control::Json;
using control::RpcError;

void capture_burst(CaptureTap& tap, rte_mbuf* const* pkts, uint16_t n) noexcept {
  const uint64_t tsc = rte_rdtsc();
  uint64_t copied = tap.copied.load(std::memory_order_relaxed);
  for (uint16_t i = 0; i < n; ++i) {
    if (copied >= tap.limit) return;
    // Cheap check first: a full ring means the control thread is behind; skip the copy.
    if (rte_ring_free_count(tap.ring) == 0) {
      tap.dropped.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    rte_mbuf* copy = rte_pktmbuf_copy(pkts[i], tap.pool, 0, tap.snaplen);
    // The headroom of a fresh mbuf is cache-line aligned: the cast is to aligned memory.
    auto* meta = copy ? reinterpret_cast<CaptureMeta*>(rte_pktmbuf_prepend(copy, sizeof(CaptureMeta))) : nullptr;
    if (!meta) {  // no buffer, or (never with a fresh mbuf) no headroom
      if (copy) rte_pktmbuf_free(copy);
      tap.dropped.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    *meta = CaptureMeta{tsc, pkts[i]->pkt_len, 0};
    if (rte_ring_mp_enqueue(tap.ring, copy) != 0) {
      rte_pktmbuf_free(copy);
      tap.dropped.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    // Several PMDs may copy for one tap: the count may overshoot `limit` by a burst; the
    // control thread trims it.
    copied = tap.copied.fetch_add(1, std::memory_order_relaxed) + 1;
  }
}

namespace {

uint64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string base64(const std::string& in) {
  static constexpr char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = uint32_t{uint8_t(in[i])} << 16 | uint32_t{uint8_t(in[i + 1])} << 8 | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kTable[(v >> s) & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint32_t{uint8_t(in[i])} << 16;
    if (i + 1 < in.size()) v |= uint32_t{uint8_t(in[i + 1])} << 8;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += i + 1 < in.size() ? kTable[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

const char* to_string(CaptureDirection d) {
  return d == CaptureDirection::rx ? "rx" : d == CaptureDirection::tx ? "tx" : "both";
}

uint64_t uint_param(const Json& p, const char* key, uint64_t def, uint64_t lo, uint64_t hi) {
  if (!p.contains(key)) return def;
  const Json& v = p[key];
  if (!v.is_number_unsigned() || v.get<uint64_t>() < lo || v.get<uint64_t>() > hi)
    throw RpcError(RpcError::kInvalidParams, fmt::format("'{}' must be an integer in {}..{}", key, lo, hi));
  return v.get<uint64_t>();
}

}  // namespace

CaptureManager::~CaptureManager() {
  // The switch has stopped its PMDs before this runs.
  for (auto& [id, s] : sessions_) {
    if (!s.tap) continue;
    rte_mbuf* m;
    while (rte_ring_dequeue(s.tap->ring, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
    rte_ring_free(s.tap->ring);
  }
  if (pool_) rte_mempool_free(pool_);
}

CaptureTap* CaptureManager::tap_rx(uint16_t slot) const noexcept {
  for (const auto& [id, s] : sessions_)
    if (s.tap && s.ended.empty() && s.slot == slot && s.dir != CaptureDirection::tx) return s.tap.get();
  return nullptr;
}

CaptureTap* CaptureManager::tap_tx(uint16_t slot) const noexcept {
  for (const auto& [id, s] : sessions_)
    if (s.tap && s.ended.empty() && s.slot == slot && s.dir != CaptureDirection::rx) return s.tap.get();
  return nullptr;
}

void CaptureManager::drain(Session& s) {
  if (!s.tap) return;
  const uint64_t hz = rte_get_tsc_hz();
  rte_mbuf* burst[64];
  unsigned n;
  while ((n = rte_ring_sc_dequeue_burst(s.tap->ring, reinterpret_cast<void**>(burst), 64, nullptr)) > 0) {
    for (unsigned i = 0; i < n; ++i) {
      rte_mbuf* m = burst[i];
      if (s.delivered + s.frames.size() < s.count && s.frames.size() < kMaxBuffered &&
          m->pkt_len >= sizeof(CaptureMeta)) {
        // rte_pktmbuf_read returns a pointer into the mbuf, or copies into the buffer when
        // the bytes span segments: always use what it returns.
        CaptureMeta buf;
        CaptureMeta meta;
        std::memcpy(&meta, rte_pktmbuf_read(m, 0, sizeof buf, &buf), sizeof meta);
        Frame f;
        const uint64_t dt = meta.tsc >= s.tsc0 ? meta.tsc - s.tsc0 : 0;
        f.ts_ns = s.realtime0_ns + static_cast<uint64_t>(static_cast<double>(dt) * 1e9 / static_cast<double>(hz));
        f.orig_len = meta.orig_len;
        f.data.resize(m->pkt_len - sizeof meta);
        const void* p = rte_pktmbuf_read(m, sizeof meta, static_cast<uint32_t>(f.data.size()), f.data.data());
        if (p != f.data.data()) std::memcpy(f.data.data(), p, f.data.size());
        s.frames.push_back(std::move(f));
      } else if (s.delivered + s.frames.size() < s.count) {
        ++s.dropped_buffer;  // the reader is behind
      }
      rte_pktmbuf_free(m);
    }
  }
}

void CaptureManager::end(Session& s, std::string why) {
  if (!s.ended.empty()) return;
  s.ended = std::move(why);
  publish_();  // the tap leaves the snapshot; after_publish drains and frees it
}

void CaptureManager::after_publish() {
  for (auto& [id, s] : sessions_) {
    if (!s.tap || s.ended.empty()) continue;
    drain(s);
    rte_ring_free(s.tap->ring);
    s.dropped_buffer += s.tap->dropped.load();
    s.tap.reset();
  }
}

void CaptureManager::port_gone(uint16_t slot) {
  for (auto& [id, s] : sessions_)
    if (s.slot == slot && s.ended.empty()) s.ended = "port " + s.port + " was deleted";
}

void CaptureManager::tick() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    Session& s = it->second;
    drain(s);
    if (s.ended.empty() && s.delivered + s.frames.size() >= s.count) end(s, "count reached");
    if (now - s.last_read > std::chrono::seconds(kIdleTimeoutS)) {
      end(s, "nobody read it");
      it = sessions_.erase(it);
      continue;
    }
    ++it;
  }
}

Result<Json> CaptureManager::start(const Json& p) {
  if (!p.is_object() || !p.contains("port") || !p["port"].is_string())
    throw RpcError(RpcError::kInvalidParams, "missing string parameter 'port'");
  const std::string port = p["port"].get<std::string>();
  const auto slot = find_port_(port);
  if (!slot) throw RpcError(RpcError::kNotFound, fmt::format("no port named {}", port));
  CaptureDirection dir = CaptureDirection::both;
  if (p.contains("direction")) {
    const Json& d = p["direction"];
    if (d == "rx") dir = CaptureDirection::rx;
    else if (d == "tx") dir = CaptureDirection::tx;
    else if (d != "both") throw RpcError(RpcError::kInvalidParams, "'direction' must be \"rx\", \"tx\" or \"both\"");
  }
  const uint64_t count = uint_param(p, "count", 100, 1, kMaxCount);
  const uint64_t snaplen = uint_param(p, "snaplen", 65535, 64, 65535);
  size_t live = 0;
  for (const auto& [id, s] : sessions_) {
    if (s.ended.empty() && s.slot == *slot)
      throw RpcError(RpcError::kAlreadyExists,
                     fmt::format("port {} is already being captured (session {}); stop it with capture.stop", port, id));
    live += s.tap != nullptr;
  }
  if (live >= kMaxSessions)
    throw RpcError(RpcError::kFailed, fmt::format("at most {} captures at a time; stop one first", kMaxSessions));
  if (!pool_) {
    pool_ = rte_pktmbuf_pool_create("nfv_capture", kPoolSize, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    static_cast<int>(rte_socket_id()));
    if (!pool_)
      throw RpcError(RpcError::kFailed, fmt::format("cannot create the capture buffer pool ({} buffers): "
                                                    "raise [switch] memory_mb", kPoolSize));
  }
  const uint32_t id = next_id_++;
  auto tap = std::make_unique<CaptureTap>();
  tap->ring = rte_ring_create(fmt::format("nfv_cap{}", id).c_str(), kRingSize, static_cast<int>(rte_socket_id()),
                              RING_F_SC_DEQ);
  if (!tap->ring) throw RpcError(RpcError::kFailed, fmt::format("cannot create a capture ring: {}", rte_strerror(rte_errno)));
  tap->pool = pool_;
  tap->snaplen = static_cast<uint32_t>(snaplen);
  tap->limit = count;
  Session s{id, port, *slot, dir, count, std::move(tap), {}, 0, 0, rte_rdtsc(), realtime_ns(),
            std::chrono::steady_clock::now(), {}};
  sessions_.emplace(id, std::move(s));
  publish_();
  Json j = session_json(sessions_.at(id));
  j["snaplen"] = snaplen;
  return j;
}

CaptureManager::Session* CaptureManager::find(const Json& p) {
  if (!p.is_object() || !p.contains("id") || !p["id"].is_number_unsigned())
    throw RpcError(RpcError::kInvalidParams, "missing integer parameter 'id' (from capture.start)");
  auto it = sessions_.find(p["id"].get<uint32_t>());
  if (it == sessions_.end())
    throw RpcError(RpcError::kNotFound, fmt::format("no capture session {} (it ends {} s after its last read)",
                                                    p["id"].dump(), kIdleTimeoutS));
  return &it->second;
}

Json CaptureManager::session_json(const Session& s) const {
  const uint64_t dropped = s.dropped_buffer + (s.tap ? s.tap->dropped.load() : 0);
  return {{"id", s.id}, {"port", s.port}, {"direction", to_string(s.dir)}, {"count", s.count},
          {"captured", s.delivered + s.frames.size()}, {"delivered", s.delivered}, {"dropped", dropped},
          {"ended", s.ended.empty() ? Json(nullptr) : Json(s.ended)}};
}

Json CaptureManager::read(Session& s, size_t max_frames, size_t max_bytes) {
  s.last_read = std::chrono::steady_clock::now();
  drain(s);
  if (s.ended.empty() && s.delivered + s.frames.size() >= s.count) end(s, "count reached");
  Json frames = Json::array();
  size_t bytes = 0;
  while (!s.frames.empty() && frames.size() < max_frames && bytes < max_bytes) {
    Frame& f = s.frames.front();
    bytes += f.data.size();
    frames.push_back({{"ts_ns", f.ts_ns}, {"len", f.orig_len}, {"data", base64(f.data)}});
    s.frames.pop_front();
    ++s.delivered;
  }
  Json j = session_json(s);
  j["frames"] = std::move(frames);
  j["done"] = !s.ended.empty() && s.frames.empty();
  return j;
}

Json CaptureManager::stats_json() const {
  Json list = Json::array();
  for (const auto& [id, s] : sessions_) list.push_back(session_json(s));
  return list;
}

void CaptureManager::register_methods(control::JsonRpcServer& rpc) {
  rpc.add_method("capture.start", [this](const Json& p) {
    auto r = start(p);
    if (!r) throw RpcError(RpcError::kFailed, r.error().message);
    return *r;
  });
  rpc.add_method("capture.read", [this](const Json& p) {
    Session* s = find(p);
    const uint64_t max = uint_param(p, "max_frames", 256, 1, 4096);
    Json j = read(*s, max, 512 * 1024);  // ~700 KB of base64 per answer at most
    if (j["done"].get<bool>()) sessions_.erase(s->id);
    return j;
  });
  rpc.add_method("capture.stop", [this](const Json& p) {
    Session* s = find(p);
    end(*s, "stopped");
    Json j = session_json(*s);
    sessions_.erase(s->id);
    return j;
  });
  rpc.add_method("capture.list", [this](const Json&) { return stats_json(); });
}

}  // namespace nfv::sw
