// Status of a running topology: the JSON object `nfv status --json` and the
// control socket's `status` method return, and its two human forms.
//
//   {"topology": FILE, "state": "running", "uptime_s": 12.0,
//    "switch": {"pid": 1, "state": "running", "socket": PATH},
//    "ports": [{"name", "link", "rx_mpps", "tx_mpps", "rx_packets", "tx_packets", "drops"}],
//    "vnfs": [{"name", "kind", "state", "pid", "restarts", "ports", "control",
//              "rx_packets", "tx_packets", "drops", "rx_mpps", "tx_mpps"}],   (vnf_counters.hpp;
//              null when the VNF has no control socket or did not answer)
//    "generator": {"state", "pid", "tx_mpps", "rx_mpps", "result"} or null}
//
// Port rates are the switch's view: rx is what the switch received from the
// port's peer, tx what it sent to it.
#pragma once

#include <string>

#include "nfv/control/jsonrpc.hpp"

namespace nfv::topo {

// A table, one row per port, VNF and the generator.
std::string render_table(const control::Json& status);
// One line: "[  12 s] ports gen-tx 1.00/0.00 ... | vnf fw running r0 | gen tx 1.000 rx 0.998 Mpps".
std::string render_line(const control::Json& status);
// The generator's result as nfv prints it at the end.
std::string render_result(const control::Json& result);

}  // namespace nfv::topo
