// vhost-user front-end against a misbehaving back-end: at every step of the
// handshake the back-end hangs up, answers with the wrong code, a malformed
// size, a failure, nothing, or an extra message. The front-end must fail at the
// first step that waits for an answer, with the right Errc and a message naming
// that step, within a bounded time, and send nothing after it.
#include <doctest/doctest.h>

#include <chrono>

#include "frontend_helpers.hpp"

using namespace nfv::vhost_user;
using namespace std::chrono_literals;
using namespace vu_test;
using nfv::Errc;

namespace {

using Clock = std::chrono::steady_clock;

struct Outcome {
  Run run;
  std::vector<Received> log;
  Clock::duration took;
};

Outcome run_with_fault(Fault::Kind kind, std::size_t step, FrontendOptions opt = full_options()) {
  DummyConfig cfg;
  cfg.config = {9, 9, 9, 9, 9, 9};
  cfg.fault = {kind, step, std::nullopt};
  auto rig = make_rig(cfg);
  Env env;
  const auto t0 = Clock::now();
  Outcome out{run_handshake(std::move(rig.front), opt, env), {}, {}};
  out.took = Clock::now() - t0;
  out.run.fe.reset();  // close our end: the back-end reads what is left, sees EOF and ends
  rig.back->finish();
  out.log = rig.back->requests();
  return out;
}

// Expects the handshake to fail at `at` with `code`, having sent nothing after it.
void expect_failure_at(const Outcome& o, std::size_t at, Errc code) {
  REQUIRE(at < kStepCount);
  const std::string failing = kSteps[at];
  CAPTURE(failing);
  REQUIRE_FALSE(o.run.status.ok());
  const auto& e = o.run.status.error();
  CAPTURE(e.message);
  CHECK(nfv::errc_name(e.code) == std::string(nfv::errc_name(code)));
  CHECK(names_step(e, kSteps[at]));
  CHECK(o.log.size() <= at + 1);  // the failing request itself may be lost with a closed socket
  CHECK(o.took < 2s);
}

}  // namespace

TEST_CASE("back-end closes the socket at step N: disconnected at the first step that waits") {
  for (std::size_t n = 0; n < kStepCount; ++n) {
    const std::string step = kSteps[n];
    CAPTURE(step);
    const auto o = run_with_fault(Fault::close, n);
    expect_failure_at(o, first_answered_from(n), Errc::disconnected);
    CHECK(o.log.size() >= n + 1);
    CHECK(o.run.status.error().message.find("reconnect") != std::string::npos);
  }
}

TEST_CASE("back-end answers with the wrong request code at step N: protocol error") {
  for (std::size_t n = 0; n < kStepCount; ++n) {
    const std::string step = kSteps[n];
    CAPTURE(step);
    const auto o = run_with_fault(Fault::wrong_code, n);
    const std::size_t at = first_answered_from(n);
    expect_failure_at(o, at, Errc::protocol);
    CHECK(o.log.size() == at + 1);
    CHECK(o.run.status.error().message.find("GET_STATUS reply") != std::string::npos);
  }
}

TEST_CASE("back-end answers with a malformed size at step N: protocol error") {
  for (std::size_t n = 0; n < kStepCount; ++n) {
    const std::string step = kSteps[n];
    CAPTURE(step);
    const auto o = run_with_fault(Fault::bad_size, n);
    const std::size_t at = first_answered_from(n);
    expect_failure_at(o, at, Errc::protocol);
    CHECK(o.log.size() == at + 1);
    CHECK(o.run.status.error().message.find("malformed answer") != std::string::npos);
  }
}

TEST_CASE("back-end sends an extra message after step N: the next waiting step sees it") {
  for (std::size_t n = 0; n + 1 < kStepCount; ++n) {
    const std::string step = kSteps[n];
    CAPTURE(step);
    const auto o = run_with_fault(Fault::unsolicited, n);
    const std::size_t at = first_answered_from(n + 1);
    expect_failure_at(o, at, Errc::protocol);
    CHECK(o.log.size() == at + 1);
  }
}

TEST_CASE("back-end nacks a step: protocol error naming the step and the answer") {
  for (std::size_t n = 5; n <= 13; ++n) {  // every acked SET_* and GET_CONFIG
    const std::string step = kSteps[n];
    CAPTURE(step);
    const auto o = run_with_fault(Fault::nack, n);
    expect_failure_at(o, n, Errc::protocol);
    CHECK(o.log.size() == n + 1);
    const std::string want = n == 13 ? "empty answer" : std::string(kSteps[n]) + ": back-end answered 1 (failure)";
    CHECK(o.run.status.error().message.find(want) != std::string::npos);
  }
}

TEST_CASE("any non-zero ack fails, with the value in the message") {
  {
    DummyConfig cfg;
    cfg.ack = 7;
    auto rig = make_rig(cfg);
    auto fe = VhostUserFrontend::start(std::move(rig.front), full_options());
    REQUIRE(fe.ok());
    auto s = fe->set_features(kVersion1);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message.rfind("vhost-user SET_FEATURES: back-end answered 7 (failure)", 0) == 0);
    CHECK(fe->acked_features() == 0);
  }
}

TEST_CASE("without REPLY_ACK a SET_* failure cannot be seen (and nothing waits for one)") {
  {
    auto opt = full_options();
    opt.protocol_features &= ~bit(ProtocolFeature::reply_ack);
    const auto o = run_with_fault(Fault::nack, 6, opt);
    CHECK(o.run.status.ok());
  }
}

TEST_CASE("back-end never answers: timeout within reply_timeout, naming the step; then refused") {
  for (std::size_t n : {1u, 2u, 4u, 6u, 11u, 13u, 14u}) {
    const std::string step = kSteps[n];
    CAPTURE(step);
    const auto o = run_with_fault(Fault::silent, n);
    expect_failure_at(o, n, Errc::timeout);
    CHECK(o.log.size() == n + 1);
    CHECK(o.took >= 490ms);
    CHECK(o.took < 2s);
    CHECK(o.run.status.error().message.find("500 ms") != std::string::npos);
  }
}

TEST_CASE("after a timeout a late answer is never taken for the next request's") {
  {
    DummyConfig cfg;
    cfg.fault = {Fault::silent, std::nullopt, FrontendRequest::set_features};
    auto rig = make_rig(cfg);
    auto fe = VhostUserFrontend::start(std::move(rig.front), full_options());
    REQUIRE(fe.ok());
    CHECK(fe->set_features(kVersion1).error().code == Errc::timeout);
    const std::size_t sent = rig.back->requests().size();
    auto s = fe->enable_vring(0, true);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == Errc::disconnected);
    CHECK(names_step(s.error(), "SET_VRING_ENABLE"));
    CHECK(s.error().message.find("not sent") != std::string::npos);
    CHECK(fe->check_alive().error().code == Errc::disconnected);
    CHECK(rig.back->requests().size() == sent);
  }
}

TEST_CASE("silence where nothing is awaited goes unnoticed") {
  {
    for (std::size_t n : {0u, 3u}) {
      const auto o = run_with_fault(Fault::silent, n);
      CHECK(o.run.status.ok());
    }
  }
}
