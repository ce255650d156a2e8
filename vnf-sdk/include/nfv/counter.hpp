// Counter: a statistics counter with ONE writer thread (the data path) and
// any number of readers (the control thread's stats, JSON-RPC).
//
// The writer adds with a relaxed load + relaxed store (no locked
// read-modify-write: on x86 it compiles to the same add as a plain uint64_t),
// readers load relaxed, so reading counters of a running PMD is not a data
// race. Copying a struct of Counters is a snapshot, field by field.
#pragma once

#include <atomic>
#include <cstdint>

namespace nfv {

class Counter {
 public:
  Counter() noexcept = default;
  Counter(uint64_t v) noexcept : v_(v) {}  // NOLINT: counters start from numbers
  Counter(const Counter& o) noexcept : v_(o.load()) {}
  Counter& operator=(const Counter& o) noexcept {
    v_.store(o.load(), std::memory_order_relaxed);
    return *this;
  }

  // Writer thread only.
  void add(uint64_t n) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  Counter& operator++() noexcept {
    add(1);
    return *this;
  }
  Counter& operator+=(uint64_t n) noexcept {
    add(n);
    return *this;
  }
  // Any thread.
  uint64_t load() const noexcept { return v_.load(std::memory_order_relaxed); }
  operator uint64_t() const noexcept { return load(); }  // NOLINT: reads like a number

 private:
  std::atomic<uint64_t> v_{0};
};

}  // namespace nfv
