// Vcpu (see the header).
#include "kvm/vcpu.hpp"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <algorithm>
#include <vector>

#include "kvm/kvm_abi.hpp"

#include <fmt/format.h>

namespace nfv::vmm {
namespace {
constexpr int kKickSignal = SIGUSR1;

Error sys_error(const std::string& what) { return make_error(Errc::io, what + ": " + std::strerror(errno)); }

kvm_segment segment(uint16_t selector, uint8_t type, bool code) {
  kvm_segment s{};
  s.base = 0;
  s.limit = 0xffffffff;
  s.selector = selector;
  s.type = type;
  s.present = 1;
  s.dpl = 0;
  s.db = code ? 0 : 1;  // 64-bit code: L=1 requires D=0
  s.s = 1;
  s.l = code ? 1 : 0;
  s.g = 1;
  return s;
}
}  // namespace

void Vcpu::install_signal_handler() {
  struct sigaction sa{};
  sa.sa_handler = [](int) {};  // only interrupts KVM_RUN (no SA_RESTART)
  sigemptyset(&sa.sa_mask);
  sigaction(kKickSignal, &sa, nullptr);
}

Result<std::unique_ptr<Vcpu>> Vcpu::create(Vm& vm, unsigned index) {
  std::unique_ptr<Vcpu> v(new Vcpu(index));
  v->fd_.reset(::ioctl(vm.fd(), KVM_CREATE_VCPU, index));
  if (!v->fd_.valid()) return sys_error(fmt::format("KVM_CREATE_VCPU {}", index));
  v->run_size_ = static_cast<std::size_t>(vm.kvm().vcpu_mmap_size());
  void* p = ::mmap(nullptr, v->run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd_.get(), 0);
  if (p == MAP_FAILED) return sys_error("mmap of the vCPU run structure");
  v->run_ = static_cast<kvm_run*>(p);
  v->stats_fd_.reset(::ioctl(v->fd_.get(), KVM_GET_STATS_FD, nullptr));  // optional (Linux 5.14+)

  // CPUID: what KVM supports, with this vCPU's APIC id (leaf 1 EBX[31:24]).
  const auto& supported = vm.kvm().supported_cpuid();
  auto c = std::make_unique<kvm_abi::CpuidTable>();
  c->nent = static_cast<uint32_t>(std::min<std::size_t>(supported.size(), kvm_abi::kMaxCpuid));
  for (uint32_t i = 0; i < c->nent; ++i) {
    c->entries[i] = supported[i];
    if (c->entries[i].function == 1) c->entries[i].ebx = (c->entries[i].ebx & 0x00ffffff) | (index << 24);
    if (c->entries[i].function == 0xb) c->entries[i].edx = index;
  }
  if (::ioctl(v->fd_.get(), kvm_abi::kSetCpuid2, c.get()) < 0) return sys_error("KVM_SET_CPUID2");
  return v;
}

Vcpu::~Vcpu() {
  if (run_ != nullptr) ::munmap(run_, run_size_);
}

Status Vcpu::setup_long_mode(const LongModeEntry& e) {
  kvm_sregs s{};
  if (::ioctl(fd_.get(), KVM_GET_SREGS, &s) < 0) return sys_error("KVM_GET_SREGS");
  s.cs = segment(e.code_selector, 0xb, true);   // execute/read, accessed
  s.ds = s.es = s.fs = s.gs = s.ss = segment(e.data_selector, 0x3, false);  // read/write, accessed
  s.tr = kvm_segment{};
  s.tr.base = e.tss_base;
  s.tr.limit = 0x67;
  s.tr.selector = e.tss_selector;
  s.tr.type = 0xb;  // 64-bit busy TSS (VMX entry checks want a usable TR)
  s.tr.present = 1;
  s.ldt = kvm_segment{};
  s.ldt.type = 0x2;
  s.ldt.unusable = 1;
  s.gdt.base = e.gdt_base;
  s.gdt.limit = e.gdt_limit;
  s.idt.base = 0;
  s.idt.limit = 0;  // the guest loads its own IDT
  s.cr3 = e.cr3;
  s.cr4 = (1u << 5) | (1u << 9) | (1u << 10);  // PAE, OSFXSR, OSXMMEXCPT (SSE usable)
  s.cr0 = (1u << 0) | (1u << 1) | (1u << 4) | (1u << 5) | (1u << 16) | (1u << 31);  // PE MP ET NE WP PG
  s.efer = (1u << 8) | (1u << 10) | (1u << 11);  // LME, LMA, NXE
  if (::ioctl(fd_.get(), KVM_SET_SREGS, &s) < 0) return sys_error("KVM_SET_SREGS (long mode)");

  kvm_fpu fpu{};
  fpu.fcw = 0x37f;
  fpu.mxcsr = 0x1f80;
  if (::ioctl(fd_.get(), KVM_SET_FPU, &fpu) < 0) return sys_error("KVM_SET_FPU");

  kvm_regs r{};
  r.rip = e.rip;
  r.rdi = e.rdi;
  r.rsi = e.rsi;
  r.rsp = e.rsp;
  r.rflags = 0x2;  // reserved bit; interrupts off
  if (::ioctl(fd_.get(), KVM_SET_REGS, &r) < 0) return sys_error("KVM_SET_REGS");
  return {};
}

Status Vcpu::set_runnable() {
  kvm_mp_state mp{};
  mp.mp_state = KVM_MP_STATE_RUNNABLE;
  if (::ioctl(fd_.get(), KVM_SET_MP_STATE, &mp) < 0) return sys_error("KVM_SET_MP_STATE (runnable)");
  return {};
}

void Vcpu::kick() noexcept {
  run_->immediate_exit = 1;  // KVM_RUN returns at once if the signal came before it
  if (running_.load(std::memory_order_acquire)) pthread_kill(thread_.load(), kKickSignal);
}

void Vcpu::stop() noexcept {
  stop_.store(true, std::memory_order_release);
  pause_.store(false, std::memory_order_release);
  pause_.notify_all();
  kick();
}

void Vcpu::pause() noexcept {
  pause_.store(true, std::memory_order_release);
  kick();
}

void Vcpu::resume() noexcept {
  pause_.store(false, std::memory_order_release);
  pause_.notify_all();
}

bool Vcpu::handle_io(IoBus& pio) {
  auto& io = run_->io;
  // Safe: KVM guarantees data_offset + size * count lies inside the run mapping.
  uint8_t* data = reinterpret_cast<uint8_t*>(run_) + io.data_offset;
  for (uint32_t i = 0; i < io.count; ++i, data += io.size) {
    if (io.direction == KVM_EXIT_IO_OUT) {
      pio.write(io.port, std::span<const uint8_t>(data, io.size));
    } else {
      pio.read(io.port, std::span<uint8_t>(data, io.size));
    }
  }
  return true;
}

VcpuStop Vcpu::run(IoBus& pio, IoBus& mmio) {
  thread_.store(pthread_self());
  running_.store(true, std::memory_order_release);
  struct Done {
    std::atomic<bool>& r;
    ~Done() { r.store(false, std::memory_order_release); }
  } done{running_};

  for (;;) {
    if (stop_.load(std::memory_order_acquire)) return VcpuStop::requested;
    if (pause_.load(std::memory_order_acquire)) {
      parked_.store(true, std::memory_order_release);
      pause_.wait(true);
      parked_.store(false, std::memory_order_release);
      continue;
    }
    run_->immediate_exit = 0;
    if (stop_.load(std::memory_order_acquire) || pause_.load(std::memory_order_acquire)) continue;
    if (::ioctl(fd_.get(), KVM_RUN, 0) < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        ++exits_.interrupted;
        continue;
      }
      report_ = fmt::format("KVM_RUN failed: {}\n{}", std::strerror(errno), registers());
      return VcpuStop::error;
    }
    switch (run_->exit_reason) {
      case KVM_EXIT_IO:
        ++exits_.io;
        handle_io(pio);
        break;
      case KVM_EXIT_MMIO: {
        ++exits_.mmio;
        auto& m = run_->mmio;
        const uint32_t len = m.len <= 8 ? m.len : 8;
        if (m.is_write) {
          mmio.write(m.phys_addr, std::span<const uint8_t>(m.data, len));
        } else {
          mmio.read(m.phys_addr, std::span<uint8_t>(m.data, len));
        }
        break;
      }
      case KVM_EXIT_INTR:
        ++exits_.interrupted;
        break;
      case KVM_EXIT_HLT:
        ++exits_.hlt;
        report_ = "the guest halted with no interrupt source";
        return VcpuStop::halted;
      case KVM_EXIT_SHUTDOWN:
        ++exits_.shutdown;
        report_ = fmt::format("triple fault (the guest took an exception it could not handle)\n{}", registers());
        return VcpuStop::fault;
      case KVM_EXIT_INTERNAL_ERROR: {
        ++exits_.internal_error;
        std::string data;
        for (uint32_t i = 0; i < run_->internal.ndata && i < 16; ++i) data += fmt::format(" {:#x}", run_->internal.data[i]);
        report_ = fmt::format("KVM internal error, suberror {} (1 = emulation failure){}\n{}", run_->internal.suberror,
                              data, registers());
        return VcpuStop::fault;
      }
      case KVM_EXIT_FAIL_ENTRY:
        ++exits_.fail_entry;
        report_ = fmt::format("VM entry failed, hardware reason {:#x}\n{}",
                              run_->fail_entry.hardware_entry_failure_reason, registers());
        return VcpuStop::fault;
      case KVM_EXIT_SYSTEM_EVENT:
        ++exits_.system_event;
        report_ = fmt::format("system event {} (shutdown/reset requested by the guest)", run_->system_event.type);
        return VcpuStop::fault;
      default:
        ++exits_.other;
        report_ = fmt::format("unexpected exit reason {}\n{}", run_->exit_reason, registers());
        return VcpuStop::fault;
    }
  }
}

