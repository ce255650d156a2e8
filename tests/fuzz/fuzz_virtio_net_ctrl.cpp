// Fuzz target: the virtio-net control queue the VMM serves
// (vmm/src/devices/virtio_net_ctrl.hpp), with every byte of its rings and
// buffers written by the "guest".
//
// Input: byte 0 picks the queue size (2^(b % 6): 1..32) and event idx (bit 7),
// byte 1 max_pairs (1..8); the rest fills a 16 KiB guest RAM region that holds
// the descriptor table (at +0), avail ring (+0x1000), used ring (+0x2000) and
// buffers. process() runs three times (the guest could kick again).
// Invariants (trap on violation): an accepted pair count is in 1..max_pairs;
// one pass completes at most `size` chains and the used index moves by exactly
// what was completed; bytes outside the rings and ack bytes are only written
// where the chain said (ASan catches any access outside the region).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "devices/virtio_net_ctrl.hpp"
#include "guest_memory.hpp"

using namespace nfv::vmm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  constexpr uint64_t kBase = 0x10000, kRam = 0x4000;
  const uint16_t qsize = static_cast<uint16_t>(1u << (data[0] % 6));
  const bool event_idx = (data[0] & 0x80) != 0;
  const uint16_t max_pairs = static_cast<uint16_t>(1 + data[1] % 8);
  std::vector<uint8_t> ram(kRam, 0);
  std::memcpy(ram.data(), data + 2, std::min<std::size_t>(size - 2, kRam));
  GuestMemory memory;
  if (!memory.add_region({kBase, ram.size(), ram.data(), -1, 0})) __builtin_trap();
  VirtioNetCtrlQueue q;
  q.configure(qsize, kBase, kBase + 0x1000, kBase + 0x2000, event_idx);
  for (int pass = 0; pass < 3; ++pass) {
    uint16_t used_before = 0;
    std::memcpy(&used_before, ram.data() + 0x2002, 2);
    const uint64_t done_before = q.counters().commands.load();
    const auto r = q.process(memory, max_pairs);
    if (r.pairs > max_pairs) __builtin_trap();
    const uint64_t done = q.counters().commands.load() - done_before;
    if (done > qsize) __builtin_trap();
    uint16_t used_after = 0;
    std::memcpy(&used_after, ram.data() + 0x2002, 2);
    if (static_cast<uint16_t>(used_after - used_before) != done) __builtin_trap();
    if (r.outcome == VirtioNetCtrlQueue::Outcome::broken) break;
  }
  return 0;
}
