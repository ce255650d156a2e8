// The few C and C++ runtime pieces a guest image needs (there is no libc in
// the guest): string functions, a heap that never frees (operator new), and
// the hooks libstdc++'s headers call on errors, which here report and power
// off (the guest build has no exceptions).
//
// Compiled with -fno-builtin and -fno-tree-loop-distribute-patterns so that
// the compiler does not turn these loops back into calls to themselves.
#include <atomic>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <new>

#include "nfv/guest/runtime.hpp"

using nfv::guest::print;
using nfv::guest::shutdown;

extern "C" {

void* memcpy(void* d, const void* s, size_t n) {
  void* ret = d;
  asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
  return ret;
}

void* memset(void* d, int c, size_t n) {
  void* ret = d;
  asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
  return ret;
}

void* memmove(void* d, const void* s, size_t n) {
  auto* dp = static_cast<unsigned char*>(d);
  const auto* sp = static_cast<const unsigned char*>(s);
  if (dp <= sp || dp >= sp + n) return memcpy(d, s, n);
  for (size_t i = n; i > 0; --i) dp[i - 1] = sp[i - 1];
  return d;
}

int memcmp(const void* a, const void* b, size_t n) {
  const auto* x = static_cast<const unsigned char*>(a);
  const auto* y = static_cast<const unsigned char*>(b);
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

size_t strlen(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

int strcmp(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) ++a, ++b;
  return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}

int strncmp(const char* a, const char* b, size_t n) {
  for (; n > 0; --n, ++a, ++b) {
    if (*a != *b || *a == '\0') return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
  }
  return 0;
}

[[noreturn]] void abort() {
  print("nfv guest: abort() called\n");
  shutdown(nfv::guest::kExitStartFailed);
}

// libstdc++'s assertion messages use printf.
int printf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  nfv::guest::vprint(fmt, ap);
  va_end(ap);
  return 0;
}

// There are no file descriptors in a guest: eventfd kicks are never used there.
long write(int, const void*, size_t) { return -1; }

void* __dso_handle = nullptr;
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }  // the guest never runs exit handlers
[[noreturn]] void __cxa_pure_virtual() {
  print("nfv guest: pure virtual call\n");
  shutdown(nfv::guest::kExitStartFailed);
}
// Static locals (Itanium C++ ABI 3.3.2): byte 0 of the guard says "initialised"
// (the compiler's inline fast path reads it), byte 1 "being initialised": a CPU
// that finds another one initialising waits for it.
int __cxa_guard_acquire(uint64_t* g) {
  auto* b = reinterpret_cast<uint8_t*>(g);
  std::atomic_ref<uint8_t> done(b[0]), busy(b[1]);
  for (;;) {
    if (done.load(std::memory_order_acquire) != 0) return 0;
    uint8_t expected = 0;
    if (busy.compare_exchange_weak(expected, 1, std::memory_order_acquire)) {
      if (done.load(std::memory_order_acquire) != 0) {  // finished between the two loads
        busy.store(0, std::memory_order_release);
        return 0;
      }
      return 1;
    }
    __builtin_ia32_pause();
  }
}
void __cxa_guard_release(uint64_t* g) {
  auto* b = reinterpret_cast<uint8_t*>(g);
  std::atomic_ref<uint8_t>(b[0]).store(1, std::memory_order_release);
  std::atomic_ref<uint8_t>(b[1]).store(0, std::memory_order_release);
}
void __cxa_guard_abort(uint64_t* g) {
  std::atomic_ref<uint8_t>(reinterpret_cast<uint8_t*>(g)[1]).store(0, std::memory_order_release);
}
[[noreturn]] void __stack_chk_fail() {
  print("nfv guest: stack smashing detected\n");
  shutdown(nfv::guest::kExitStartFailed);
}

}  // extern "C"

namespace {
[[noreturn]] void out_of_memory(std::size_t n) {
  print("nfv guest: out of memory (wanted %zu bytes, %zu free); give the VM more --memory\n", n,
        nfv::guest::heap_free_bytes());
  shutdown(nfv::guest::kExitStartFailed);
}
void* allocate(std::size_t n, std::size_t align) {
  void* p = nfv::guest::heap_alloc(n == 0 ? 1 : n, align < 16 ? 16 : align);
  if (p == nullptr) out_of_memory(n);
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return allocate(n, 16); }
void* operator new[](std::size_t n) { return allocate(n, 16); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return nfv::guest::heap_alloc(n, 16); }
// The heap never frees: every allocation is set-up state that lives as long as the VM.
void operator delete(void*) noexcept {}
void operator delete[](void*) noexcept {}
void operator delete(void*, std::size_t) noexcept {}
void operator delete[](void*, std::size_t) noexcept {}
void operator delete(void*, std::align_val_t) noexcept {}
void operator delete[](void*, std::align_val_t) noexcept {}
void operator delete(void*, std::size_t, std::align_val_t) noexcept {}
void operator delete[](void*, std::size_t, std::align_val_t) noexcept {}

// libstdc++ error hooks (declared in <bits/functexcept.h>): fatal in the guest.
namespace std {
#define NFV_GUEST_FATAL(name)                                       \
  [[noreturn]] void name(const char* what) {                        \
    print("nfv guest: fatal C++ library error: %s\n", what);        \
    shutdown(nfv::guest::kExitStartFailed);                         \
  }
NFV_GUEST_FATAL(__throw_length_error)
NFV_GUEST_FATAL(__throw_logic_error)
NFV_GUEST_FATAL(__throw_out_of_range)
NFV_GUEST_FATAL(__throw_invalid_argument)
NFV_GUEST_FATAL(__throw_runtime_error)
NFV_GUEST_FATAL(__throw_domain_error)
NFV_GUEST_FATAL(__throw_overflow_error)
#undef NFV_GUEST_FATAL
[[noreturn]] void __throw_out_of_range_fmt(const char* fmt, ...) {
  print("nfv guest: fatal C++ library error: %s\n", fmt);
  shutdown(nfv::guest::kExitStartFailed);
}
[[noreturn]] void __glibcxx_assert_fail(const char* file, int line, const char* function, const char* condition) noexcept {
  print("nfv guest: %s:%d: %s: assertion '%s' failed\n", file, line, function, condition);
  shutdown(nfv::guest::kExitStartFailed);
}
[[noreturn]] void __throw_bad_alloc() { out_of_memory(0); }
[[noreturn]] void __throw_bad_array_new_length() { out_of_memory(0); }
[[noreturn]] void __throw_bad_function_call() {
  print("nfv guest: call of an empty std::function\n");
  shutdown(nfv::guest::kExitStartFailed);
}
[[noreturn]] void __throw_bad_variant_access(const char* what) {
  print("nfv guest: bad variant access: %s\n", what);
  shutdown(nfv::guest::kExitStartFailed);
}
[[noreturn]] void __throw_bad_optional_access() {
  print("nfv guest: bad optional access\n");
  shutdown(nfv::guest::kExitStartFailed);
}
}  // namespace std
