// Serial16550: output lines through THR, registers a Linux 8250 probe
// touches (divisor latch, scratch, loopback MSR, LSR, IIR), bad widths, and
// the asynchronous fd sink (order kept, overflow dropped and counted).
#include "devices/serial_16550.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <string>
#include <vector>

using namespace nfv::vmm;

namespace {
struct Uart {
  std::vector<std::string> lines;
  CallbackSink sink{[this](std::string_view l) { lines.emplace_back(l); }};
  Serial16550 uart{sink};
  void out(unsigned reg, uint8_t v) { uart.write(reg, std::span<const uint8_t>(&v, 1)); }
  uint8_t in(unsigned reg) {
    uint8_t v = 0;
    uart.read(reg, std::span<uint8_t>(&v, 1));
    return v;
  }
  void print(std::string_view s) {
    for (char c : s) out(0, static_cast<uint8_t>(c));
  }
};
}  // namespace

TEST_CASE("bytes written to THR come out as lines") {
  Uart u;
  u.print("hello\nwor");
  REQUIRE(u.lines.size() == 1);
  CHECK(u.lines[0] == "hello\n");
  u.print("ld\n");
  CHECK(u.lines.back() == "world\n");
  u.print("tail");
  CHECK(u.lines.size() == 2);
  u.uart.flush();
  CHECK(u.lines.back() == "tail");
  CHECK(u.uart.bytes_out() == 16);
  u.print(std::string(300, 'x'));  // long lines are cut at 256 bytes
  CHECK(u.lines.back().size() == Serial16550::kLineMax);
}

TEST_CASE("registers: LSR, divisor latch, scratch, IIR, loopback") {
  Uart u;
  CHECK((u.in(5) & 0x60) == 0x60);  // THRE | TEMT
  u.out(3, 0x83);                   // DLAB
  u.out(0, 0x01);
  u.out(1, 0x00);
  CHECK(u.in(0) == 0x01);
  u.out(3, 0x03);
  CHECK(u.lines.empty());  // divisor writes are not output
  CHECK(u.in(3) == 0x03);
  u.out(7, 0x5a);
  CHECK(u.in(7) == 0x5a);
  CHECK(u.in(2) == 0x01);  // no interrupt pending
  u.out(2, 0x07);          // FIFO on
  CHECK(u.in(2) == 0xc1);
  u.out(1, 0x02);          // THR-empty interrupt enabled: pending until IIR is read
  CHECK(u.in(2) == 0xc2);
  CHECK(u.in(2) == 0xc1);
  u.out(4, 0x10 | 0x0a);   // loopback, RTS, OUT2
  CHECK(u.in(6) == 0x90);  // CTS | DCD
  u.print("x\n");
  CHECK(u.lines.empty());  // loopback output stays in the UART
  u.out(4, 0x0b);
  CHECK(u.in(6) == 0xb0);
  CHECK(u.in(0) == 0);     // no input
}

TEST_CASE("wrong widths and read-only registers are counted") {
  Uart u;
  uint8_t two[2] = {'a', 'b'};
  u.uart.write(0, two);
  u.uart.read(0, two);
  CHECK(two[0] == 0xff);
  u.out(5, 0);
  CHECK(u.uart.bad_accesses() == 3);
  CHECK(u.uart.bytes_out() == 0);
}

TEST_CASE("AsyncFdSink writes lines in order and drops what overflows") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  {
    AsyncFdSink sink(fds[1], 16);
    Serial16550 uart(sink);
    for (char c : std::string("one\ntwo\n")) {
      uint8_t b = static_cast<uint8_t>(c);
      uart.write(0, std::span<const uint8_t>(&b, 1));
    }
    sink.line(std::string(40, 'z'));  // larger than the buffer: dropped, never blocks
    CHECK(sink.dropped_bytes() == 40);
  }  // the destructor writes out what is queued
  close(fds[1]);
  std::string got;
  char buf[64];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  CHECK(got == "one\ntwo\n");
}
