// Machine (see the header).
#include "machine.hpp"

#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "boot/boot_layout.hpp"
#include "boot/elf_loader.hpp"
#include "cpu_start.hpp"
#include "devices/power.hpp"
#include "devices/serial_16550.hpp"
#include "virtio_net.hpp"

namespace nfv::vmm {
namespace {
constexpr uint64_t kMiB = 1u << 20;
constexpr uint64_t kMinMemory = 16 * kMiB;
constexpr uint64_t kHotplugGranule = 2 * kMiB;

control::Json exits_json(const ExitCounters& e) {
  return {{"io", e.io.load()},
          {"mmio", e.mmio.load()},
          {"hlt", e.hlt.load()},
          {"interrupted", e.interrupted.load()},
          {"shutdown", e.shutdown.load()},
          {"internal_error", e.internal_error.load()},
          {"fail_entry", e.fail_entry.load()},
          {"system_event", e.system_event.load()},
          {"other", e.other.load()}};
}
}  // namespace

Result<std::unique_ptr<Machine>> Machine::create(const MachineConfig& config) {
  std::unique_ptr<Machine> m(new Machine(config));
  if (auto s = m->build(); !s) return std::move(s).error();
  return m;
}

Machine::~Machine() {
  for (auto& v : vcpus_) v->stop();
  release_parked();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  nets_.clear();  // disconnect back-ends before the memory goes
  if (serial_) serial_->flush();
}

Status Machine::build() {
  MachineConfig& c = config_;
  if (c.memory < kMinMemory || c.memory > guest::kMmioBase) {
    return make_error(Errc::invalid_argument,
                      fmt::format("--memory {} MiB: expected 16 MiB .. {} MiB", c.memory >> 20, guest::kMmioBase >> 20));
  }
  c.memory = (c.memory + kHotplugGranule - 1) & ~(kHotplugGranule - 1);
  if (c.max_memory == 0) c.max_memory = 4 * c.memory;
  if (c.cpus < 1 || c.cpus > guest::kMaxCpus) {
    return make_error(Errc::invalid_argument, fmt::format("--cpus {}: expected 1 .. {}", c.cpus, guest::kMaxCpus));
  }
  hotplug_next_ = guest::kHotplugBase;
  stopped_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));

  auto kvm = KvmSystem::open();
  if (!kvm) return std::move(kvm).error();
  kvm_.emplace(std::move(*kvm));
  auto vm = Vm::create(*kvm_);
  if (!vm) return std::move(vm).error();
  vm_ = std::move(*vm);
  if (auto s = vm_->create_irqchip(); !s) return s;
  if (c.halt_poll_ns) {
    // An optimisation, not a condition to run: without it the host's default applies.
    if (auto s = vm_->set_halt_poll_ns(*c.halt_poll_ns); s) {
      halt_poll_ns_ = c.halt_poll_ns;
    } else {
      spdlog::warn("--halt-poll-ns {}: {}; KVM keeps the host's default", *c.halt_poll_ns, s.error().message);
    }
  }

  auto ram = GuestRam::create(c.memory, c.backing, c.name + "-ram");
  if (!ram) return std::move(ram).error();
  ram_.push_back(std::move(*ram));
  GuestRam& boot = ram_.front();
  if (auto slot = vm_->add_memory(0, boot.size(), boot.data()); !slot) return std::move(slot).error();
  if (auto s = memory_.add_region({0, boot.size(), boot.data(), boot.fd(), 0}); !s) return s;

  const std::span<uint8_t> ram_bytes(boot.data(), boot.size());
  auto image = load_elf_file(c.kernel, ram_bytes, guest::kImageBase);
  if (!image) return std::move(image).error();
  entry_ = image->entry;
  image_lowest_ = image->lowest;
  image_end_ = image->end;

  auto console = Console::open(c.console);
  if (!console) return std::move(console).error();
  console_ = std::move(*console);

  hypercall_ = std::make_unique<HypercallPort>(
      memory_, *console_,
      HypercallPort::Hooks{[this](int code) { finish(code, fmt::format("the guest shut down with exit code {}", code)); },
                           [this](uint64_t bytes) { return add_memory(bytes); },
                           [this](const guest::StartCpu& req) { return start_cpu(req); }});
  if (auto s = pio_.add(guest::kHypercallPort, 4, hypercall_.get(), "hypercall port"); !s) return s;
  serial_sink_ = std::make_unique<CallbackSink>([this](std::string_view text) { console_->write(text); });
  serial_ = std::make_unique<Serial16550>(*serial_sink_);
  if (auto s = pio_.add(Serial16550::kCom1, Serial16550::kPortCount, serial_.get(), "serial"); !s) return s;
  power_ = std::make_unique<PowerPort>([this](PowerEvent e) {
    finish(e.action == PowerAction::reset ? 0 : e.exit_code,
           e.action == PowerAction::reset ? "the guest asked for a reset (treated as power-off)" : "the guest powered off");
  });
  if (auto s = pio_.add(PowerPort::kPort, PowerPort::kPortCount, power_.get(), "power"); !s) return s;

  Vcpu::install_signal_handler();
  for (unsigned i = 0; i < c.cpus; ++i) {
    auto v = Vcpu::create(*vm_, i);
    if (!v) return std::move(v).error();
    vcpus_.push_back(std::move(*v));
  }

  // virtio-net devices (vhost-user front-ends) on the PCI bus.
  pci_ = std::make_unique<PciHostBridge>();
  if (auto s = pio_.add(PciHostBridge::kPortBase, PciHostBridge::kPortCount, pci_.get(), "pci host bridge"); !s) return s;
  std::vector<guest::DeviceInfo> devices;
  for (std::size_t i = 0; i < c.nets.size(); ++i) {
    VirtioNetDevice::Wiring w{*vm_, memory_, mmio_, *pci_};
    // Default: a queue pair per vCPU (the back-end may have fewer: VQ_PAIRS_SET is bounded by both).
    if (c.nets[i].queues == 0) c.nets[i].queues = static_cast<uint16_t>(c.cpus);
    auto dev = VirtioNetDevice::create(w, c.nets[i], static_cast<unsigned>(i));
    if (!dev) return std::move(dev).error();
    devices.push_back((*dev)->boot_info());
    nets_.push_back(std::move(*dev));
  }

  BootParams bp;
  bp.platform = kvm_->platform();
  const int khz = ::ioctl(vcpus_[0]->fd(), KVM_GET_TSC_KHZ, 0);
  bp.tsc_khz = khz > 0 ? static_cast<uint64_t>(khz) : 0;
  bp.cmdline = c.cmdline;
  bp.cpus = c.cpus;
  bp.memory.push_back({0, boot.size(), guest::MemoryType::ram, 0});
  bp.devices = devices;
  bp.entry = entry_;
  auto entry = write_boot_structures(ram_bytes, bp);
  if (!entry) return std::move(entry).error();
  boot_entry_ = *entry;
  cpu_state_[0].store(kRunning, std::memory_order_release);
  return vcpus_[0]->setup_long_mode(*entry);
}

