// EventLoop: fds, timers, signals, stop().
#include "nfv/control/event_loop.hpp"

#include <doctest/doctest.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <thread>

using nfv::control::EventLoop;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A pipe whose read end the loop watches.
struct Pipe {
  int fds[2] = {-1, -1};
  Pipe() { REQUIRE(::pipe(fds) == 0); }
  ~Pipe() {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }
  int read_end() const { return fds[0]; }
  void poke() const { REQUIRE(::write(fds[1], "x", 1) == 1); }
  void drain() const {
    char buf[64];
    [[maybe_unused]] ssize_t n = ::read(fds[0], buf, sizeof buf);
  }
};

// Runs `loop` until `done()` or one second passes; false on timeout.
template <typename Pred>
bool run_until(EventLoop& loop, Pred done) {
  const auto deadline = Clock::now() + 1s;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    loop.run_once(20ms);
  }
  return true;
}

}  // namespace

TEST_CASE("readable fds are dispatched") {
  EventLoop loop;
  Pipe p;
  int calls = 0;
  loop.add_fd(p.read_end(), [&] {
    ++calls;
    p.drain();
  });
  loop.run_once(0ms);
  CHECK(calls == 0);
  p.poke();
  loop.run_once(100ms);
  CHECK(calls == 1);
  loop.remove_fd(p.read_end());
  p.poke();
  loop.run_once(10ms);
  CHECK(calls == 1);
}

TEST_CASE("a callback may remove itself and fds that are ready in the same round") {
  EventLoop loop;
  Pipe a, b;
  int a_calls = 0, b_calls = 0;
  loop.add_fd(a.read_end(), [&] {
    ++a_calls;
    loop.remove_fd(a.read_end());  // itself
    loop.remove_fd(b.read_end());  // ready too, but must not be called now
  });
  loop.add_fd(b.read_end(), [&] { ++b_calls; });
  a.poke();
  b.poke();
  loop.run_once(100ms);
  loop.run_once(10ms);
  CHECK(a_calls == 1);
  CHECK(b_calls == 0);
}

TEST_CASE("add_fd on a registered fd replaces its callback") {
  EventLoop loop;
  Pipe p;
  int old_calls = 0, new_calls = 0;
  loop.add_fd(p.read_end(), [&] { ++old_calls; });
  loop.add_fd(p.read_end(), [&] {
    ++new_calls;
    p.drain();
  });
  p.poke();
  loop.run_once(100ms);
  CHECK(old_calls == 0);
  CHECK(new_calls == 1);
}

TEST_CASE("an fd closed while registered is dropped instead of spinning") {
  EventLoop loop;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  int calls = 0;
  loop.add_fd(fds[0], [&] { ++calls; });
  ::close(fds[0]);
  ::close(fds[1]);
  loop.run_once(0ms);  // POLLNVAL: warns and forgets the fd
  loop.run_once(0ms);
  CHECK(calls == 0);
}

TEST_CASE("periodic timers fire, and can be cancelled, also from their own callback") {
  EventLoop loop;
  int ticks = 0, once = 0, never = 0;
  const auto start = Clock::now();
  loop.add_timer(10ms, [&] { ++ticks; });
  EventLoop::TimerId once_id = 0;
  once_id = loop.add_timer(5ms, [&] {
    ++once;
    loop.cancel_timer(once_id);
  });
  const auto never_id = loop.add_timer(15ms, [&] { ++never; });
  loop.cancel_timer(never_id);

  REQUIRE(run_until(loop, [&] { return ticks >= 3; }));
  CHECK(Clock::now() - start >= 30ms);  // first after one period, then every period
  CHECK(once == 1);
  CHECK(never == 0);
}

TEST_CASE("run_once returns after its timeout when nothing happens") {
  EventLoop loop;
  const auto start = Clock::now();
  loop.run_once(30ms);
  const auto waited = Clock::now() - start;
  CHECK(waited >= 25ms);
  CHECK(waited < 500ms);
}

TEST_CASE("stop() from another thread ends run()") {
  EventLoop loop;
  CHECK_FALSE(loop.stopped());
  std::thread stopper([&] {
    std::this_thread::sleep_for(20ms);
    loop.stop();
  });
  const auto start = Clock::now();
  loop.run();  // no fds, no timers: only the stop() wakes it
  stopper.join();
  CHECK(loop.stopped());
  CHECK(Clock::now() - start < 1s);
}

TEST_CASE("stop() from a callback, and stop() before run()") {
  EventLoop loop;
  int ticks = 0;
  loop.add_timer(5ms, [&] {
    if (++ticks == 2) loop.stop();
  });
  loop.run();
  CHECK(ticks == 2);

  EventLoop early;
  early.stop();
  early.run();  // returns at once
  CHECK(early.stopped());
}

TEST_CASE("SIGTERM and SIGINT are delivered to the loop through signalfd") {
  EventLoop loop;
  std::vector<int> seen;
  auto status = loop.handle_termination_signals([&](int signo) {
    seen.push_back(signo);
    loop.stop();
  });
  REQUIRE(status.ok());
  // Thread-directed, so it is pending on this thread, whose mask now blocks it.
  // NOLINTNEXTLINE(bugprone-bad-signal-to-kill-thread): blocked here, read through signalfd
  REQUIRE(::pthread_kill(::pthread_self(), SIGTERM) == 0);
  REQUIRE(run_until(loop, [&] { return !seen.empty(); }));
  CHECK(seen == std::vector<int>{SIGTERM});
  CHECK(loop.stopped());

  REQUIRE(::pthread_kill(::pthread_self(), SIGINT) == 0);
  REQUIRE(run_until(loop, [&] { return seen.size() == 2; }));
  CHECK(seen[1] == SIGINT);

  sigset_t blocked;
  REQUIRE(::pthread_sigmask(SIG_BLOCK, nullptr, &blocked) == 0);
  CHECK(sigismember(&blocked, SIGTERM) == 1);
  CHECK(sigismember(&blocked, SIGINT) == 1);
}
