#include "pmd.hpp"

#include "capture.hpp"
#include "vhost_port.hpp"

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_prefetch.h>
#include <rte_vhost.h>
#include <sys/prctl.h>
#include <time.h>

#include <algorithm>
#include <cstring>

namespace nfv::sw {

namespace {

constexpr uint64_t kMulticastBit = uint64_t{1} << 40;  // I/G bit of the first octet, in to_u64 order

// The 48-bit address at p as MacAddress::to_u64 orders it (first octet highest).
// Reads 8 bytes: callers guarantee p+8 is inside the frame's first segment.
inline uint64_t load_mac(const uint8_t* p) noexcept {
  uint64_t raw;
  std::memcpy(&raw, p, sizeof raw);  // unaligned load; memcpy is the defined way
  return rte_be_to_cpu_64(raw) >> 16;
}

inline uint16_t load_be16(const uint8_t* p) noexcept {
  uint16_t raw;
  std::memcpy(&raw, p, sizeof raw);
  return rte_be_to_cpu_16(raw);
}

}  // namespace

struct PmdWorker::FrameVlan {
  uint16_t vid;      // the VLAN the frame belongs to in the bridge
  uint16_t tag_vid;  // the VID in its 802.1Q tag, if tagged
  bool tagged;


  bool needs_rewrite(VlanPolicy::Egress e) const noexcept {
    if (e == VlanPolicy::Egress::untagged) return tagged;
    return !tagged || tag_vid != vid;  // tagged egress
  }
};

uint32_t PmdWorker::FloodTargets::key_of(const FrameVlan& f) noexcept {
  return 1u << 31 | uint32_t{f.tagged} << 30 | uint32_t{f.tag_vid} << 12 | f.vid;  // never 0
}

int PmdWorker::lcore_main(void* arg) noexcept {
  static_cast<PmdWorker*>(arg)->run();
  return 0;
}

void PmdWorker::drop(uint16_t slot, DropReason why, rte_mbuf* m) noexcept {
  ctx_.counters->ports[slot].drops[why].add(1);
  rte_pktmbuf_free(m);
}

void PmdWorker::enqueue(const Snapshot& snap, uint16_t slot, rte_mbuf* m) noexcept {
  TxBatch& b = tx_[slot];
  if (b.n == 0 && !dirty_mark_[slot]) {
    dirty_mark_[slot] = true;
    dirty_[ndirty_++] = slot;
  }
  b.pkts[b.n++] = m;
  if (b.n == kBurst) flush(snap, slot);
}

uint16_t PmdWorker::transmit(const PortRuntime& out, uint16_t q, rte_mbuf** pkts, uint16_t n) noexcept {
  if (!out.vhost) return rte_eth_tx_burst(out.dpdk_port, q, pkts, n);
  // vhost-user: the library copies into the guest's buffers; the mbufs stay ours.
  const int vid = out.vhost->vid.load(std::memory_order_acquire);
  if (vid < 0) return 0;
  const uint16_t cap = out.vhost->burst[q].load(std::memory_order_relaxed);
  uint16_t sent = 0;
  while (sent < n && cap != 0) {
    const uint16_t chunk = std::min<uint16_t>(cap, n - sent);
    const uint16_t k = rte_vhost_enqueue_burst(vid, static_cast<uint16_t>(2 * q), pkts + sent, chunk);
    sent += k;
    if (k < chunk) break;  // the guest has no more buffers
  }
  rte_pktmbuf_free_bulk(pkts, sent);
  return sent;
}

void PmdWorker::flush(const Snapshot& snap, uint16_t slot) noexcept {
  TxBatch& b = tx_[slot];
  if (b.n == 0) return;
  const PortRuntime& out = snap.ports[slot];
  if (out.tap_tx) capture_burst(*out.tap_tx, b.pkts, b.n);
  const uint16_t q = static_cast<uint16_t>(ctx_.index % out.nb_txq);
  // Lengths first: the driver may free what it sends.
  uint32_t len[kBurst];
  for (uint16_t i = 0; i < b.n; ++i) len[i] = b.pkts[i]->pkt_len;
  uint16_t sent;
  if (out.tx_locks) {
    rte_spinlock_t& lock = (*out.tx_locks)[q];
    rte_spinlock_lock(&lock);
    sent = transmit(out, q, b.pkts, b.n);
    rte_spinlock_unlock(&lock);
  } else {
    sent = transmit(out, q, b.pkts, b.n);
  }
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < sent; ++i) bytes += len[i];
  QueueCounters& qc = ctx_.counters->ports[slot].queues[q];
  qc.tx_packets.add(sent);
  qc.tx_bytes.add(bytes);
  if (sent < b.n) {
    ctx_.counters->ports[slot].drops[kDropTxFull].add(b.n - sent);
    rte_pktmbuf_free_bulk(b.pkts + sent, b.n - sent);
  }
  b.n = 0;
}

