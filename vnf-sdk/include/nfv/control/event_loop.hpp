// EventLoop: the control thread's single-threaded reactor (poll(2) based).
//
// Every long-running program (switch, VMM, VNF run loop, launcher) runs its
// control plane on one EventLoop: file descriptors, periodic timers and
// SIGINT/SIGTERM (through signalfd, so handlers run in the loop, not in signal
// context). Nothing here is on a packet path.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "nfv/result.hpp"

namespace nfv::control {

class EventLoop {
 public:
  using Callback = std::function<void()>;
  using TimerId = uint64_t;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Calls `on_readable` whenever `fd` is readable (or hung up / in error).
  // The loop does not own the fd; remove it before closing it.
  void add_fd(int fd, Callback on_readable);
  void remove_fd(int fd);

  // Calls `fn` every `period`, first after one period. Returns an id for cancel_timer.
  TimerId add_timer(std::chrono::milliseconds period, Callback fn);
  void cancel_timer(TimerId id);

  // Blocks SIGINT and SIGTERM in the calling thread (call before starting other
  // threads so they inherit the mask) and calls `fn(signo)` from the loop when one arrives.
  Status handle_termination_signals(std::function<void(int)> fn);

  // Runs until stop() is called (from a callback or another thread).
  void run();
  // Runs one iteration, waiting at most `timeout` for something to happen.
  void run_once(std::chrono::milliseconds timeout);
  // Thread-safe: wakes the loop and makes run() return.
  void stop();
  bool stopped() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nfv::control
