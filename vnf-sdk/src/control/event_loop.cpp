// EventLoop: poll(2) over the registered fds plus two internal ones, an eventfd
// that stop() writes to and (optionally) a signalfd for SIGINT/SIGTERM.
//
// Dispatch works on a snapshot of the pollfd array and looks every ready fd up
// again (fd number and registration generation) before calling it, so a
// callback may remove or replace any fd, itself included, and may add or
// cancel timers. Callbacks are held by shared_ptr and copied before the call,
// so a callback that removes itself does not destroy the function it runs in.
//
// stop() is final: once called, run() returns (now or as soon as it is
// entered) and stopped() stays true. run_once() keeps working after stop().
// A negative run_once() timeout waits until an fd, a timer or stop() wakes it.
#include "nfv/control/event_loop.hpp"

#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <map>
#include <string>
#include <system_error>

namespace nfv::control {

namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(int err) { return std::system_category().message(err); }

}  // namespace

struct EventLoop::Impl {
  struct FdEntry {
    int fd;
    uint64_t generation;  // tells a re-registered fd number from the one poll() saw
    std::shared_ptr<Callback> callback;
  };
  struct Timer {
    std::chrono::milliseconds period;
    Clock::time_point due;
    std::shared_ptr<Callback> callback;
  };

  std::vector<FdEntry> fds;
  std::map<TimerId, Timer> timers;
  TimerId next_timer_id = 1;
  uint64_t next_generation = 1;

  int wake_fd = -1;    // eventfd written by stop()
  int signal_fd = -1;  // signalfd for SIGINT/SIGTERM, once requested
  std::function<void(int)> on_signal;
  std::atomic<bool> stop_requested{false};

  // Reused between iterations so an idle loop does not allocate.
  std::vector<pollfd> pollfds;
  std::vector<uint64_t> poll_generations;
  std::vector<TimerId> due_timers;

  FdEntry* find_fd(int fd) {
    auto it = std::find_if(fds.begin(), fds.end(), [fd](const FdEntry& e) { return e.fd == fd; });
    return it == fds.end() ? nullptr : &*it;
  }

  int poll_timeout_ms(std::chrono::milliseconds timeout) const;
  void drain_wake_fd() const;
  void read_signals();
  void dispatch_fds(size_t first_user);
  void fire_due_timers();
};

int EventLoop::Impl::poll_timeout_ms(std::chrono::milliseconds timeout) const {
  auto wait = timeout;
  if (!timers.empty()) {
    auto earliest = timers.begin()->second.due;
    for (const auto& [id, timer] : timers) earliest = std::min(earliest, timer.due);
    // Round up: waking a fraction of a millisecond early would spin until the deadline.
    auto until_due = std::chrono::ceil<std::chrono::milliseconds>(earliest - Clock::now());
    until_due = std::max(until_due, std::chrono::milliseconds(0));
    wait = wait.count() < 0 ? until_due : std::min(wait, until_due);
  }
  if (wait.count() < 0) return -1;
  return static_cast<int>(std::min<int64_t>(wait.count(), INT32_MAX));
}

void EventLoop::Impl::drain_wake_fd() const {
  uint64_t value = 0;
  // The eventfd is non-blocking; one read resets its counter to zero.
  [[maybe_unused]] ssize_t n = ::read(wake_fd, &value, sizeof value);
}

void EventLoop::Impl::read_signals() {
  signalfd_siginfo info{};
  for (;;) {
    ssize_t n = ::read(signal_fd, &info, sizeof info);
    if (n != static_cast<ssize_t>(sizeof info)) return;  // EAGAIN: all pending signals read
    if (on_signal) {
      auto fn = on_signal;  // the handler may replace itself
      fn(static_cast<int>(info.ssi_signo));
    }
  }
}

void EventLoop::Impl::dispatch_fds(size_t first_user) {
  for (size_t i = first_user; i < pollfds.size(); ++i) {
    const pollfd& p = pollfds[i];
    if (p.revents == 0) continue;
    FdEntry* entry = find_fd(p.fd);
    // Removed (or removed and re-added) by an earlier callback in this round: the
    // event belonged to the old registration.
    if (entry == nullptr || entry->generation != poll_generations[i]) continue;
    if ((p.revents & POLLNVAL) != 0) {
      // Closed without remove_fd(): calling back would spin on EBADF forever.
      spdlog::warn("event loop: fd {} was closed while registered; removing it", p.fd);
      fds.erase(fds.begin() + (entry - fds.data()));
      continue;
    }
    auto callback = entry->callback;
    (*callback)();
  }
}