std::string Vcpu::registers() const {
  kvm_regs r{};
  kvm_sregs s{};
  if (::ioctl(fd_.get(), KVM_GET_REGS, &r) < 0 || ::ioctl(fd_.get(), KVM_GET_SREGS, &s) < 0) {
    return fmt::format("(registers unavailable: {})", std::strerror(errno));
  }
  return fmt::format(
      "  rip={:#x} rsp={:#x} rflags={:#x}\n  rax={:#x} rbx={:#x} rcx={:#x} rdx={:#x} rsi={:#x} rdi={:#x}\n"
      "  cs={:#x} cr0={:#x} cr2={:#x} cr3={:#x} cr4={:#x} efer={:#x}",
      r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, s.cs.selector, s.cr0, s.cr2, s.cr3, s.cr4,
      s.efer);
}

std::map<std::string, uint64_t> Vcpu::kernel_stats() const {
  std::map<std::string, uint64_t> out;
  if (!stats_fd_.valid()) return out;
  kvm_stats_header h{};
  if (::pread(stats_fd_.get(), &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h)) return out;
  // A descriptor is 16 bytes of fields and then name_size bytes of name. Not
  // sizeof(kvm_stats_desc): in C++ the header's flexible-array macro puts an
  // empty struct (1 byte) before `name`, making it 20 and the name start at 17,
  // which read every descriptor after the first at the wrong place.
  constexpr std::size_t kFields = offsetof(kvm_stats_desc, bucket_size) + sizeof(kvm_stats_desc::bucket_size);
  static_assert(kFields == 16);
  if (h.name_size == 0 || h.name_size > 4096 || h.num_desc > 4096) return out;
  const std::size_t desc_size = kFields + h.name_size;
  std::vector<uint8_t> descs(desc_size * h.num_desc);
  if (::pread(stats_fd_.get(), descs.data(), descs.size(), h.desc_offset) != static_cast<ssize_t>(descs.size())) {
    return out;
  }
  for (uint32_t i = 0; i < h.num_desc; ++i) {
    const uint8_t* d = descs.data() + i * desc_size;
    uint16_t size = 0;
    uint32_t offset = 0;
    std::memcpy(&size, d + offsetof(kvm_stats_desc, size), sizeof size);
    std::memcpy(&offset, d + offsetof(kvm_stats_desc, offset), sizeof offset);
    if (size == 0) continue;  // a histogram (size > 1): its first bucket
    uint64_t v = 0;
    if (::pread(stats_fd_.get(), &v, sizeof v, h.data_offset + offset) != static_cast<ssize_t>(sizeof v)) continue;
    const auto* name = reinterpret_cast<const char*>(d + kFields);
    if (v != 0) out.emplace(std::string(name, strnlen(name, h.name_size)), v);
  }
  return out;
}

}  // namespace nfv::vmm
