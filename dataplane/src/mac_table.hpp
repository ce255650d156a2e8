// MacTable: the L2 bridge's (VLAN, MAC) -> port table, learnt by PMD threads.
//
// Concurrency: any number of PMD threads look up and learn at the same time,
// and the control thread ages and flushes, all without locks. Each entry is two
// 64-bit atomics:
//   key   = 1 << 63 | vlan << 48 | mac          (0: the slot is free)
//   value = tag << 48 | seen_s << 16 | (port+1) (0: not yet written)
// A writer claims a free slot by CAS on the key, then stores the value. A
// reader accepts a value only if the key still matches afterwards and the
// value's tag (16 bits of the key's hash) matches, so a value left behind by a
// writer that raced with a delete/reuse of the slot is read as a miss (the
// packet is flooded, never sent to a stale port of another VLAN).
//
// Layout: 4-entry buckets of one cache line; a key may live in its bucket or
// the next one. When both are full the learner replaces the stalest entry.
// Learning writes only when the port changes or the entry's second ticks, so
// steady traffic does not bounce cache lines between cores.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace nfv::sw {

class MacTable {
 public:
  static constexpr uint16_t kNoPort = 0xffff;
  static constexpr size_t kWays = 4;

  // capacity is rounded up to a power of two (at least 64 entries).
  explicit MacTable(size_t capacity = 16384);
  MacTable(const MacTable&) = delete;
  MacTable& operator=(const MacTable&) = delete;

  // --- data path (PMD threads): no locks, no allocation ---
  uint16_t lookup(uint64_t mac, uint16_t vlan) const noexcept;
  void learn(uint64_t mac, uint16_t vlan, uint16_t port, uint32_t now_s) noexcept;

  // --- control thread ---
  // Removes entries not seen for more than max_age_s seconds; returns how many.
  size_t age(uint32_t now_s, uint32_t max_age_s) noexcept;
  size_t flush() noexcept;
  size_t flush_port(uint16_t port) noexcept;
  size_t size() const noexcept;
  size_t capacity() const noexcept { return nbuckets_ * kWays; }

  struct Entry {
    uint64_t mac;
    uint16_t vlan;
    uint16_t port;
    uint32_t seen_s;
  };
  void for_each(const std::function<void(const Entry&)>& fn) const;

 private:
  struct alignas(64) Bucket {
    std::atomic<uint64_t> key[kWays];
    std::atomic<uint64_t> value[kWays];
  };

  static uint64_t make_key(uint64_t mac, uint16_t vlan) noexcept {
    return (uint64_t{1} << 63) | (uint64_t{vlan & 0xfffu} << 48) | (mac & 0xffffffffffffULL);
  }
  static uint64_t hash(uint64_t key) noexcept {
    key ^= key >> 29;
    key *= 0xbf58476d1ce4e5b9ULL;
    key ^= key >> 32;
    return key;
  }
  static uint16_t tag_of(uint64_t h) noexcept { return static_cast<uint16_t>(h >> 48) | 1; }
  static uint64_t make_value(uint16_t tag, uint32_t seen_s, uint16_t port) noexcept {
    return uint64_t{tag} << 48 | uint64_t{seen_s} << 16 | uint16_t(port + 1);
  }
  static uint16_t value_tag(uint64_t v) noexcept { return static_cast<uint16_t>(v >> 48); }
  static uint32_t value_seen(uint64_t v) noexcept { return static_cast<uint32_t>(v >> 16); }
  static uint16_t value_port(uint64_t v) noexcept { return static_cast<uint16_t>((v & 0xffff) - 1); }

  // Frees slot `i` of bucket `b` if its key is still `key` (control thread).
  bool remove_slot(Bucket& b, size_t i, uint64_t key) noexcept;

  std::unique_ptr<Bucket[]> buckets_;
  size_t nbuckets_;
  size_t mask_;
};

}  // namespace nfv::sw
