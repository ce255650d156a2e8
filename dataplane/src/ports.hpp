// Opening and closing DPDK ports.
//
// vhost-user ports are served by rte_vhost directly (vhost_port.hpp). Any
// other port is an ethdev probed from its devargs (net_tap, net_af_packet,
// net_pcap, net_ring, net_null, net_af_xdp, a PCI address).
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <string>

#include "config.hpp"
#include "vhost_port.hpp"
#include "nfv/result.hpp"

namespace nfv::sw {

struct DpdkPort {
  PortType type = PortType::ethdev;
  std::string path;         // vhost-user socket
  uint16_t port_id = 0;     // ethdev only
  uint16_t nb_rxq = 1;
  uint16_t nb_txq = 1;
  std::string device_name;  // the name rte_dev_probe gave it
};

// Opens the port. ethdev: probes, configures and starts the device; `want_txq`
// is the number of tx queues the switch would like (one per PMD), the device
// may give fewer. vhost-user: starts serving the socket for `vhost`.
Result<DpdkPort> open_port(const PortConfig& cfg, rte_mempool* pool, uint16_t want_txq, VhostPortState* vhost);

// Stops, closes and removes the device (a server-mode vhost socket is unlinked).
void close_port(const DpdkPort& port);

// Whether an ethdev reports its link up.
bool ethdev_link_up(uint16_t port_id);

}  // namespace nfv::sw
