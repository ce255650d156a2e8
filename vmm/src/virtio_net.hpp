// VirtioNetDevice: a virtio-net-pci device whose data path is a vhost-user
// back-end (nfv-switch): the VMM only configures, then stays out of the way.
//
//   guest driver --MMIO--> VirtioPciDevice (register model, validation)
//                              | activate(queues) / reset()
//                              v
//   VirtioNetDevice (this)  -- vhost-user worker thread --> back-end socket
//
// The worker connects to the back-end (as a client, retrying every 100 ms),
// and once the guest has set DRIVER_OK hands it guest RAM (SET_MEM_TABLE: every
// memfd region, guest_phys_addr = GPA), the rings (GPA -> VMM address), the
// kick eventfds (ioeventfds on the queues' notify addresses, so a doorbell never
// leaves the kernel) and the call eventfds (irqfds: a back-end's used-buffer
// notification becomes the queue's MSI-X message inside KVM, routed from what the
// guest wrote in the MSI-X table and queue_msix_vector; a queue without a vector,
// or whose entry is masked, has no route and its notifications are dropped — the
// guest polls it). None of this blocks the vCPU: the guest starts polling its
// rings and traffic flows when the back-end is ready.
//
// Back-end restarts: when the socket closes, the link goes down, and the worker
// reconnects and replays the rings from their current indices (SET_VRING_BASE =
// the used index in guest memory, as QEMU does after a back-end crash); the
// guest keeps running and keeps its buffers. Memory added at run time is sent
// with a new SET_MEM_TABLE.
//
// Multiqueue (NetSpec::queues = Q > 1): the device offers VIRTIO_NET_F_MQ and
// VIRTIO_NET_F_CTRL_VQ with max_virtqueue_pairs = Q: queues 0 .. 2Q-1 are the
// receive/transmit pairs, each with its own kick ioeventfd and call irqfd (its
// own MSI-X vector when the driver gives one), and queue 2Q is the control
// queue, which the VMM serves itself (devices/virtio_net_ctrl.hpp: no
// ioeventfd, its doorbell is an exit to the vCPU thread; control traffic is
// rare). The vhost-user front-end negotiates VHOST_USER_PROTOCOL_F_MQ, learns
// the back-end's pairs (GET_QUEUE_NUM), sets up every data queue the driver
// enabled (within the back-end's pairs) and enables the first `active` pairs
// with SET_VRING_ENABLE: 1 until the driver sends VQ_PAIRS_SET (5.1.6.5.5),
// which is accepted for 1 .. min(Q, back-end pairs). Reconnects replay every
// queue and re-apply the enables. With Q = 1 the device is the single-pair
// device it always was (no MQ, no control queue).
//
// Counters: connects, disconnects, setup_failures, kicks_to_vmm (doorbells that
// missed the ioeventfd), ctrl (the control queue's), plus the transport's
// (VirtioPciCounters).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "devices/io_bus.hpp"
#include "devices/pci.hpp"
#include "devices/virtio_net_config.hpp"
#include "devices/virtio_net_ctrl.hpp"
#include "devices/virtio_pci.hpp"
#include "guest_memory.hpp"
#include "kvm/vm.hpp"
#include "nfv/mac_address.hpp"
#include "nfv/control/jsonrpc.hpp"
#include "nfv/counter.hpp"
#include "nfv/guest/boot_abi.hpp"
#include "nfv/vhost_user/frontend.hpp"

namespace nfv::vmm {

struct NetSpec {
  std::string socket;     // vhost-user socket of the switch port (the VMM is the client)
  MacAddress mac{};
  bool mac_set = false;
  uint16_t queues = 0;    // queue pairs, 1 .. kMaxQueuePairs (0: the VM's vCPU count)
};

struct NetCounters {
  Counter connects;
  Counter disconnects;
  Counter setup_failures;
  Counter rings_started;
  Counter kicks_to_vmm;
  Counter irq_routes;         // queue vectors routed to an irqfd (route changes)
  Counter irq_route_failures;
};

class VirtioNetDevice final : public VirtioDeviceBackend, public MsiSink {
 public:
  struct Wiring {
    Vm& vm;
    const GuestMemory& memory;
    IoBus& mmio;
    PciHostBridge& pci;
  };
  static constexpr uint16_t kMaxQueuePairs = 8;
  static constexpr uint16_t kMaxQueues = 2 * kMaxQueuePairs + 1;  // pairs and the control queue
  static constexpr uint64_t kBarSpacing = 0x100000;

