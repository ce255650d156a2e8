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
  if (c.cpus != 1) {
    return make_error(Errc::unsupported, "--cpus: the guest runtime runs on one vCPU in this version; use --cpus 1");
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

  auto console = Console::open(c.console);
  if (!console) return std::move(console).error();
  console_ = std::move(*console);

  hypercall_ = std::make_unique<HypercallPort>(
      memory_, *console_,
      HypercallPort::Hooks{[this](int code) { finish(code, fmt::format("the guest shut down with exit code {}", code)); },
                           [this](uint64_t bytes) { return add_memory(bytes); }});
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
  return vcpus_[0]->setup_long_mode(*entry);
}

void Machine::start() {
  started_at_ = std::chrono::steady_clock::now();
  for (auto& v : vcpus_) threads_.emplace_back([this, &v] { vcpu_thread(*v); });
}

void Machine::vcpu_thread(Vcpu& v) {
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
  for (const auto& v : vcpus_) {
    if (!v->paused()) return false;
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
    vcpus.push_back({{"index", v->index()}, {"exits", exits_json(v->exits())}, {"kernel", kernel}});
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
        {"stats_published", h.stats_published.load()}}},
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

std::string Machine::stop_reason() const {
  std::lock_guard lock(finish_mu_);
  return stop_reason_;
}

}  // namespace nfv::vmm
