// Guest interrupts, for adaptive idle: the local APIC, MSI-X vectors for
// virtio queues, and halting the vCPU until an interrupt (or a timeout) wakes it.
//
// The runtime runs with interrupts masked (on PVM the virtual-IF cell's if_ = 0,
// otherwise RFLAGS.IF = 0) and polls. Going idle, nfv::run arms its receive
// queues' notifications and calls halt_until_interrupt(): interrupts are
// enabled only for the halt (PVM: if_ = 1 and the HALT hypercall, 0x1009;
// hardware virtualization: sti; hlt) and masked again on return. Every handler
// just counts and acknowledges (EOI); the run loop then polls its rings.
//
// A packet can arrive between arming and the halt. On hardware `sti; hlt`
// closes that window (the interrupt shadow); on PVM the handler sees that it
// interrupted the halt sequence and returns past the HALT hypercall, so the
// vCPU never sleeps on a pending packet. A one-shot local APIC timer bounds
// every halt (the shutdown check and stats publication keep running).
//
// Cost (PVM, reference/pvm/README.md): an irqfd MSI wakes a halted vCPU in
// ~57 us median; each local APIC register access is an exit handled inside KVM.
#pragma once

#include <cstdint>

namespace nfv::guest {

inline constexpr uint8_t kQueueVectorBase = 0x40;  // + device index: its receive queue's MSI-X message
inline constexpr uint8_t kTimerVector = 0x3f;
inline constexpr uint8_t kSpuriousVector = 0xff;

// Once per CPU, on that CPU: the first call (any CPU) maps the local APIC,
// installs the handlers in the shared IDT and calibrates the APIC timer; every
// CPU enables its own local APIC and timer. False (after printing why) when
// there is no APIC.
bool interrupts_init() noexcept;
// This CPU's local APIC is set up.
bool interrupts_ready() noexcept;
// The MSI message address that raises a vector on this vCPU, or on the local APIC
// with this id (nfv-vmm gives vCPU k APIC id k).
uint64_t msi_address() noexcept;
uint64_t msi_address(unsigned apic_id) noexcept;
// Waits with interrupts enabled until one arrives or `max_ns` passed (this CPU).
void halt_until_interrupt(uint64_t max_ns) noexcept;

struct InterruptCounters {
  uint64_t interrupts;  // handled (queues and timer)
  uint64_t timer;       // of which the halt's bounding timer
  uint64_t halts;
  uint64_t halts_skipped;  // an interrupt came between arming and the halt
};
// One CPU's counters, and the sum over all CPUs.
InterruptCounters interrupt_counters(unsigned cpu) noexcept;
InterruptCounters interrupt_counters() noexcept;

// PCI configuration space through ports 0xCF8/0xCFC (one exit per access).
uint32_t pci_config_read32(uint32_t bdf, uint8_t offset) noexcept;
void pci_config_write32(uint32_t bdf, uint8_t offset, uint32_t value) noexcept;
// Offset of capability `id` in the function's list, or 0.
uint8_t pci_find_capability(uint32_t bdf, uint8_t id) noexcept;

// Runtime internals (boot.cpp).
bool map_device(uint64_t gpa, uint64_t size) noexcept;
void set_interrupt_gate(uint8_t vector, uint64_t handler) noexcept;
// Loads the runtime's IDT and page tables on this CPU (a started CPU's first act).
void load_runtime_tables() noexcept;

}  // namespace nfv::guest
