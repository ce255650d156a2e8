// PowerPort: see power.hpp.
#include "devices/power.hpp"

#include <cstring>

namespace nfv::vmm {

void PowerPort::read(uint64_t /*offset*/, std::span<uint8_t> data) { std::memset(data.data(), 0, data.size()); }

void PowerPort::write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset != 0 || data.size() != 2) {
    ++bad_writes_;
    return;
  }
  const uint16_t v = static_cast<uint16_t>(data[0] | data[1] << 8);
  if (v == kPowerOff) {
    on_event_({PowerAction::power_off, 0});
  } else if ((v & 0xff00) == kPowerOffWithCode) {
    on_event_({PowerAction::power_off, static_cast<uint8_t>(v)});
  } else if (v == kReset) {
    on_event_({PowerAction::reset, 0});
  } else {
    ++bad_writes_;
  }
}

}  // namespace nfv::vmm
