// Guest interrupts (see nfv/guest/interrupts.hpp).
#include "nfv/guest/interrupts.hpp"

#include <atomic>

#include "nfv/guest/cpu.hpp"
#include "nfv/guest/runtime.hpp"

extern "C" {
void nfv_guest_irq_stub();
void nfv_guest_spurious_stub();
void nfv_guest_timer_stub();
void nfv_guest_halt(uint8_t* vif);
}

namespace nfv::guest {
namespace {
// Local APIC (Intel SDM 11.4.1), at its reset address, registers 16-byte spaced.
constexpr uint64_t kApicBase = 0xfee0'0000;
constexpr uint32_t kApicId = 0x20, kApicTpr = 0x80, kApicSvr = 0xf0, kApicLvtTimer = 0x320,
                   kApicTimerInitial = 0x380, kApicTimerCurrent = 0x390, kApicTimerDivide = 0x3e0;
constexpr uint32_t kSvrEnable = 0x100;
constexpr uint32_t kDivideBy1 = 0xb;

SpinLock g_init_lock;
bool g_global_ready = false;  // APIC mapped, gates installed, timer calibrated (under g_init_lock)
uint64_t g_apic_hz = 0;       // timer ticks per second (divide by 1); the same on every vCPU

uint32_t apic_read(uint32_t reg) noexcept {
  return std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(kApicBase + reg)).load(std::memory_order_acquire);
}
void apic_write(uint32_t reg, uint32_t v) noexcept {
  std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(kApicBase + reg)).store(v, std::memory_order_release);
}

uint64_t load(const uint64_t& counter) noexcept {
  return std::atomic_ref<const uint64_t>(counter).load(std::memory_order_relaxed);
}

constexpr uint16_t kConfigAddress = 0xcf8, kConfigData = 0xcfc;
void outl(uint16_t port, uint32_t v) noexcept { asm volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory"); }
uint32_t inl(uint16_t port) noexcept {
  uint32_t v;
  asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
  return v;
}
uint32_t config_address(uint32_t bdf, uint8_t offset) noexcept {
  return 0x8000'0000u | (bdf & 0xffff) << 8 | (offset & 0xfc);
}
}  // namespace

uint32_t pci_config_read32(uint32_t bdf, uint8_t offset) noexcept {
  outl(kConfigAddress, config_address(bdf, offset));
  return inl(kConfigData);
}

void pci_config_write32(uint32_t bdf, uint8_t offset, uint32_t value) noexcept {
  outl(kConfigAddress, config_address(bdf, offset));
  outl(kConfigData, value);
}

uint8_t pci_find_capability(uint32_t bdf, uint8_t id) noexcept {
  if ((pci_config_read32(bdf, 0x04) >> 16 & 0x10) == 0) return 0;  // status: no capability list
  uint8_t at = static_cast<uint8_t>(pci_config_read32(bdf, 0x34) & 0xfc);
  for (int hops = 0; at >= 0x40 && hops < 48; ++hops) {  // 48: a looping list cannot hang us
    const uint32_t head = pci_config_read32(bdf, at);
    if ((head & 0xff) == id) return at;
    at = static_cast<uint8_t>((head >> 8) & 0xfc);
  }
  return 0;
}

namespace {
// The shared part, on the first CPU that asks: map the APIC page, install the gates,
// calibrate the timer on this CPU's APIC (every vCPU's APIC timer runs at the same rate).
bool init_shared() noexcept {
  SpinGuard guard(g_init_lock);
  if (g_global_ready) return true;
  if (!map_device(kApicBase, 4096)) {
    print("nfv guest: cannot map the local APIC\n");
    return false;
  }
  for (unsigned v = kTimerVector; v < 0x100; ++v) {
    set_interrupt_gate(static_cast<uint8_t>(v), reinterpret_cast<uint64_t>(&nfv_guest_irq_stub));
  }
  set_interrupt_gate(kTimerVector, reinterpret_cast<uint64_t>(&nfv_guest_timer_stub));
  set_interrupt_gate(kSpuriousVector, reinterpret_cast<uint64_t>(&nfv_guest_spurious_stub));
  apic_write(kApicSvr, kSvrEnable | kSpuriousVector);
  apic_write(kApicTimerDivide, kDivideBy1);
  apic_write(kApicLvtTimer, kTimerVector);
  const uint64_t hz = tsc_hz();
  apic_write(kApicTimerInitial, 0xffff'ffff);
  const uint64_t t0 = __builtin_ia32_rdtsc();
  while (__builtin_ia32_rdtsc() - t0 < hz / 1000) {
  }
  const uint32_t left = apic_read(kApicTimerCurrent);
  const uint64_t t1 = __builtin_ia32_rdtsc();
  apic_write(kApicTimerInitial, 0);
  const uint64_t ticks = 0xffff'ffffull - left;
  if (ticks == 0 || left == 0) {
    print("nfv guest: the local APIC timer does not count (%lu ticks); idle halts are bounded by interrupts only\n",
          ticks);
    g_apic_hz = 0;
  } else {
    g_apic_hz = ticks * hz / (t1 - t0);
  }
  g_global_ready = true;
  return true;
}
}  // namespace

bool interrupts_init() noexcept {
  CpuLocal& me = cpu_local();
  if (me.irq_ready != 0) return true;
  if (!init_shared()) return false;
  // This CPU's local APIC (each vCPU has its own at the same address).
  apic_write(kApicSvr, kSvrEnable | kSpuriousVector);
  apic_write(kApicTpr, 0);
  apic_write(kApicTimerDivide, kDivideBy1);
  apic_write(kApicLvtTimer, kTimerVector);
  me.apic_id = apic_read(kApicId) >> 24;
  me.irq_ready = 1;
  return true;
}

bool interrupts_ready() noexcept { return cpu_local().irq_ready != 0; }

uint64_t msi_address(unsigned apic_id) noexcept { return kApicBase | uint64_t{apic_id & 0xff} << 12; }
uint64_t msi_address() noexcept { return msi_address(cpu_local().apic_id); }

void halt_until_interrupt(uint64_t max_ns) noexcept {
  CpuLocal& me = cpu_local();
  if (me.irq_ready == 0) return;
  if (g_apic_hz != 0) {
    uint64_t ticks = max_ns * g_apic_hz / 1'000'000'000ull;
    if (ticks == 0) ticks = 1;
    if (ticks > 0xffff'ffffull) ticks = 0xffff'ffffull;
    apic_write(kApicTimerInitial, static_cast<uint32_t>(ticks));
  }
  std::atomic_ref<uint64_t>(me.halts).store(me.halts + 1, std::memory_order_relaxed);  // only this CPU writes it
  nfv_guest_halt(me.pvm != 0 ? me.vif : nullptr);
}

InterruptCounters interrupt_counters(unsigned cpu) noexcept {
  const CpuLocal& c = cpu_local(cpu);
  return {load(c.irq_count), load(c.timer_count), load(c.halts), load(c.halts_skipped)};
}

InterruptCounters interrupt_counters() noexcept {
  InterruptCounters sum{};
  for (unsigned i = 0; i < cpu_count(); ++i) {
    const InterruptCounters c = interrupt_counters(i);
    sum.interrupts += c.interrupts;
    sum.timer += c.timer;
    sum.halts += c.halts;
    sum.halts_skipped += c.halts_skipped;
  }
  return sum;
}

}  // namespace nfv::guest
