// PowerPort: the guest's reset / power-off port.
//
// One 16-bit write-only register at I/O port 0x604 (the port QEMU's q35 ACPI
// PM1a control block uses, so `outw 0x2000, 0x604` powers off here too):
//   0x2000          power off, exit code 0 (SLP_EN, as on QEMU)
//   0x4000 | code   power off with exit code `code` (0..255)
//   0x8000          reset (reboot) requested
// Other values or widths are ignored and counted. Reads return 0.
// The event goes to a callback (the VMM stops its vCPUs and exits with the
// code); the port does nothing else itself.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "devices/io_bus.hpp"
#include "nfv/counter.hpp"

namespace nfv::vmm {

enum class PowerAction { power_off, reset };

struct PowerEvent {
  PowerAction action;
  uint8_t exit_code;
};

class PowerPort final : public IoHandler {
 public:
  static constexpr uint16_t kPort = 0x604;
  static constexpr uint16_t kPortCount = 2;
  static constexpr uint16_t kPowerOff = 0x2000;
  static constexpr uint16_t kPowerOffWithCode = 0x4000;
  static constexpr uint16_t kReset = 0x8000;

  explicit PowerPort(std::function<void(PowerEvent)> on_event) : on_event_(std::move(on_event)) {}
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;
  uint64_t bad_writes() const noexcept { return bad_writes_.load(); }

 private:
  std::function<void(PowerEvent)> on_event_;
  Counter bad_writes_;  // vCPU threads; a rare guest error, so a racy count is acceptable
};

}  // namespace nfv::vmm