guest::HypercallStatus Machine::start_cpu(const guest::StartCpu& req) {
  std::lock_guard lock(start_mu_);
  CpuStartLimits limits;
  limits.cpus = config_.cpus;
  for (unsigned i = 0; i < config_.cpus; ++i) limits.started[i] = cpu_state_[i].load(std::memory_order_acquire) != kParked;
  limits.image_lowest = image_lowest_;
  limits.image_end = image_end_;
  const CpuStartVerdict verdict = check_cpu_start(req, limits, memory_);
  if (verdict != CpuStartVerdict::ok) {
    // debug, not warn: a guest could fill the log with refused requests.
    spdlog::debug("start_cpu {} refused: {}", req.cpu, to_string(verdict));
    return verdict == CpuStartVerdict::already_started ? guest::HypercallStatus::cpu_started
                                                       : guest::HypercallStatus::bad_argument;
  }
  LongModeEntry e = boot_entry_;
  e.rip = req.rip;
  e.rsp = req.rsp;
  e.rdi = req.arg;
  e.rsi = req.cpu;
  ap_entry_[req.cpu] = e;  // published by the release below; read by that vCPU's thread
  uint8_t expected = kParked;
  if (!cpu_state_[req.cpu].compare_exchange_strong(expected, kRunning, std::memory_order_acq_rel)) {
    return guest::HypercallStatus::bad_argument;  // released: the VM is stopping
  }
  cpu_state_[req.cpu].notify_all();
  spdlog::debug("vCPU {} started at {:#x}", req.cpu, req.rip);
  return guest::HypercallStatus::ok;
}

