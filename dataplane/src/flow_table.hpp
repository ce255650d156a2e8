// FlowTable: the compiled, immutable form of the rule set that PMD threads
// classify packets against.
//
// Entries are sorted by priority (highest first), then by rule id (oldest
// first); a packet takes the first entry whose (value, mask) its FlowKey
// matches (flow_key.hpp). The search is linear: an entry is rejected on its
// most selective word (FlowEntry::probe) or checked with eight branch-free
// AND/XOR/OR steps, which for the tens of rules an NFV host carries is cheaper
// than any hashing scheme (the switch caps the table at kMaxRules). The control thread builds a new table on every change and
// publishes it in the Snapshot (datapath.hpp); a table is never modified once
// published, and is freed only after an RCU grace period.
//
// Counters: each rule has per-PMD packet/byte counters (single writer each,
// on their own cache line), shared by every table the rule is compiled into,
// so replacing the table keeps them.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "flow_key.hpp"
#include "flow_rule.hpp"
#include "nfv/counter.hpp"

namespace nfv::sw {

inline constexpr uint16_t kRulePmds = 16;  // == kMaxPmds (datapath.hpp; checked there)
inline constexpr uint16_t kNoSlot = 0xffff;

struct RuleCounters {
  struct alignas(64) PerPmd {
    ::nfv::Counter packets, bytes;
  };
  std::array<PerPmd, kRulePmds> pmd;
  uint64_t packets() const noexcept;
  uint64_t bytes() const noexcept;
};

struct FlowOp {
  ActionType type = ActionType::drop;
  uint16_t arg = 0;  // output: port slot (kNoSlot: the port is gone); push_vlan: VLAN id
};

struct FlowEntry {
  KeyWords value{};
  KeyWords mask{};
  uint8_t n_ops = 0;
  std::array<FlowOp, kMaxRuleActions> ops{};
  RuleCounters* counters = nullptr;
  uint32_t id = 0;
  uint32_t priority = 0;
  // The last key word the rule masks (ports, then addresses, then MACs: the ones most
  // packets differ in), checked before the others.
  uint8_t probe = 0;
};

class FlowTable {
 public:
  FlowTable(std::vector<FlowEntry> entries, std::vector<std::shared_ptr<RuleCounters>> keep)
      : entries_(std::move(entries)), keep_(std::move(keep)) {}

  // Index of the first matching entry, or -1.
  int32_t lookup(const KeyWords& key) const noexcept {
    const FlowEntry* e = entries_.data();
    const size_t n = entries_.size();
    for (size_t i = 0; i < n; ++i) {
      // Reject on the entry's most selective word alone first (see FlowEntry::probe).
      const uint8_t w = e[i].probe;
      if (((key[w] ^ e[i].value[w]) & e[i].mask[w]) != 0) continue;
      if (key_matches(key, e[i].value, e[i].mask)) return static_cast<int32_t>(i);
    }
    return -1;
  }
  void classify(const KeyWords* keys, uint16_t n, int32_t* out) const noexcept {
    for (uint16_t i = 0; i < n; ++i) out[i] = lookup(keys[i]);
  }

  const FlowEntry& entry(int32_t i) const noexcept { return entries_[static_cast<size_t>(i)]; }
  size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }

 private:
  std::vector<FlowEntry> entries_;
  std::vector<std::shared_ptr<RuleCounters>> keep_;  // the counters entries_ point to
};

}  // namespace nfv::sw
