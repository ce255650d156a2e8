// PmdWorker's flow-rule stage: classify a burst against the Snapshot's
// FlowTable, run the actions of matched packets, bridge the rest.
//
// A matched packet passes the same ingress checks as a bridged one (runt
// frame, multicast source, port security); then its rule's actions run in
// order on the one mbuf: push_vlan/pop_vlan rewrite it, output:PORT queues it
// on the port as it is (no VLAN policy: the rule says what goes out), normal
// hands it to the L2 bridge, drop frees it. An output or normal that is not the
// last action sends a copy. Rule outputs do not learn MAC addresses.
#include <rte_ether.h>

#include "flow_key.hpp"
#include "pmd.hpp"

namespace nfv::sw {

namespace {
constexpr uint64_t kMulticastBit = uint64_t{1} << 40;  // I/G bit, in the key's MAC order
}

void PmdWorker::classify(const Snapshot& snap, const PortRuntime& in, rte_mbuf** pkts, uint16_t n) noexcept {
  const FlowTable& table = *snap.rules;
  KeyWords keys[kBurst];
  int32_t hit[kBurst];
  for (uint16_t i = 0; i < n; ++i)
    keys[i] = extract_flow_key(rte_pktmbuf_mtod(pkts[i], const uint8_t*), pkts[i]->data_len, in.slot);
  table.classify(keys, n, hit);
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    if (hit[i] < 0) {
      bridge(snap, in, m);
      continue;
    }
    const uint64_t src = keys[i][flow_key::kDlSrc];
    if (m->data_len < RTE_ETHER_HDR_LEN || (src & kMulticastBit)) {
      drop(in.slot, kDropMalformed, m);
      continue;
    }
    if (in.n_allowed != 0 &&
        std::find(in.allowed_macs.begin(), in.allowed_macs.begin() + in.n_allowed, src) ==
            in.allowed_macs.begin() + in.n_allowed) {
      drop(in.slot, kDropSpoofed, m);
      continue;
    }
    apply_rule(snap, in, table.entry(hit[i]), m);
  }
}

void PmdWorker::apply_rule(const Snapshot& snap, const PortRuntime& in, const FlowEntry& rule, rte_mbuf* m) noexcept {
  RuleCounters::PerPmd& c = rule.counters->pmd[ctx_.index];
  c.packets.add(1);
  c.bytes.add(m->pkt_len);
  for (uint8_t k = 0; k < rule.n_ops; ++k) {
    const FlowOp& op = rule.ops[k];
    const bool last = k + 1 == rule.n_ops;
    switch (op.type) {
      case ActionType::drop: return drop(in.slot, kDropRule, m);
      case ActionType::pop_vlan:
        if (rte_vlan_strip(m) == 0)  // 0: there was a tag. It sets RX flags that mean nothing on tx.
          m->ol_flags &= ~(RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED);
        break;
      case ActionType::push_vlan:
        m->vlan_tci = op.arg;
        if (rte_vlan_insert(&m) != 0) return drop(in.slot, kDropNoBuffer, m);  // no headroom
        break;
      case ActionType::output:
      case ActionType::normal: {
        rte_mbuf* pkt = m;
        if (!last) {  // later actions still need m: send a copy
          pkt = rte_pktmbuf_copy(m, ctx_.pool, 0, UINT32_MAX);
          if (!pkt) {
            ctx_.counters->ports[in.slot].drops[kDropNoBuffer].add(1);
            break;
          }
        }
        if (op.type == ActionType::normal) bridge(snap, in, pkt);
        else if (op.arg < kMaxPorts && snap.present[op.arg]) enqueue(snap, op.arg, pkt);
        else drop(in.slot, kDropRule, pkt);  // the port was deleted
        if (last) return;
        break;
      }
    }
  }
  drop(in.slot, kDropRule, m);  // the parser makes every rule end in output, normal or drop
}

}  // namespace nfv::sw
