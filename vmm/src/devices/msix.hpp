// MsixTable: the MSI-X table and pending-bit array of one PCI function
// (PCI Local Bus 3.0, 6.8.2), as mapped into a BAR, and interrupt delivery.
//
// Table entry (16 bytes): message address low/high, message data, vector
// control (bit 0: masked; set at reset). The capability's message control
// (enable bit 15, function mask bit 14) lives in configuration space; the
// owner forwards it with set_control(). A vector raised while masked (entry or
// function mask) sets its pending bit and is delivered when unmasked.
// Accesses: aligned dwords or qwords (6.8.2); others are ignored and counted.
//
// Delivery goes to an MsiSink (the VMM: KVM_SIGNAL_MSI) only for messages an
// x86 guest can mean: address 0xFEExxxxx (the local APIC window, Intel SDM
// 11.11.1) with a zero high dword. Anything else is guest garbage: counted
// (bad_messages) and dropped, never handed to KVM. For the data path
// the VMM instead routes vectors to irqfds (KVM_SET_GSI_ROUTING) using
// vector() and the change notifications the owning device reports.
//
// Not thread-safe: the owning device serialises access with its own mutex.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "nfv/counter.hpp"

namespace nfv::vmm {

class MsiSink {
 public:
  virtual ~MsiSink() = default;
  virtual void signal(uint64_t address, uint32_t data) = 0;
};

// True for an MSI address an x86 guest can mean: the local APIC window
// 0xFEExxxxx with a zero high dword. Routes (irqfd) should use only these.
constexpr bool is_apic_msi_address(uint64_t address) noexcept { return (address >> 20) == 0xfee; }

struct MsixVector {
  uint64_t address = 0;
  uint32_t data = 0;
  bool masked = true;   // entry mask, function mask, or MSI-X disabled
  bool pending = false;
};

class MsixTable {
 public:
  static constexpr uint16_t kMaxEntries = 2048;
  static constexpr uint32_t kEntrySize = 16;

  explicit MsixTable(uint16_t entries);  // clamped to 1..2048

  uint16_t size() const noexcept { return static_cast<uint16_t>(entries_.size()); }
  uint32_t table_bytes() const noexcept { return size() * kEntrySize; }
  uint32_t pba_bytes() const noexcept { return ((size() + 63u) / 64u) * 8u; }

  // Offsets relative to the table / PBA start. table_write returns the vector
  // whose entry changed (or -1), and delivers a pending vector it unmasks.
  void table_read(uint64_t offset, std::span<uint8_t> data);
  int table_write(uint64_t offset, std::span<const uint8_t> data, MsiSink* sink);
  void pba_read(uint64_t offset, std::span<uint8_t> data);

  // From the capability's message control; delivers pending vectors that
  // become unmasked.
  void set_control(bool enabled, bool function_mask, MsiSink* sink);
  bool enabled() const noexcept { return enabled_; }
  bool function_masked() const noexcept { return function_mask_; }

  // Raise `vector`: delivered now, or left pending while masked. False when
  // not delivered (masked, disabled, out of range).
  bool raise(uint16_t vector, MsiSink* sink);
  MsixVector vector(uint16_t v) const;

  // PCI function reset: every entry masked and zeroed, nothing pending.
  void reset();

  uint64_t bad_accesses() const noexcept { return bad_accesses_.load(); }
  uint64_t left_pending() const noexcept { return left_pending_.load(); }
  uint64_t bad_messages() const noexcept { return bad_messages_.load(); }

 private:
  struct Entry {
    uint32_t addr_lo = 0, addr_hi = 0, data = 0, control = 1;
  };
  bool deliverable(const Entry& e) const noexcept { return enabled_ && !function_mask_ && !(e.control & 1); }
  void deliver_pending(MsiSink* sink);
  bool send(const Entry& e, MsiSink* sink);  // false (and counted) for a message outside the APIC window

  std::vector<Entry> entries_;
  std::vector<bool> pending_;
  bool enabled_ = false;
  bool function_mask_ = false;
  Counter bad_accesses_;
  Counter left_pending_;
  Counter bad_messages_;
};

}  // namespace nfv::vmm
