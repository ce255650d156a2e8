#include "mac_table.hpp"

#include <bit>

namespace nfv::sw {

MacTable::MacTable(size_t capacity) {
  size_t entries = std::bit_ceil(capacity < 64 ? size_t{64} : capacity);
  nbuckets_ = entries / kWays;
  mask_ = nbuckets_ - 1;
  buckets_ = std::make_unique<Bucket[]>(nbuckets_);  // atomics value-initialised to 0 (free)
}

uint16_t MacTable::lookup(uint64_t mac, uint16_t vlan) const noexcept {
  const uint64_t key = make_key(mac, vlan);
  const uint64_t h = hash(key);
  const uint16_t tag = tag_of(h);
  for (size_t probe = 0; probe < 2; ++probe) {
    const Bucket& b = buckets_[(h + probe) & mask_];
    for (size_t i = 0; i < kWays; ++i) {
      // acquire: the value stored before this key was published is visible.
      if (b.key[i].load(std::memory_order_acquire) != key) continue;
      const uint64_t v = b.value[i].load(std::memory_order_acquire);
      // Re-check the key: the slot may have been freed and reused meanwhile.
      if (v == 0 || value_tag(v) != tag || b.key[i].load(std::memory_order_relaxed) != key)
        return kNoPort;
      return value_port(v);
    }
  }
  return kNoPort;
}

void MacTable::learn(uint64_t mac, uint16_t vlan, uint16_t port, uint32_t now_s) noexcept {
  const uint64_t key = make_key(mac, vlan);
  const uint64_t h = hash(key);
  const uint16_t tag = tag_of(h);
  const uint64_t want = make_value(tag, now_s, port);

  Bucket* free_b = nullptr;
  size_t free_i = 0;
  Bucket* stale_b = nullptr;
  size_t stale_i = 0;
  uint32_t stale_seen = UINT32_MAX;
  for (size_t probe = 0; probe < 2; ++probe) {
    Bucket& b = buckets_[(h + probe) & mask_];
    for (size_t i = 0; i < kWays; ++i) {
      const uint64_t k = b.key[i].load(std::memory_order_relaxed);
      if (k == key) {
        const uint64_t v = b.value[i].load(std::memory_order_relaxed);
        // Write only when something a reader or the ager cares about changed.
        if (v != want) b.value[i].store(want, std::memory_order_release);
        return;
      }
      if (k == 0) {
        if (!free_b) free_b = &b, free_i = i;
      } else {
        const uint32_t seen = value_seen(b.value[i].load(std::memory_order_relaxed));
        if (seen < stale_seen) stale_seen = seen, stale_b = &b, stale_i = i;
      }
    }
  }
  if (free_b) {
    uint64_t expected = 0;
    // Claim the free slot; if another thread took it first, this packet simply
    // does not learn (the next one will).
    if (free_b->key[free_i].compare_exchange_strong(expected, key, std::memory_order_acq_rel)) {
      free_b->value[free_i].store(want, std::memory_order_release);
    }
    return;
  }
  if (stale_b) {
    uint64_t old = stale_b->key[stale_i].load(std::memory_order_relaxed);
    // Replace the stalest entry. Zero the value first so no reader pairs the new
    // key with the old port in between.
    stale_b->value[stale_i].store(0, std::memory_order_release);
    if (stale_b->key[stale_i].compare_exchange_strong(old, key, std::memory_order_acq_rel))
      stale_b->value[stale_i].store(want, std::memory_order_release);
  }
}

bool MacTable::remove_slot(Bucket& b, size_t i, uint64_t key) noexcept {
  uint64_t expected = key;
  if (!b.key[i].compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) return false;
  b.value[i].store(0, std::memory_order_release);
  return true;
}

size_t MacTable::age(uint32_t now_s, uint32_t max_age_s) noexcept {
  size_t removed = 0;
  for (size_t bi = 0; bi < nbuckets_; ++bi) {
    Bucket& b = buckets_[bi];
    for (size_t i = 0; i < kWays; ++i) {
      const uint64_t k = b.key[i].load(std::memory_order_acquire);
      if (k == 0) continue;
      const uint64_t v = b.value[i].load(std::memory_order_acquire);
      if (v == 0) continue;  // being written
      const uint32_t seen = value_seen(v);
      if (now_s > seen && now_s - seen > max_age_s && remove_slot(b, i, k)) ++removed;
    }
  }
  return removed;
}

size_t MacTable::flush() noexcept {
  size_t removed = 0;
  for (size_t bi = 0; bi < nbuckets_; ++bi)
    for (size_t i = 0; i < kWays; ++i) {
      const uint64_t k = buckets_[bi].key[i].load(std::memory_order_acquire);
      if (k != 0 && remove_slot(buckets_[bi], i, k)) ++removed;
    }
  return removed;
}

size_t MacTable::flush_port(uint16_t port) noexcept {
  size_t removed = 0;
  for (size_t bi = 0; bi < nbuckets_; ++bi) {
    Bucket& b = buckets_[bi];
    for (size_t i = 0; i < kWays; ++i) {
      const uint64_t k = b.key[i].load(std::memory_order_acquire);
      const uint64_t v = b.value[i].load(std::memory_order_acquire);
      if (k != 0 && v != 0 && value_port(v) == port && remove_slot(b, i, k)) ++removed;
    }
  }
  return removed;
}

size_t MacTable::size() const noexcept {
  size_t n = 0;
  for (size_t bi = 0; bi < nbuckets_; ++bi)
    for (size_t i = 0; i < kWays; ++i)
      if (buckets_[bi].key[i].load(std::memory_order_relaxed) != 0) ++n;
  return n;
}

void MacTable::for_each(const std::function<void(const Entry&)>& fn) const {
  for (size_t bi = 0; bi < nbuckets_; ++bi) {
    const Bucket& b = buckets_[bi];
    for (size_t i = 0; i < kWays; ++i) {
      const uint64_t k = b.key[i].load(std::memory_order_acquire);
      const uint64_t v = b.value[i].load(std::memory_order_acquire);
      if (k == 0 || v == 0) continue;
      fn(Entry{k & 0xffffffffffffULL, static_cast<uint16_t>((k >> 48) & 0xfff), value_port(v),
               value_seen(v)});
    }
  }
}

}  // namespace nfv::sw
