// nfv's Prometheus metrics (`nfv up --metrics HOST:PORT`): the topology's
// components as the launcher sees them. The switch serves its own counters
// on its own endpoint ([switch] metrics); this one adds what only nfv knows:
// which components are up, VNF restarts, each VNF's packet counters (read
// from its control socket), each VM's exits by reason, the generator's rates.
//
// Names start with nfv_; counters end in _total. Pure function on the
// answers of the status and vm.list methods, so unit tests can feed it.
#pragma once

#include <string>

#include "nfv/control/jsonrpc.hpp"

namespace nfv::topo {

std::string metrics_text(const control::Json& status, const control::Json& vm_list);

}  // namespace nfv::topo
