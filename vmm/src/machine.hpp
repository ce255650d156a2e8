// Machine: one VNF virtual machine put together: KVM VM and vCPUs, guest RAM
// (memfd), the loaded guest image and its boot structures, the I/O buses with
// their devices (hypercall port, serial console, power port, PCI host bridge,
// virtio-net-pci devices backed by vhost-user), and one thread per vCPU.
//
// SMP: every vCPU has its thread from start(), but only vCPU 0 runs at the
// ELF entry; the others stay parked (their thread waits, KVM_RUN is never
// called) until the guest's start_cpu hypercall names them with a valid entry
// (cpu_start.hpp). Then the vCPU's own thread gives it vCPU 0's boot state with
// the guest's RIP, RSP and argument (every vCPU ioctl stays on its thread). A fault or shutdown on any vCPU ends the VM; stopping releases
// parked threads too, so every thread is joined.
//
// Lifecycle: create() builds everything and loads the guest (nothing runs);
// start() starts the vCPU threads; the guest ends the run with a shutdown
// hypercall (its exit code becomes the VMM's), or a fault stops it (a report
// and exit code 1 (kExitVmFault)), or the VMM asks it to stop
// (request_stop(): the guest is told through BootInfo::shutdown_request and
// shuts down by itself; force_stop() stops the vCPUs when it does not).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "boot/guest_ram.hpp"
#include "console.hpp"
#include "devices/pci.hpp"
#include "devices/power.hpp"
#include "devices/serial_16550.hpp"
#include "devices/io_bus.hpp"
#include "guest_memory.hpp"
#include "hypercall.hpp"
#include "kvm/kvm_system.hpp"
#include "kvm/vcpu.hpp"
#include "kvm/vm.hpp"
#include "nfv/control/jsonrpc.hpp"
#include "nfv/mac_address.hpp"
#include "nfv/result.hpp"
#include "virtio_net.hpp"

namespace nfv::vmm {

inline constexpr int kExitVmFault = 1;

struct MachineConfig {
  std::string kernel;          // guest ELF
  uint64_t memory = 256u << 20;
  uint64_t max_memory = 0;     // limit for memory requests (0: 4 x memory)
  unsigned cpus = 1;
  std::string cmdline;
  std::vector<NetSpec> nets;
  std::string console;         // "" or "-": stdout
  RamBacking backing = RamBacking::prefer_hugepages;
  std::string name = "vm";
  // KVM halt polling (Vm::set_halt_poll_ns); nullopt: the host's default.
  std::optional<uint32_t> halt_poll_ns;
  // When nfv-vmm started (for the boot timings in stats); default: when the Machine is created.
  std::optional<std::chrono::steady_clock::time_point> process_start;
};

class Machine {
 public:
  static Result<std::unique_ptr<Machine>> create(const MachineConfig& config);
  ~Machine();

  void start();
  // Blocks until the VM has stopped; returns the exit code.
  int wait();
  // Any thread: asks the guest to shut down by itself (BootInfo::shutdown_request).
  void request_stop();
  // Any thread: stops the vCPUs now (exit code 0 unless the guest already chose one).
  void force_stop(const std::string& why);
  std::string stop_reason() const;
  bool stopped() const noexcept { return stopped_.load(std::memory_order_acquire); }
  // Eventfd that becomes readable when the VM has stopped (for event loops).
  int stopped_fd() const noexcept { return stopped_fd_.get(); }

  void pause();
  void resume();
  bool paused() const;

  control::Json status() const;
  control::Json stats() const;
  // vCPUs the guest has running (vCPU 0 and those it started with start_cpu).
  unsigned cpus_started() const;
  const MachineConfig& config() const noexcept { return config_; }
  std::chrono::steady_clock::time_point started_at() const noexcept { return started_at_; }

 private:
  explicit Machine(MachineConfig c) : config_(std::move(c)) {}
  Status build();
  void vcpu_thread(Vcpu& v);
  void finish(int code, const std::string& why);
  guest::HypercallStatus start_cpu(const guest::StartCpu& req);
  void release_parked();
  Result<AddedMemory> add_memory(uint64_t bytes);

  MachineConfig config_;
  std::optional<KvmSystem> kvm_;
  std::optional<uint32_t> halt_poll_ns_;  // what KVM took; nullopt: the host default
  std::unique_ptr<Vm> vm_;
  std::vector<GuestRam> ram_;  // [0] boot RAM, then memory added at run time
  std::mutex ram_mu_;
  GuestMemory memory_;
  std::unique_ptr<Console> console_;
  IoBus pio_{"pio"};
  IoBus mmio_{"mmio"};
  std::unique_ptr<HypercallPort> hypercall_;
  std::unique_ptr<SerialSink> serial_sink_;
  std::unique_ptr<Serial16550> serial_;
  std::unique_ptr<PowerPort> power_;
  std::unique_ptr<PciHostBridge> pci_;
  std::vector<std::unique_ptr<VirtioNetDevice>> nets_;
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  std::vector<std::thread> threads_;
  uint64_t entry_ = 0;
  uint64_t image_lowest_ = 0, image_end_ = 0;
  LongModeEntry boot_entry_{};
  // Per vCPU: kParked until started (kRunning) or released at stop (kReleased).
  enum : uint8_t { kParked = 0, kRunning = 1, kReleased = 2 };
  std::array<std::atomic<uint8_t>, guest::kMaxCpus> cpu_state_{};
  std::array<LongModeEntry, guest::kMaxCpus> ap_entry_{};  // written before cpu_state_ becomes kRunning
  std::mutex start_mu_;
  uint64_t hotplug_next_;

  std::atomic<bool> stopped_{false};
  vhost_user::UniqueFd stopped_fd_;
  mutable std::mutex finish_mu_;
  int exit_code_ = 0;
  std::string stop_reason_;
  std::chrono::steady_clock::time_point started_at_{};
};

}  // namespace nfv::vmm
