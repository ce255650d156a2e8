// Shared by the front-end tests: a front-end/back-end pair over a socketpair,
// memory and eventfds to hand over, and the whole handshake for one ring.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <optional>

#include "dummy_backend.hpp"
#include "fd_helpers.hpp"
#include "nfv/vhost_user/frontend.hpp"

namespace vu_test {

// The front-end's channel and a dummy back-end serving the other end.
struct Rig {
  std::unique_ptr<DummyBackend> back;
  UnixChannel front{UniqueFd()};
};
inline Rig make_rig(DummyConfig cfg = {}) {
  auto p = unix_channel_pair();
  REQUIRE(p.ok());
  return Rig{std::make_unique<DummyBackend>(std::move(p->second), std::move(cfg)), std::move(p->first)};
}

inline constexpr uint64_t kFrontUserBase = 0x7f0000000000;

struct Env {
  UniqueFd mem{make_memfd(1 << 16)};
  UniqueFd kick{make_eventfd()};
  UniqueFd call{make_eventfd()};
  SharedMemory region() const { return {MemoryRegion{0x100000, 1 << 16, kFrontUserBase, 0}, mem.get()}; }
  // Ring 1: kick fd, no call fd (NOFD).
  VringSetup ring() const {
    return {1, 256, kFrontUserBase, kFrontUserBase + 0x1000, kFrontUserBase + 0x2000, 5, kick.get(), -1};
  }
};

// The handshake the fault tests walk through, as the requests go out with
// protocol features, MQ, REPLY_ACK and CONFIG negotiated.
inline constexpr const char* kSteps[] = {
    "SET_OWNER",      "GET_FEATURES",   "GET_PROTOCOL_FEATURES", "SET_PROTOCOL_FEATURES", "GET_QUEUE_NUM",
    "SET_FEATURES",   "SET_MEM_TABLE",  "SET_VRING_CALL",        "SET_VRING_NUM",         "SET_VRING_BASE",
    "SET_VRING_ADDR", "SET_VRING_KICK", "SET_VRING_ENABLE",      "GET_CONFIG",            "GET_VRING_BASE",
};
inline constexpr std::size_t kStepCount = std::size(kSteps);
inline constexpr uint32_t kStepCodes[] = {3, 1, 15, 16, 17, 2, 5, 13, 8, 10, 9, 12, 18, 24, 11};
static_assert(std::size(kStepCodes) == kStepCount);

// Steps the front-end waits on (all but SET_OWNER and SET_PROTOCOL_FEATURES,
// which go out before REPLY_ACK is in force).
inline bool answered(std::size_t step) { return step != 0 && step != 3; }
inline std::size_t first_answered_from(std::size_t step) {
  while (step < kStepCount && !answered(step)) ++step;
  return step;
}

inline FrontendOptions full_options(std::chrono::milliseconds timeout = std::chrono::milliseconds(500)) {
  FrontendOptions o;
  o.protocol_features = bit(ProtocolFeature::mq) | bit(ProtocolFeature::reply_ack) | bit(ProtocolFeature::config);
  o.reply_timeout = timeout;
  return o;
}

struct Run {
  nfv::Status status;
  std::optional<VhostUserFrontend> fe;
  std::optional<uint16_t> stopped_at;  // stop_vring's answer
};

// start, set_features(VERSION_1), set_mem_table, setup_vring(ring 1),
// enable_vring(1), get_config(0, 6) if CONFIG was negotiated, stop_vring(1);
// stops at the first error.
inline Run run_handshake(UnixChannel ch, const FrontendOptions& opt, const Env& env) {
  Run out;
  auto started = VhostUserFrontend::start(std::move(ch), opt);
  if (!started) {
    out.status = started.error();
    return out;
  }
  auto& fe = out.fe.emplace(std::move(*started));
  const auto failed = [&](nfv::Status s) {
    if (!s) out.status = std::move(s);
    return !out.status.ok();
  };
  const SharedMemory mem[] = {env.region()};
  if (failed(fe.set_features(kVersion1)) || failed(fe.set_mem_table(mem)) || failed(fe.setup_vring(env.ring())) ||
      failed(fe.enable_vring(1, true)))
    return out;
  if (fe.has(ProtocolFeature::config)) {
    if (auto c = fe.get_config(0, 6); !c) {
      out.status = c.error();
      return out;
    }
  }
  auto b = fe.stop_vring(1);
  if (!b) {
    out.status = b.error();
    return out;
  }
  out.stopped_at = *b;
  return out;
}

inline bool names_step(const nfv::Error& e, const char* step) {
  return e.message.rfind(std::string("vhost-user ") + step + ": ", 0) == 0;
}

}  // namespace vu_test
