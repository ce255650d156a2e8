// DummyBackend: an in-process, scripted vhost-user back-end for front-end tests.
//
// A thread serves one end of a unix_channel_pair():
//   - records every request (code, payload, fd count and the fds' inodes, flags);
//   - answers GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM, GET_VRING_BASE
//     and GET_CONFIG from DummyConfig; answers every request that has need_reply
//     with DummyConfig::ack (as DPDK does, whether or not REPLY_ACK was negotiated);
//   - misbehaves once, at a chosen step (0-based request count) or on the first
//     request with a chosen code (Fault).
// The thread stops on EOF, on its own close fault, or on stop() (also run by
// the destructor); every wait in it is bounded, so tests never hang on it.
#pragma once

#include <sys/stat.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "nfv/vhost_user/channel.hpp"

namespace vu_test {

using namespace nfv::vhost_user;

inline constexpr uint64_t kVersion1 = uint64_t{1} << 32;  // VIRTIO_F_VERSION_1

struct Fault {
  enum Kind {
    none,
    close,        // close the socket instead of answering
    wrong_code,   // answer with a GET_STATUS reply (code 40, never asked by the front-end)
    bad_size,     // answer with the right code but a 4-byte payload (raw bytes)
    nack,         // need_reply ack of 1; GET_CONFIG: empty answer (the spec's error)
    silent,       // do not answer this request
    unsolicited,  // answer normally, then send an extra GET_STATUS reply
  };
  Kind kind = none;
  std::optional<std::size_t> at_step;              // fires on request number N (0-based)...
  std::optional<FrontendRequest> at_request;       // ...or on the first request with this code
};

struct DummyConfig {
  uint64_t features = kVersion1 | kFeatureProtocolFeatures;
  uint64_t protocol_features = bit(ProtocolFeature::mq) | bit(ProtocolFeature::reply_ack) | bit(ProtocolFeature::config);
  uint64_t queue_num = 4;
  uint64_t ack = 0;                  // answer to need_reply (0 = success)
  uint32_t vring_base = 0;           // GET_VRING_BASE's num
  uint32_t vring_index_skew = 0;     // added to the index in GET_VRING_BASE's answer
  uint32_t config_offset_skew = 0;   // added to the offset in GET_CONFIG's answer
  std::vector<uint8_t> config;       // config space; GET_CONFIG reads it (zero beyond its end)
  Fault fault;
};

struct Received {
  uint32_t code;
  uint32_t flags;
  std::vector<uint8_t> payload;
  std::size_t fd_count;
  std::vector<ino_t> fd_inodes;  // to check which file arrived (memfds have their own inode)

  bool need_reply() const { return (flags & kFlagNeedReply) != 0; }
  template <typename T>
  T as() const {
    T v{};
    std::memcpy(&v, payload.data(), std::min(sizeof v, payload.size()));  // bytes -> trivially copyable T
    return v;
  }
};

class DummyBackend {
 public:
  DummyBackend(UnixChannel end, DummyConfig cfg) : chan_(std::move(end)), cfg_(std::move(cfg)) {
    thread_ = std::thread([this] {
      serve();
      std::lock_guard lock(mu_);
      done_ = true;
      cv_.notify_all();
    });
  }
  DummyBackend(const DummyBackend&) = delete;
  DummyBackend& operator=(const DummyBackend&) = delete;
  ~DummyBackend() { stop(); }

  // Stops the thread and closes the back-end's socket (the front-end sees EOF).
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    chan_.reset();
  }

