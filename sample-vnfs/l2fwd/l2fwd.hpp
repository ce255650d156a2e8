// l2fwd: the smallest useful VNFs, used by tests, demos and benchmarks.
//
//   Forward   two ports: what arrives on port 0 leaves on port 1 and back;
//             frames are not touched.
//   Reflect   one port (or each port on its own): every frame goes back out
//             of the port it came in on with source and destination MAC
//             swapped, like testpmd's macswap.
//
// Counters (stats RPC, under "vnf"): forwarded, reflected, runts (frames
// shorter than an Ethernet header: dropped).
#pragma once

#include <cstring>

#include "nfv/control/jsonrpc.hpp"
#include "nfv/counter.hpp"
#include "nfv/run.hpp"

namespace l2fwd {

struct Forward final {
  void process(nfv::Batch& batch, nfv::Emitter& out) noexcept {
    for (nfv::Packet* p : batch) out.emit(static_cast<uint16_t>(p->input_port ^ 1), p);
    forwarded += batch.count;
  }
  nfv::control::Json stats() const { return {{"forwarded", forwarded.load()}}; }
  nfv::Counter forwarded;
};

struct Reflect final {
  void process(nfv::Batch& batch, nfv::Emitter& out) noexcept {
    for (nfv::Packet* p : batch) {
      if (p->length() < 12) {
        ++runts;
        out.drop(p);
        continue;
      }
      uint8_t* d = p->data();
      uint8_t tmp[6];
      std::memcpy(tmp, d, 6);
      std::memcpy(d, d + 6, 6);
      std::memcpy(d + 6, tmp, 6);
      out.emit(p->input_port, p);
      ++reflected;
    }
  }
  nfv::control::Json stats() const { return {{"reflected", reflected.load()}, {"runts", runts.load()}}; }
  nfv::Counter reflected;
  nfv::Counter runts;
};

}  // namespace l2fwd