void PmdWorker::flush_all(const Snapshot& snap) noexcept {
  for (uint16_t i = 0; i < ndirty_; ++i) {
    flush(snap, dirty_[i]);
    dirty_mark_[dirty_[i]] = false;
  }
  ndirty_ = 0;
}

void PmdWorker::emit(const Snapshot& snap, const PortRuntime& out, rte_mbuf* m, const FrameVlan& f) noexcept {
  const VlanPolicy::Egress e = out.vlan.egress(f.vid);
  if (e == VlanPolicy::Egress::skip) return drop(out.slot, kDropVlan, m);
  if (f.needs_rewrite(e)) {
    if (e == VlanPolicy::Egress::untagged) {
      rte_vlan_strip(m);  // sets RX_VLAN flags that mean nothing on tx: clear them
      m->ol_flags &= ~(RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED);
    } else if (f.tagged) {
      // Re-tag in place (a priority-tagged frame from an access port), keeping the PCP/DEI bits.
      auto* vh = rte_pktmbuf_mtod_offset(m, rte_vlan_hdr*, sizeof(rte_ether_hdr));
      const uint16_t tci = rte_be_to_cpu_16(vh->vlan_tci);
      vh->vlan_tci = rte_cpu_to_be_16(static_cast<uint16_t>((tci & 0xf000) | f.vid));
    } else {
      m->vlan_tci = f.vid;
      if (rte_vlan_insert(&m) != 0) return drop(out.slot, kDropNoBuffer, m);  // no headroom
    }
  }
  enqueue(snap, out.slot, m);
}

void PmdWorker::flood(const Snapshot& snap, const PortRuntime& in, rte_mbuf* m, const FrameVlan& f) noexcept {
  // Ports that take the frame as it is share this mbuf (refcount); ports that
  // need another tag get a copy. The split depends only on the frame's VLAN and
  // tag: it is worked out once per run of equal ones in a burst.
  FloodTargets& t = burst_.flood;
  const uint32_t key = FloodTargets::key_of(f);
  if (t.key != key) {
    t.key = key;
    t.nshare = t.ncopy = 0;
    for (uint16_t slot : snap.active_slots) {
      if (slot == in.slot) continue;
      const PortRuntime& out = snap.ports[slot];
      if (!out.link_up->load(std::memory_order_relaxed)) continue;
      const VlanPolicy::Egress e = out.vlan.egress(f.vid);
      if (e == VlanPolicy::Egress::skip) continue;
      if (f.needs_rewrite(e)) t.copy[t.ncopy++] = slot;
      else t.share[t.nshare++] = slot;
    }
  }
  // Copies first, while m is intact.
  for (uint16_t i = 0; i < t.ncopy; ++i) {
    rte_mbuf* copy = rte_pktmbuf_copy(m, ctx_.pool, 0, UINT32_MAX);
    if (!copy) {
      ctx_.counters->ports[t.copy[i]].drops[kDropNoBuffer].add(1);
      continue;
    }
    emit(snap, snap.ports[t.copy[i]], copy, f);
  }
  const uint16_t nshare = t.nshare;
  const uint16_t* share = t.share;
  if (nshare == 0) {
    rte_pktmbuf_free(m);
    return;
  }
  // One reference per destination, taken before any of them can be sent and freed.
  if (nshare > 1) rte_mbuf_refcnt_update(m, static_cast<int16_t>(nshare - 1));
  for (uint16_t i = 0; i < nshare; ++i) enqueue(snap, share[i], m);
}

void PmdWorker::bridge(const Snapshot& snap, const PortRuntime& in, rte_mbuf* m) noexcept {
  // The Ethernet header (and 802.1Q tag) must be in the first segment.
  if (m->data_len < RTE_ETHER_HDR_LEN) return drop(in.slot, kDropMalformed, m);
  const uint8_t* d = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint64_t dst = load_mac(d);
  const uint64_t src = load_mac(d + 6);
  FrameVlan f{0, 0, load_be16(d + 12) == RTE_ETHER_TYPE_VLAN};
  if (f.tagged) {
    if (m->data_len < RTE_ETHER_HDR_LEN + sizeof(rte_vlan_hdr)) return drop(in.slot, kDropMalformed, m);
    f.tag_vid = load_be16(d + 14) & 0xfff;
  }
  if (src & kMulticastBit) return drop(in.slot, kDropMalformed, m);  // no frame comes from a group
  const int vid = in.vlan.ingress(f.tagged, f.tag_vid);
  if (vid == VlanPolicy::kDrop) return drop(in.slot, kDropVlan, m);
  f.vid = static_cast<uint16_t>(vid);
  if (in.n_allowed != 0 &&
      std::find(in.allowed_macs.begin(), in.allowed_macs.begin() + in.n_allowed, src) ==
          in.allowed_macs.begin() + in.n_allowed)
    return drop(in.slot, kDropSpoofed, m);

  // Frames of one burst mostly share addresses: learn and look up once per run of them.
  if (src != burst_.src || f.vid != burst_.src_vid) {
    ctx_.macs->learn(src, f.vid, in.slot, now_s_);
    burst_.src = src;
    burst_.src_vid = f.vid;
  }

  if (!(dst & kMulticastBit)) {
    if (dst != burst_.dst || f.vid != burst_.dst_vid) {
      burst_.dst = dst;
      burst_.dst_vid = f.vid;
      burst_.out = ctx_.macs->lookup(dst, f.vid);
    }
    const uint16_t out = burst_.out;
    if (out < kMaxPorts && snap.present[out]) {
      if (out == in.slot) {
        rte_pktmbuf_free(m);  // the destination is behind the port it came from
        return;
      }
      return emit(snap, snap.ports[out], m, f);
    }
  }
  flood(snap, in, m, f);
}