  // After the front-end closed its end: waits (at most `timeout`) until the
  // thread has read everything up to EOF, then stops it. The log is complete.
  void finish(std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, timeout, [&] { return done_; });
    }
    stop();
  }

  std::vector<Received> requests() const {
    std::lock_guard lock(mu_);
    return log_;
  }
  std::vector<uint32_t> codes() const {
    std::vector<uint32_t> out;
    for (const auto& r : requests()) out.push_back(r.code);
    return out;
  }
  // Waits (at most `timeout`) until `n` requests arrived: requests without an
  // answer may still be in flight when the front-end's call returns.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(2)) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return log_.size() >= n; });
  }

 private:
  void serve() {
    using R = FrontendRequest;
    std::size_t step = 0;
    while (!stop_) {
      auto m = chan_->receive(MessageKind::request, std::chrono::milliseconds(20));
      if (!m) {
        if (m.error().code == nfv::Errc::timeout && !chan_->broken()) continue;  // idle: look at stop_
        return;  // EOF or garbage from the front-end: stop serving
      }
      record(*m);
      const Fault::Kind f = fires(step++, m->code()) ? cfg_.fault.kind : Fault::none;
      const R code = static_cast<R>(m->code());
      if (f == Fault::close) {
        chan_.reset();
        return;
      }
      if (f == Fault::silent) continue;
      if (f == Fault::wrong_code) {
        send(Message::reply(R::get_status, uint64_t{0}));
        continue;
      }
      if (f == Fault::bad_size) {
        send_raw(m->code(), 4);
        continue;
      }
      switch (code) {
        case R::get_features: send(Message::reply(code, cfg_.features)); break;
        case R::get_protocol_features: send(Message::reply(code, cfg_.protocol_features)); break;
        case R::get_queue_num: send(Message::reply(code, cfg_.queue_num)); break;
        case R::get_vring_base: {
          const auto asked = m->as<VringState>();
          const uint32_t index = asked ? asked->index : 0;
          send(Message::reply(code, VringState{index + cfg_.vring_index_skew, cfg_.vring_base}));
          break;
        }
        case R::get_config: answer_config(*m, f == Fault::nack); break;
        default:
          if (m->need_reply()) send(Message::reply(code, f == Fault::nack ? uint64_t{1} : cfg_.ack));
          break;
      }
      if (f == Fault::unsolicited) send(Message::reply(R::get_status, uint64_t{0}));
    }
  }

  bool fires(std::size_t step, uint32_t code) {
    if (cfg_.fault.kind == Fault::none || fired_) return false;
    const bool hit = (cfg_.fault.at_step && *cfg_.fault.at_step == step) ||
                     (cfg_.fault.at_request && static_cast<uint32_t>(*cfg_.fault.at_request) == code);
    if (hit) fired_ = true;
    return hit;
  }

  void record(const Message& m) {
    Received r{m.code(), m.header().flags, {m.payload().begin(), m.payload().end()}, m.fds().size(), {}};
    for (const auto& fd : m.fds()) {
      struct stat st {};
      r.fd_inodes.push_back(::fstat(fd.get(), &st) == 0 ? st.st_ino : 0);
    }
    {
      std::lock_guard lock(mu_);
      log_.push_back(std::move(r));
    }
    cv_.notify_all();
  }

  void answer_config(const Message& m, bool nack) {
    const auto cs = m.config_space();
    if (nack || !cs) {
      send(Message(MessageKind::reply, static_cast<uint32_t>(FrontendRequest::get_config)));
      return;
    }
    const auto [h, data] = *cs;
    std::vector<uint8_t> out(h.size, 0);
    for (uint32_t i = 0; i < h.size; ++i) {
      if (h.offset + i < cfg_.config.size()) out[i] = cfg_.config[h.offset + i];
    }
    send(Message::config(MessageKind::reply, FrontendRequest::get_config, h.offset + cfg_.config_offset_skew, 0, out));
  }

  void send(const Message& m) {
    if (chan_) (void)chan_->send(m, {}, std::chrono::milliseconds(500));
  }

  // A reply header with `size` payload bytes that break the reply's layout.
  void send_raw(uint32_t code, uint32_t size) {
    std::vector<uint8_t> bytes(kHeaderSize + size, 0xab);
    const Header h{code, kVersion | kFlagReply, size};
    std::memcpy(bytes.data(), &h, sizeof h);  // Header is the wire layout (protocol.hpp)
    (void)::send(chan_->fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }

  std::optional<UnixChannel> chan_;
  const DummyConfig cfg_;
  bool fired_ = false;  // touched by the serving thread only
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Received> log_;
  bool done_ = false;  // serve() returned
  std::thread thread_;
};

}  // namespace vu_test