void EventLoop::Impl::fire_due_timers() {
  const auto now = Clock::now();
  due_timers.clear();
  for (const auto& [id, timer] : timers) {
    if (timer.due <= now) due_timers.push_back(id);
  }
  for (TimerId id : due_timers) {
    auto it = timers.find(id);
    if (it == timers.end()) continue;  // cancelled by an earlier callback
    Timer& timer = it->second;
    timer.due += timer.period;
    if (timer.due <= now) timer.due = now + timer.period;  // missed ticks are skipped, not replayed
    auto callback = timer.callback;
    (*callback)();
  }
}

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {
  impl_->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl_->wake_fd < 0) {
    // Without the eventfd stop() from another thread only takes effect at the
    // next wake-up; every other function still works.
    spdlog::warn("event loop: eventfd failed ({}); stop() will wait for the next event",
                 errno_text(errno));
  }
}

EventLoop::~EventLoop() {
  if (impl_->wake_fd >= 0) ::close(impl_->wake_fd);
  if (impl_->signal_fd >= 0) ::close(impl_->signal_fd);
}

void EventLoop::add_fd(int fd, Callback on_readable) {
  auto callback = std::make_shared<Callback>(std::move(on_readable));
  const uint64_t generation = impl_->next_generation++;
  if (Impl::FdEntry* entry = impl_->find_fd(fd)) {
    *entry = Impl::FdEntry{fd, generation, std::move(callback)};
    return;
  }
  impl_->fds.push_back(Impl::FdEntry{fd, generation, std::move(callback)});
}

void EventLoop::remove_fd(int fd) {
  auto& fds = impl_->fds;
  fds.erase(std::remove_if(fds.begin(), fds.end(), [fd](const auto& e) { return e.fd == fd; }),
            fds.end());
}

EventLoop::TimerId EventLoop::add_timer(std::chrono::milliseconds period, Callback fn) {
  // A zero or negative period would make the loop spin; one millisecond is the floor.
  period = std::max(period, std::chrono::milliseconds(1));
  const TimerId id = impl_->next_timer_id++;
  impl_->timers.emplace(
      id, Impl::Timer{period, Clock::now() + period, std::make_shared<Callback>(std::move(fn))});
  return id;
}

void EventLoop::cancel_timer(TimerId id) { impl_->timers.erase(id); }

Status EventLoop::handle_termination_signals(std::function<void(int)> fn) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (int err = pthread_sigmask(SIG_BLOCK, &set, nullptr); err != 0) {
    return make_error(Errc::io, "cannot block SIGINT/SIGTERM: " + errno_text(err));
  }
  if (impl_->signal_fd < 0) {
    impl_->signal_fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (impl_->signal_fd < 0) {
      return make_error(Errc::io, "signalfd for SIGINT/SIGTERM failed: " + errno_text(errno));
    }
  }
  impl_->on_signal = std::move(fn);
  return {};
}

void EventLoop::run() {
  while (!stopped()) run_once(std::chrono::milliseconds(-1));
}

void EventLoop::run_once(std::chrono::milliseconds timeout) {
  Impl& im = *impl_;
  im.pollfds.clear();
  im.poll_generations.clear();
  if (im.wake_fd >= 0) im.pollfds.push_back(pollfd{im.wake_fd, POLLIN, 0});
  if (im.signal_fd >= 0) im.pollfds.push_back(pollfd{im.signal_fd, POLLIN, 0});
  const size_t first_user = im.pollfds.size();
  im.poll_generations.resize(first_user, 0);
  for (const auto& entry : im.fds) {
    im.pollfds.push_back(pollfd{entry.fd, POLLIN, 0});
    im.poll_generations.push_back(entry.generation);
  }

  // A stop() that already happened must not be slept through.
  const int wait_ms = stopped() ? 0 : im.poll_timeout_ms(timeout);
  const int ready = ::poll(im.pollfds.data(), im.pollfds.size(), wait_ms);
  if (ready < 0 && errno != EINTR) {
    spdlog::error("event loop: poll failed: {}", errno_text(errno));
    return;
  }
  if (ready > 0) {
    for (size_t i = 0; i < first_user; ++i) {
      if (im.pollfds[i].revents == 0) continue;
      if (im.pollfds[i].fd == im.wake_fd) im.drain_wake_fd();
      if (im.pollfds[i].fd == im.signal_fd) im.read_signals();
    }
    im.dispatch_fds(first_user);
  }
  im.fire_due_timers();
}

void EventLoop::stop() {
  impl_->stop_requested.store(true, std::memory_order_release);
  if (impl_->wake_fd >= 0) {
    const uint64_t one = 1;
    // eventfd writes are thread-safe; EAGAIN (counter saturated) still leaves it readable.
    [[maybe_unused]] ssize_t n = ::write(impl_->wake_fd, &one, sizeof one);
  }
}

bool EventLoop::stopped() const noexcept {
  return impl_->stop_requested.load(std::memory_order_acquire);
}

}  // namespace nfv::control
