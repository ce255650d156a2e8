// A [[chain]] as nfv-switch rules (the rule.add RPC, docs/switch-rpc.md):
// one rule per hop boundary, all at the chain's priority,
//
//   in_port=FROM,<class>      -> output:<first hop's IN port>
//   in_port=<hop OUT>,<class> -> output:<next hop's IN port>
//   in_port=<last OUT>,<class> -> output:TO
//
// where <class> is the chain's 'match' in the switch's match syntax
// (vlan -> dl_vlan, src_mac -> dl_src, dst_mac -> dl_dst, src_ip -> nw_src,
// dst_ip -> nw_dst, proto -> udp/tcp/icmp (udp6/tcp6/icmp6 for IPv6 addresses),
// src_port -> tp_src, dst_port -> tp_dst).
#pragma once

#include <string>
#include <vector>

#include "nfv/control/jsonrpc.hpp"
#include "topology.hpp"

namespace nfv::topo {

// The class part of the match: "udp,nw_dst=10.0.0.0/8,tp_dst=2152" ("" for every packet).
std::string chain_match_text(const control::Json& match);
// rule.add params: {"priority": P, "match": "in_port=...", "actions": "output:..."}.
std::vector<control::Json> chain_rules(const Topology& t, const ChainSpec& chain);

}  // namespace nfv::topo