void Machine::release_parked() {
  for (auto& st : cpu_state_) {
    uint8_t expected = kParked;
    if (st.compare_exchange_strong(expected, kReleased, std::memory_order_acq_rel)) st.notify_all();
  }
}

void Machine::start() {
  started_at_ = std::chrono::steady_clock::now();
  for (auto& v : vcpus_) threads_.emplace_back([this, &v] { vcpu_thread(*v); });
}

void Machine::vcpu_thread(Vcpu& v) {
  std::atomic<uint8_t>& state = cpu_state_[v.index()];
  state.wait(kParked, std::memory_order_acquire);  // until start_cpu or the stop
  if (state.load(std::memory_order_acquire) != kRunning) return;
  if (v.index() != 0) {
    // Every ioctl on a vCPU from its own thread (as QEMU does): its state is set here, not by
    // the vCPU that asked. Made runnable: KVM creates vCPUs other than 0 waiting for INIT/SIPI.
    Status s = v.set_runnable();
    if (s) s = v.setup_long_mode(ap_entry_[v.index()]);
    if (!s) {
      finish(kExitVmFault, fmt::format("vCPU {}: could not start: {}", v.index(), s.error().message));
      return;
    }
  }
  const VcpuStop why = v.run(pio_, mmio_);
  if (why != VcpuStop::requested) finish(kExitVmFault, fmt::format("vCPU {}: {}", v.index(), v.report()));
}

void Machine::finish(int code, const std::string& why) {
  {
    std::lock_guard lock(finish_mu_);
    if (stopped_.load(std::memory_order_acquire)) return;
    exit_code_ = code;
    stop_reason_ = why;
    stopped_.store(true, std::memory_order_release);
  }
  for (auto& v : vcpus_) v->stop();
  release_parked();
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(stopped_fd_.get(), &one, sizeof one);
}

int Machine::wait() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  if (serial_) serial_->flush();
  std::lock_guard lock(finish_mu_);
  return exit_code_;
}

void Machine::request_stop() {
  // The guest polls this field (guest::shutdown_requested): value = exit code + 1.
  auto* bi = reinterpret_cast<guest::BootInfo*>(ram_.front().data() + guest::kBootInfoAddress);
  std::atomic_ref<uint32_t>(bi->shutdown_request).store(1, std::memory_order_relaxed);
}

void Machine::force_stop(const std::string& why) { finish(0, why); }

void Machine::pause() {
  for (auto& v : vcpus_) v->pause();
}
void Machine::resume() {
  for (auto& v : vcpus_) v->resume();
}
bool Machine::paused() const {
  // Parked vCPUs do not count: they have not run yet (pause() flagged them too, so one
  // started during the pause parks at once).
  for (const auto& v : vcpus_) {
    if (cpu_state_[v->index()].load(std::memory_order_acquire) == kRunning && !v->paused()) return false;
  }
  return !vcpus_.empty();
}

Result<AddedMemory> Machine::add_memory(uint64_t bytes) {
  std::lock_guard lock(ram_mu_);
  const uint64_t size = (bytes + kHotplugGranule - 1) & ~(kHotplugGranule - 1);
  uint64_t total = 0;
  for (const GuestRam& r : ram_) total += r.size();
  if (size < bytes || total + size > config_.max_memory) {
    return make_error(Errc::resource, fmt::format("memory request of {} MiB refused: the VM may have {} MiB in all",
                                                  size >> 20, config_.max_memory >> 20));
  }
  auto ram = GuestRam::create(size, config_.backing, config_.name + "-ram" + std::to_string(ram_.size()));
  if (!ram) return std::move(ram).error();
  const uint64_t gpa = hotplug_next_;
  if (auto slot = vm_->add_memory(gpa, ram->size(), ram->data()); !slot) return std::move(slot).error();
  if (auto s = memory_.add_region({gpa, ram->size(), ram->data(), ram->fd(), 0}); !s) return std::move(s).error();
  hotplug_next_ += size;
  ram_.push_back(std::move(*ram));
  for (auto& n : nets_) n->memory_changed();
  return AddedMemory{gpa, size};
}