  static Result<std::unique_ptr<VirtioNetDevice>> create(const Wiring& w, const NetSpec& spec, unsigned index);
  ~VirtioNetDevice() override;

  guest::DeviceInfo boot_info() const;
  void memory_changed();  // the guest got more RAM: re-send the memory table
  control::Json status() const;
  control::Json stats() const;

  // VirtioDeviceBackend (vCPU threads, transport lock held)
  uint16_t device_type() const override { return kVirtioNetDeviceType; }
  uint64_t device_features() const override;
  uint16_t num_queues() const override { return pairs_ > 1 ? 2 * pairs_ + 1 : 2; }
  uint16_t max_queue_size() const override { return 1024; }
  uint32_t config_size() const override { return kVirtioNetConfigSize; }
  void config_read(uint32_t offset, std::span<uint8_t> data) override;
  void config_write(uint32_t offset, std::span<const uint8_t> data) override;
  Status activate(uint64_t driver_features, std::span<const VirtqueueConfig> queues) override;
  void reset() override;
  void notify(uint16_t queue) override;
  // MsiSink
  void signal(uint64_t address, uint32_t data) override;

 private:
  VirtioNetDevice(const Wiring& w, const NetSpec& spec, unsigned index);
  Status wire();
  void worker();
  Status setup_rings(vhost_user::VhostUserFrontend& fe, uint64_t features, const std::vector<VirtqueueConfig>& queues,
                     uint16_t active_pairs);
  Status apply_enables(vhost_user::VhostUserFrontend& fe, uint16_t active_pairs);  // worker thread
  void serve_ctrl();  // the control queue's doorbell (vCPU thread, transport lock held)
  void set_link(bool up);
  void update_irq_routes();  // from the transport's MSI-X state; transport lock held
  uint32_t irq_gsi(uint16_t queue) const noexcept { return Vm::kFirstMsiGsi + index_ * kMaxQueues + queue; }
  uint16_t data_queues() const noexcept { return 2 * pairs_; }
  uint16_t ctrl_index() const noexcept { return 2 * pairs_; }  // when pairs_ > 1

  Wiring w_;
  NetSpec spec_;
  unsigned index_;
  uint16_t pairs_;  // offered (max_virtqueue_pairs)
  uint64_t bar_ = 0;
  std::unique_ptr<VirtioPciDevice> transport_;
  std::vector<vhost_user::UniqueFd> kick_fds_;  // per queue, ioeventfd on its notify address
  std::vector<vhost_user::UniqueFd> call_fds_;  // per queue, irqfd on GSI irq_gsi(q)
  vhost_user::UniqueFd wake_fd_;
  std::vector<uint16_t> set_up_;  // worker thread: data queues set up on the back-end

  mutable std::mutex mu_;  // everything below
  std::condition_variable cv_;
  VirtioNetConfig config_;
  bool stopping_ = false;
  bool want_active_ = false;  // the guest set DRIVER_OK with these queues
  uint64_t driver_features_ = 0;
  std::vector<VirtqueueConfig> queues_;
  uint16_t active_pairs_ = 1;    // what the driver set with VQ_PAIRS_SET (1 until then)
  uint64_t enables_gen_ = 0;     // bumped when active_pairs_ changes
  uint16_t backend_pairs_ = 0;   // GET_QUEUE_NUM on the current connection (0: not connected)
  VirtioNetCtrlQueue ctrl_;      // vCPU threads, transport lock held
  uint64_t generation_ = 0;      // bumped on every activate/reset/memory change
  uint64_t backend_features_ = 0;  // what the back-end offered last time (0: never connected)
  bool connected_ = false;
  bool rings_up_ = false;
  std::string last_error_;
  NetCounters counters_;
  std::thread thread_;
};

}  // namespace nfv::vmm
