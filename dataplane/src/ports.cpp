#include "ports.hpp"

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>

namespace nfv::sw {

namespace {

constexpr uint16_t kRxDesc = 1024;
constexpr uint16_t kTxDesc = 1024;

// The device name is what precedes the first ',' of the devargs.
std::string devargs_name(const std::string& devargs) { return devargs.substr(0, devargs.find(',')); }

Error dpdk_error(const std::string& what, int rc) {
  return make_error(Errc::resource, fmt::format("{}: {}", what, rte_strerror(rc < 0 ? -rc : rc)));
}

void remove_device(const std::string& name) {
  // Vdevs live on the "vdev" bus; anything else (PCI) is removed by name on its bus.
  if (rte_eal_hotplug_remove("vdev", name.c_str()) == 0) return;
  if (rte_eal_hotplug_remove("pci", name.c_str()) != 0)
    spdlog::warn("port device {}: could not remove it from its bus", name);
}

}  // namespace

Result<DpdkPort> open_port(const PortConfig& cfg, rte_mempool* pool, uint16_t want_txq, VhostPortState* vhost) {
  DpdkPort port;
  port.type = cfg.type;
  if (cfg.type == PortType::vhost_user) {
    port.path = cfg.path;
    port.nb_rxq = port.nb_txq = cfg.queues;
    if (auto st = vhost_port_open(cfg, vhost); !st) return std::move(st).error();
    return port;
  }
  const std::string devargs = cfg.devargs;
  port.device_name = devargs_name(cfg.devargs);
  uint16_t existing;
  if (rte_eth_dev_get_port_by_name(port.device_name.c_str(), &existing) == 0)
    return make_error(Errc::already_exists, fmt::format("device {} is already a port", port.device_name));

  if (int rc = rte_dev_probe(devargs.c_str()); rc < 0)
    return dpdk_error(fmt::format("cannot create port device '{}'", devargs), rc);
  if (rte_eth_dev_get_port_by_name(port.device_name.c_str(), &port.port_id) != 0) {
    remove_device(port.device_name);
    return make_error(Errc::not_found,
                      fmt::format("devargs '{}' created no ethdev named '{}'", devargs, port.device_name));
  }

  auto fail = [&](const std::string& what, int rc) -> Error {
    rte_eth_dev_close(port.port_id);
    remove_device(port.device_name);
    return dpdk_error(fmt::format("port {}: {}", cfg.name, what), rc);
  };

  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(port.port_id, &info); rc != 0) return fail("cannot read device info", rc);
  port.nb_rxq = std::min<uint16_t>(cfg.queues, info.max_rx_queues);
  port.nb_txq = std::max<uint16_t>(1, std::min<uint16_t>(std::max(want_txq, cfg.queues), info.max_tx_queues));
  if (port.nb_rxq < cfg.queues)
    spdlog::warn("port {}: device offers {} rx queues, {} requested", cfg.name, port.nb_rxq, cfg.queues);

  rte_eth_conf conf{};
  if (int rc = rte_eth_dev_configure(port.port_id, port.nb_rxq, port.nb_txq, &conf); rc != 0)
    return fail("configure failed", rc);
  const int socket = rte_eth_dev_socket_id(port.port_id);
  const unsigned sock = socket < 0 ? 0u : static_cast<unsigned>(socket);
  for (uint16_t q = 0; q < port.nb_rxq; ++q)
    if (int rc = rte_eth_rx_queue_setup(port.port_id, q, kRxDesc, sock, nullptr, pool); rc != 0)
      return fail(fmt::format("rx queue {} setup failed", q), rc);
  for (uint16_t q = 0; q < port.nb_txq; ++q)
    if (int rc = rte_eth_tx_queue_setup(port.port_id, q, kTxDesc, sock, nullptr); rc != 0)
      return fail(fmt::format("tx queue {} setup failed", q), rc);
  if (int rc = rte_eth_dev_start(port.port_id); rc != 0) return fail("start failed", rc);
  // A bridge port sees every frame.
  rte_eth_promiscuous_enable(port.port_id);
  return port;
}

void close_port(const DpdkPort& port) {
  if (port.type == PortType::vhost_user) return vhost_port_close(port.path);
  if (int rc = rte_eth_dev_stop(port.port_id); rc != 0)
    spdlog::warn("port {}: stop failed: {}", port.device_name, rte_strerror(-rc));
  rte_eth_dev_close(port.port_id);
  remove_device(port.device_name);
}

bool ethdev_link_up(uint16_t port_id) {
  rte_eth_link link{};
  return rte_eth_link_get_nowait(port_id, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
}

}  // namespace nfv::sw