control::Json Machine::status() const {
  std::string state = stopped() ? "stopped" : paused() ? "paused" : "running";
  uint64_t total = 0;
  for (const auto& r : memory_.regions()) total += r.size;
  control::Json nets = control::Json::array();
  for (const auto& n : nets_) nets.push_back(n->status());
  return {{"name", config_.name},
          {"state", state},
          {"platform", platform_name(kvm_->platform())},
          {"kernel", config_.kernel},
          {"cpus", config_.cpus},
          {"cpus_started", cpus_started()},
          {"memory_bytes", total},
          {"memory_regions", memory_.regions().size()},
          {"hugepages", ram_.front().hugepages()},
          {"halt_poll_ns", halt_poll_ns_ ? control::Json(*halt_poll_ns_) : control::Json("host")},
          {"uptime_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count()},
          {"net", nets}};
}

control::Json Machine::stats() const {
  control::Json vcpus = control::Json::array();
  for (const auto& v : vcpus_) {
    control::Json kernel = control::Json::object();
    for (const auto& [k, val] : v->kernel_stats()) kernel[k] = val;
    const uint8_t st = cpu_state_[v->index()].load(std::memory_order_acquire);
    vcpus.push_back({{"index", v->index()},
                     {"state", st == kRunning ? (v->paused() ? "paused" : "running") : st == kParked ? "parked" : "stopped"},
                     {"exits", exits_json(v->exits())},
                     {"kernel", kernel}});
  }
  const HypercallCounters& h = hypercall_->counters();
  control::Json nets = control::Json::array();
  for (const auto& n : nets_) nets.push_back(n->stats());
  control::Json out = {
      {"vcpus", vcpus},
      {"hypercalls",
       {{"calls", h.calls.load()},
        {"bad_calls", h.bad_calls.load()},
        {"console_bytes", h.console_bytes.load()},
        {"memory_added_bytes", h.memory_added.load()},
        {"stats_published", h.stats_published.load()},
        {"cpus_started", h.cpus_started.load()},
        {"cpu_start_refused", h.cpu_start_refused.load()}}},
      {"console", {{"bytes", console_->bytes()}, {"dropped", console_->dropped()}}},
      {"serial", {{"bytes", serial_->bytes_out()}, {"bad_accesses", serial_->bad_accesses()}}},
      {"buses",
       {{"pio_unhandled_reads", pio_.unhandled_reads()},
        {"pio_unhandled_writes", pio_.unhandled_writes()},
        {"mmio_unhandled_reads", mmio_.unhandled_reads()},
        {"mmio_unhandled_writes", mmio_.unhandled_writes()}}},
      {"net", nets}};
  // Boot timings from nfv-vmm's start: set-up (KVM, RAM, image, devices) and the guest's
  // first stats publication, which nfv::run makes when its poll loop starts.
  using ms = std::chrono::duration<double, std::milli>;
  const auto t0 = config_.process_start.value_or(started_at_);
  control::Json boot = {{"setup_ms", ms(started_at_ - t0).count()}};
  if (const auto ready = hypercall_->first_publish()) boot["to_first_publish_ms"] = ms(*ready - t0).count();
  out["boot"] = boot;
  const std::string g = hypercall_->published_stats();
  if (!g.empty()) {
    auto parsed = control::Json::parse(g, nullptr, false);
    out["vnf"] = parsed.is_discarded() ? control::Json(g) : parsed;
  }
  return out;
}

unsigned Machine::cpus_started() const {
  unsigned n = 0;
  for (unsigned i = 0; i < config_.cpus; ++i) n += cpu_state_[i].load(std::memory_order_acquire) == kRunning ? 1 : 0;
  return n;
}

std::string Machine::stop_reason() const {
  std::lock_guard lock(finish_mu_);
  return stop_reason_;
}

}  // namespace nfv::vmm
