// Serial16550: a 16550A UART at I/O port 0x3f8 (COM1), output only.
//
// Registers (offset from the base; DLAB = LCR bit 7):
//   0 THR (write) / RBR (read, always 0: no input)  | DLAB=1: divisor latch low
//   1 IER                                          | DLAB=1: divisor latch high
//   2 IIR (read: FIFO bits | 0x02 THR-empty pending when IER bit 1, else 0x01)
//     FCR (write: FIFO enable, bit 0)
//   3 LCR  4 MCR (loopback bit 4 mirrors DTR/RTS/OUT1/OUT2 into MSR)
//   5 LSR (THRE | TEMT always set: the transmitter is never busy)
//   6 MSR (DCD | DSR | CTS when not in loopback)  7 SCR
// No interrupt line is raised: guests here poll LSR (or never look).
//
// Output: bytes written to THR (outside loopback) are collected into lines
// (flushed on '\n' or at 256 bytes) and handed to a SerialSink. The vCPU never
// waits on a slow consumer: AsyncFdSink queues lines for a writer thread and
// drops (and counts) what does not fit in its buffer.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "devices/io_bus.hpp"
#include "nfv/counter.hpp"

namespace nfv::vmm {

class SerialSink {
 public:
  virtual ~SerialSink() = default;
  // One line including its '\n' (or a 256-byte chunk, or a flushed tail).
  // Must not block for long: it runs on a vCPU thread.
  virtual void line(std::string_view text) = 0;
};

// Calls a function for each line (tests, or the VMM's own logger).
class CallbackSink final : public SerialSink {
 public:
  explicit CallbackSink(std::function<void(std::string_view)> fn) : fn_(std::move(fn)) {}
  void line(std::string_view text) override { fn_(text); }

 private:
  std::function<void(std::string_view)> fn_;
};

// Writes lines to a file descriptor (not owned) from its own thread.
class AsyncFdSink final : public SerialSink {
 public:
  explicit AsyncFdSink(int fd, std::size_t buffer_bytes = 64 * 1024);
  ~AsyncFdSink() override;  // writes out what is queued, then joins
  void line(std::string_view text) override;
  uint64_t dropped_bytes() const noexcept { return dropped_.load(); }

 private:
  void run();
  int fd_;
  std::size_t limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string queued_;
  bool stop_ = false;
  Counter dropped_;  // written under mu_
  std::thread writer_;
};

class Serial16550 final : public IoHandler {
 public:
  static constexpr uint16_t kCom1 = 0x3f8;
  static constexpr uint16_t kPortCount = 8;
  static constexpr std::size_t kLineMax = 256;

  explicit Serial16550(SerialSink& sink) : sink_(sink) {}
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;
  void flush();  // hand a partial line to the sink (at shutdown)

  uint64_t bytes_out() const noexcept { return bytes_out_.load(); }
  uint64_t bad_accesses() const noexcept { return bad_accesses_.load(); }

 private:
  uint8_t read_reg(unsigned reg);
  void write_reg(unsigned reg, uint8_t v);
  void flush_locked();

  SerialSink& sink_;
  std::mutex mu_;
  std::string line_;
  uint8_t ier_ = 0, lcr_ = 0x03, mcr_ = 0x08, scr_ = 0, fcr_ = 0, dll_ = 0x0c, dlm_ = 0;  // 9600 8N1
  bool thri_pending_ = false;
  Counter bytes_out_;
  Counter bad_accesses_;
};

}  // namespace nfv::vmm
