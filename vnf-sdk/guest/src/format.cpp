// A small printf for the guest console (no libc in the guest).
#include <cstdarg>

#include "nfv/guest/runtime.hpp"

namespace nfv::guest {
namespace {
struct Out {
  char* buf;
  std::size_t size;
  std::size_t n = 0;
  void put(char c) noexcept {
    if (n + 1 < size) buf[n] = c;
    ++n;
  }
};

// `left`: pad on the right with spaces (the - flag; it overrides 0).
void put_number(Out& o, unsigned long long v, unsigned base, bool upper, int width, bool zero, bool negative,
                bool left) {
  char tmp[24];
  int len = 0;
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  do {
    tmp[len++] = digits[v % base];
    v /= base;
  } while (v != 0);
  int pad = width - len - (negative ? 1 : 0);
  if (left) zero = false;
  if (negative && zero) o.put('-');
  while (!left && pad-- > 0) o.put(zero ? '0' : ' ');
  if (negative && !zero) o.put('-');
  while (len > 0) o.put(tmp[--len]);
  while (left && pad-- > 0) o.put(' ');
}
}  // namespace

int vformat(char* buf, std::size_t size, const char* fmt, va_list ap) noexcept {
  Out o{buf, size};
  for (const char* p = fmt; *p != '\0'; ++p) {
    if (*p != '%') {
      o.put(*p);
      continue;
    }
    ++p;
    bool zero = false, alt = false, left = false;
    int width = 0;
    for (;; ++p) {  // flags, in any order
      if (*p == '#') alt = true;
      else if (*p == '0') zero = true;
      else if (*p == '-') left = true;
      else break;
    }
    while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
    int longs = 0;
    while (*p == 'l' || *p == 'z') {
      ++longs;
      ++p;
    }
    auto arg_unsigned = [&]() -> unsigned long long {
      return longs >= 2 ? va_arg(ap, unsigned long long) : longs == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
    };
    switch (*p) {
      case 'd':
      case 'i': {
        long long v = longs >= 2 ? va_arg(ap, long long) : longs == 1 ? va_arg(ap, long) : va_arg(ap, int);
        const bool neg = v < 0;
        put_number(o, neg ? 0ULL - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v), 10, false,
                   width, zero, neg, left);
        break;
      }
      case 'u': put_number(o, arg_unsigned(), 10, false, width, zero, false, left); break;
      case 'x':
        if (alt) {
          o.put('0');
          o.put('x');
        }
        put_number(o, arg_unsigned(), 16, false, width, zero, false, left);
        break;
      case 'X': put_number(o, arg_unsigned(), 16, true, width, zero, false, left); break;
      case 'p':
        o.put('0');
        o.put('x');
        put_number(o, reinterpret_cast<uintptr_t>(va_arg(ap, void*)), 16, false, width, zero, false, left);
        break;
      case 'c': o.put(static_cast<char>(va_arg(ap, int))); break;
      case 's': {
        const char* s = va_arg(ap, const char*);
        if (s == nullptr) s = "(null)";
        int len = 0;
        while (s[len] != '\0') ++len;
        for (int pad = width - len; !left && pad > 0; --pad) o.put(' ');
        for (int i = 0; i < len; ++i) o.put(s[i]);
        for (int pad = width - len; left && pad > 0; --pad) o.put(' ');
        break;
      }
      case '%': o.put('%'); break;
      case '\0': --p; break;
      default:  // not a conversion this printf knows: shown as written (its argument is not consumed)
        o.put('%');
        o.put(*p);
    }
  }
  if (size > 0) buf[o.n < size ? o.n : size - 1] = '\0';
  return static_cast<int>(o.n);
}

int format(char* buf, std::size_t size, const char* fmt, ...) noexcept {
  va_list ap;
  va_start(ap, fmt);
  const int n = vformat(buf, size, fmt, ap);
  va_end(ap);
  return n;
}

void vprint(const char* fmt, va_list ap) noexcept {
  char buf[1024];
  int n = vformat(buf, sizeof buf, fmt, ap);
  if (n > static_cast<int>(sizeof buf) - 1) n = sizeof buf - 1;
  console_write(buf, static_cast<std::size_t>(n));
}

void print(const char* fmt, ...) noexcept {
  va_list ap;
  va_start(ap, fmt);
  vprint(fmt, ap);
  va_end(ap);
}

}  // namespace nfv::guest
