// IoBus: dispatches guest port-I/O or MMIO accesses to device handlers.
//
// The VMM has two buses, `pio` (16-bit port space: serial, PCI host bridge,
// power port) and `mmio` (guest-physical addresses: virtio-pci BARs). The
// vCPU loop turns a KVM_EXIT_IO / KVM_EXIT_MMIO into bus.read()/bus.write();
// the bus finds the range holding the access and calls the handler with the
// offset inside the range.
//
// Rules:
//  - ranges never overlap: add() refuses an overlapping or empty range;
//  - an access that is not wholly inside one range (unknown address, or one
//    that runs past the end of a range) reads as all-ones and its writes are
//    ignored; both are counted (unhandled_reads / unhandled_writes);
//  - accesses of 1..8 bytes only (KVM never exits with more); longer ones are
//    treated as unhandled.
//
// Concurrency: accesses come from every vCPU thread at once and take a shared
// lock; add/remove/move (setup, or a guest reprogramming a BAR) take it
// exclusively. Handlers do their own locking (a per-device mutex). None of
// this is on the data path: devices are exit-free there.
#pragma once

#include <atomic>
#include <cstdint>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "nfv/result.hpp"

namespace nfv::vmm {

class IoHandler {
 public:
  virtual ~IoHandler() = default;
  // `offset` is relative to the start of the handler's range; data.size() is
  // the access width (1, 2, 4 or 8). read() fills every byte of `data`.
  virtual void read(uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

class IoBus {
 public:
  explicit IoBus(std::string name) : name_(std::move(name)) {}
  IoBus(const IoBus&) = delete;
  IoBus& operator=(const IoBus&) = delete;

  // Registers [base, base+size) for `handler` (not owned; it must outlive its
  // registration). `what` names the device in error messages.
  Status add(uint64_t base, uint64_t size, IoHandler* handler, std::string what);
  // Removes every range of `handler`; false when it had none.
  bool remove(const IoHandler* handler);
  // Moves the range of `handler` that starts at old_base to new_base (a guest
  // reprogrammed a BAR). Refused when the new range overlaps another.
  Status move(const IoHandler* handler, uint64_t old_base, uint64_t new_base);

  // vCPU threads. Return true when a handler took the access.
  bool read(uint64_t address, std::span<uint8_t> data);
  bool write(uint64_t address, std::span<const uint8_t> data);

  uint64_t unhandled_reads() const noexcept { return unhandled_reads_.load(std::memory_order_relaxed); }
  uint64_t unhandled_writes() const noexcept { return unhandled_writes_.load(std::memory_order_relaxed); }
  const std::string& name() const noexcept { return name_; }

 private:
  struct Range {
    uint64_t base;
    uint64_t size;
    IoHandler* handler;
    std::string what;
  };
  // Caller holds mu_ (shared or exclusive).
  const Range* find(uint64_t address, uint64_t len) const noexcept;
  Status check_free(uint64_t base, uint64_t size, const Range* ignore) const;

  std::string name_;
  mutable std::shared_mutex mu_;
  std::vector<Range> ranges_;  // sorted by base
  std::atomic<uint64_t> unhandled_reads_{0};
  std::atomic<uint64_t> unhandled_writes_{0};
};

}  // namespace nfv::vmm