uint16_t PmdWorker::poll_queue(const Snapshot& snap, RxQueueRef rxq) noexcept {
  const PortRuntime& in = snap.ports[rxq.slot];
  rte_mbuf* pkts[kBurst];
  uint16_t n;
  if (in.vhost) {
    // acquire: pairs with the release store of the vid after the ring sizes were read.
    const int vid = in.vhost->vid.load(std::memory_order_acquire);
    if (vid < 0) return 0;
    // Never ask for more than the ring holds (see vhost_port.hpp).
    const uint16_t cap = in.vhost->burst[rxq.queue].load(std::memory_order_relaxed);
    n = rte_vhost_dequeue_burst(vid, static_cast<uint16_t>(2 * rxq.queue + 1), ctx_.pool, pkts, cap);
  } else {
    n = rte_eth_rx_burst(in.dpdk_port, rxq.queue, pkts, kBurst);
  }
  if (n == 0) return 0;
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
    bytes += pkts[i]->pkt_len;
  }
  QueueCounters& qc = ctx_.counters->ports[rxq.slot].queues[rxq.queue];
  qc.rx_packets.add(n);
  qc.rx_bytes.add(bytes);
  // New burst, new input port: forget the last addresses and flood targets.
  burst_.src = burst_.dst = ~uint64_t{0};
  burst_.flood.key = 0;
  if (in.tap_rx) capture_burst(*in.tap_rx, pkts, n);
  if (snap.rules) {
    classify(snap, in, pkts, n);
    return n;
  }
  for (uint16_t i = 0; i < n; ++i) bridge(snap, in, pkts[i]);
  return n;
}

void PmdWorker::run() noexcept {
  // Sleeps in adaptive mode are short: ask the kernel for 1 us timer slack, not 50.
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  rte_rcu_qsbr_thread_register(ctx_.qsbr, ctx_.index);
  rte_rcu_qsbr_thread_online(ctx_.qsbr, ctx_.index);
  PmdCounters& c = *ctx_.counters;
  uint64_t t0 = rte_rdtsc();
  uint32_t empty = 0;
  uint32_t sleep_us = 1;
  while (!ctx_.stop->load(std::memory_order_relaxed)) {
    now_s_ = ctx_.now_s->load(std::memory_order_relaxed);
    // acquire: pairs with the control thread's release store of a new snapshot.
    const Snapshot* snap = ctx_.snapshot->load(std::memory_order_acquire);
    uint32_t got = 0;
    if (snap) {
      for (const RxQueueRef& rxq : snap->pmds[ctx_.index].rx_queues) got += poll_queue(*snap, rxq);
      flush_all(*snap);
    }
    // Nothing of `snap` is used past this point.
    rte_rcu_qsbr_quiescent(ctx_.qsbr, ctx_.index);
    c.iterations.add(1);
    uint64_t t1 = rte_rdtsc();
    if (got) {
      c.busy_cycles.add(t1 - t0);
      c.packets.add(got);
      empty = 0;
      sleep_us = 1;
    } else {
      if (ctx_.idle == IdleMode::adaptive && ++empty >= kEmptyPollsBeforeSleep) {
        rte_rcu_qsbr_thread_offline(ctx_.qsbr, ctx_.index);
        timespec ts{0, static_cast<long>(sleep_us) * 1000};
        nanosleep(&ts, nullptr);
        rte_rcu_qsbr_thread_online(ctx_.qsbr, ctx_.index);
        sleep_us = std::min(sleep_us * 2, kMaxSleepUs);
        t1 = rte_rdtsc();
      }
      c.idle_cycles.add(t1 - t0);
    }
    t0 = t1;
  }
  rte_rcu_qsbr_thread_offline(ctx_.qsbr, ctx_.index);
  rte_rcu_qsbr_thread_unregister(ctx_.qsbr, ctx_.index);
}

}  // namespace nfv::sw
