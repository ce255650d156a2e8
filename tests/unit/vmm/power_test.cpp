// PowerPort: power-off (plain and with exit code), reset, bad writes.
#include "devices/power.hpp"

#include <doctest/doctest.h>

#include <vector>

#include "devices/io_bus.hpp"

using namespace nfv::vmm;

TEST_CASE("power port reports events through the callback") {
  std::vector<PowerEvent> events;
  PowerPort port([&](PowerEvent e) { events.push_back(e); });
  IoBus pio("pio");
  REQUIRE(pio.add(PowerPort::kPort, PowerPort::kPortCount, &port, "power"));
  auto outw = [&](uint64_t at, uint16_t v) {
    const uint8_t b[2] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)};
    pio.write(at, b);
  };
  outw(0x604, 0x2000);
  outw(0x604, 0x4000 | 42);
  outw(0x604, 0x8000);
  REQUIRE(events.size() == 3);
  CHECK(events[0].action == PowerAction::power_off);
  CHECK(events[0].exit_code == 0);
  CHECK(events[1].action == PowerAction::power_off);
  CHECK(events[1].exit_code == 42);
  CHECK(events[2].action == PowerAction::reset);
  outw(0x604, 0x1234);  // unknown value
  const uint8_t one = 0x20;
  pio.write(0x605, std::span<const uint8_t>(&one, 1));  // wrong width/offset
  CHECK(events.size() == 3);
  CHECK(port.bad_writes() == 2);
  uint8_t r[2] = {0xff, 0xff};
  pio.read(0x604, r);
  CHECK(r[0] == 0);
}
