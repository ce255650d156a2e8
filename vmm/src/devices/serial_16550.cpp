// Serial16550 and its sinks: see serial_16550.hpp.
#include "devices/serial_16550.hpp"

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace nfv::vmm {

namespace {
constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kMcrLoop = 0x10;
constexpr uint8_t kLsrThre = 0x20, kLsrTemt = 0x40;
constexpr uint8_t kIerThri = 0x02;
}  // namespace

// ---- AsyncFdSink ------------------------------------------------------------------

AsyncFdSink::AsyncFdSink(int fd, std::size_t buffer_bytes) : fd_(fd), limit_(buffer_bytes) {
  writer_ = std::thread([this] { run(); });
}

AsyncFdSink::~AsyncFdSink() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  writer_.join();
}

void AsyncFdSink::line(std::string_view text) {
  {
    std::lock_guard lock(mu_);
    if (queued_.size() + text.size() > limit_) {
      dropped_ += text.size();  // the consumer is too slow: never block the vCPU
      return;
    }
    queued_.append(text);
  }
  cv_.notify_one();
}

void AsyncFdSink::run() {
  std::string out;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queued_.empty(); });
      if (queued_.empty() && stop_) return;
      out.swap(queued_);
    }
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::write(fd_, out.data() + done, out.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // a closed or broken fd: drop the rest of this batch
      done += static_cast<std::size_t>(n);
    }
    out.clear();
  }
}

// ---- Serial16550 --------------------------------------------------------------------

void Serial16550::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  if (data.size() != 1 || offset >= kPortCount) {  // the UART has byte registers only
    std::memset(data.data(), 0xff, data.size());
    ++bad_accesses_;
    return;
  }
  data[0] = read_reg(static_cast<unsigned>(offset));
}

void Serial16550::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  if (data.size() != 1 || offset >= kPortCount) {
    ++bad_accesses_;
    return;
  }
  write_reg(static_cast<unsigned>(offset), data[0]);
}

uint8_t Serial16550::read_reg(unsigned reg) {
  const bool dlab = lcr_ & kLcrDlab;
  switch (reg) {
    case 0: return dlab ? dll_ : 0;  // RBR: no input
    case 1: return dlab ? dlm_ : ier_;
    case 2: {
      const uint8_t fifo = (fcr_ & 1) ? 0xc0 : 0x00;
      if (thri_pending_ && (ier_ & kIerThri)) {
        thri_pending_ = false;  // reading IIR clears a THR-empty interrupt
        return fifo | 0x02;
      }
      return fifo | 0x01;  // no interrupt pending
    }
    case 3: return lcr_;
    case 4: return mcr_;
    case 5: return kLsrThre | kLsrTemt;
    case 6:
      if (mcr_ & kMcrLoop) {  // DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD
        return static_cast<uint8_t>(((mcr_ & 1) << 5) | ((mcr_ & 2) << 3) | ((mcr_ & 4) << 4) | ((mcr_ & 8) << 4));
      }
      return 0xb0;  // DCD | DSR | CTS
    default: return scr_;
  }
}

void Serial16550::write_reg(unsigned reg, uint8_t v) {
  const bool dlab = lcr_ & kLcrDlab;
  switch (reg) {
    case 0:
      if (dlab) {
        dll_ = v;
      } else {
        thri_pending_ = true;
        if (mcr_ & kMcrLoop) return;  // loopback: nothing leaves the UART
        ++bytes_out_;
        line_.push_back(static_cast<char>(v));
        if (v == '\n' || line_.size() >= kLineMax) flush_locked();
      }
      return;
    case 1:
      if (dlab) {
        dlm_ = v;
      } else {
        if ((v & kIerThri) && !(ier_ & kIerThri)) thri_pending_ = true;  // THR is always empty
        ier_ = v & 0x0f;
      }
      return;
    case 2: fcr_ = v & 0xc9; return;  // FIFO enable, DMA mode, trigger level (reset bits self-clear)
    case 3: lcr_ = v; return;
    case 4: mcr_ = v & 0x1f; return;
    case 5: case 6: ++bad_accesses_; return;  // LSR and MSR are read-only here
    default: scr_ = v; return;
  }
}

void Serial16550::flush_locked() {
  if (line_.empty()) return;
  sink_.line(line_);
  line_.clear();
}

void Serial16550::flush() {
  std::lock_guard lock(mu_);
  flush_locked();
}

}  // namespace nfv::vmm
