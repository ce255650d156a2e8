// The SDK's guest runtime: what a VNF linked as a bootable ELF gets besides
// nfv::run (nfv/run.hpp of the guest build).
//
// Boot (src/boot.cpp): the entry stub registers PVM's virtual-IF page when the
// VMM says the platform is PVM; then the runtime checks BootInfo, installs an
// IDT whose handlers report the CPU exception on the console and power off with
// kExitFault, builds its own page tables (identity map of RAM and the device
// MMIO windows, page 0 left unmapped to catch null pointers), runs static
// constructors and calls the VNF's
//     int guest_main(int argc, char** argv);
// with the kernel command line split at spaces (argv[0] = "guest"). Its return
// value is the VM's exit code (the VMM returns it as its own).
//
// Memory: the heap is the RAM above the image; it never frees (the data path
// allocates nothing; setup allocations live as long as the VM). more_memory()
// asks the VMM for RAM at run time (a memory-request hypercall) and maps it.
//
// SMP: nfv/guest/cpu.hpp (cpu_count, this_cpu, start_cpu). The console, the
// hypercall block, the heap and the page tables are safe to use from every CPU.
//
// Everything here is for setup and control: each call into the VMM is one VM
// exit (~40 us on PVM).
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>

#include "nfv/guest/boot_abi.hpp"

extern "C" int guest_main(int argc, char** argv);

namespace nfv::guest {

const BootInfo& boot_info() noexcept;

// printf-style subset: %s %c %d %i %u %x %X %p %% with l/ll/z, a width, the 0, - and # flags.
void print(const char* fmt, ...) noexcept __attribute__((format(printf, 1, 2)));
void vprint(const char* fmt, va_list ap) noexcept;
int format(char* buf, std::size_t size, const char* fmt, ...) noexcept __attribute__((format(printf, 3, 4)));
int vformat(char* buf, std::size_t size, const char* fmt, va_list ap) noexcept;
void console_write(const char* text, std::size_t len) noexcept;

[[noreturn]] void shutdown(int exit_code) noexcept;
// CLOCK_REALTIME from the VMM, in ns.
uint64_t wall_clock_ns() noexcept;
// Asks the VMM for `bytes` more RAM (rounded up to 2 MiB); maps it and returns
// its address, or nullptr when refused. `*got` receives the size added.
void* more_memory(uint64_t bytes, uint64_t* got) noexcept;
// Hands the VMM a JSON text it serves in its stats answer.
bool publish_stats(const char* json, std::size_t len) noexcept;
// True once the VMM asked the guest to shut down (BootInfo::shutdown_request);
// *code receives the exit code it asked for.
bool shutdown_requested(int* code) noexcept;

// TSC frequency in Hz (from the boot information, or calibrated against the wall clock).
uint64_t tsc_hz() noexcept;

// Heap: `bytes` at `align` (a power of two), or nullptr when RAM is exhausted.
void* heap_alloc(std::size_t bytes, std::size_t align) noexcept;
std::size_t heap_free_bytes() noexcept;
// Writes one byte per 4 KiB page of [p, p+len): the first touch of a page costs a
// shadow-paging fault on PVM (~6 us), so packet memory is touched once at boot.
void pretouch(void* p, std::size_t len) noexcept;

}  // namespace nfv::guest
