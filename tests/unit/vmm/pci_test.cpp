// PCI configuration space and host bridge: reads/writes of every width,
// read-only fields, BAR sizing as guests do it (and the moved callback),
// capability list, mechanism #1 address decoding, the boot-info device list.
#include "devices/pci.hpp"

#include <doctest/doctest.h>

#include "device_rig.hpp"

using namespace nfv::vmm;
using namespace nfv::vmm::test;

namespace {
PciIds test_ids() {
  return PciIds{.vendor = 0x1234, .device = 0xabcd, .revision = 2, .class_code = 0x020000,
                .subsystem_vendor = 0x1af4, .subsystem_id = 0x1100, .interrupt_pin = 1};
}
struct BridgeRig {
  Guest g;
  PciHostBridge bridge;
  PciFunction fn{test_ids()};
  BridgeRig() {
    REQUIRE(g.pio.add(PciHostBridge::kPortBase, PciHostBridge::kPortCount, &bridge, "pci"));
    REQUIRE(fn.set_bar_mem64(0, 0xfe000000, 0x8000));
    REQUIRE(bridge.add_device(3, &fn));
  }
};
}  // namespace

TEST_CASE("config space reads of every width") {
  BridgeRig r;
  CHECK(r.g.cfg_read(3, 0x00, 4) == 0xabcd1234);
  CHECK(r.g.cfg_read(3, 0x00, 2) == 0x1234);
  CHECK(r.g.cfg_read(3, 0x02, 2) == 0xabcd);
  CHECK(r.g.cfg_read(3, 0x01, 1) == 0x12);
  CHECK(r.g.cfg_read(3, 0x03, 1) == 0xab);
  CHECK(r.g.cfg_read(3, 0x08, 4) == 0x02000002);  // class 02 00 00, revision 2
  CHECK(r.g.cfg_read(3, 0x0e, 1) == 0);           // header type 0
  CHECK(r.g.cfg_read(3, 0x2c, 4) == 0x11001af4);
  CHECK(r.g.cfg_read(3, 0x3d, 1) == 1);
  CHECK(r.g.cfg_read(3, 0x10, 4) == 0xfe000004);  // memory, 64-bit
  CHECK(r.g.cfg_read(3, 0x14, 4) == 0);
  CHECK(r.g.cfg_read(3, 0x18, 4) == 0);  // BAR2 not implemented
}

TEST_CASE("writes change only writable bits") {
  BridgeRig r;
  r.g.cfg_write(3, 0x00, 4, 0xffffffff);  // ids are read-only
  CHECK(r.g.cfg_read(3, 0x00, 4) == 0xabcd1234);
  r.g.cfg_write(3, 0x04, 2, 0xffff);
  CHECK(r.g.cfg_read(3, 0x04, 2) == 0x0547);  // I/O, memory, master, parity, SERR, INTx disable
  r.g.cfg_write(3, 0x04, 1, 0x02);
  CHECK(r.g.cfg_read(3, 0x04, 2) == 0x0502);
  CHECK(r.fn.command() == 0x0502);
  r.g.cfg_write(3, 0x3c, 1, 0x0b);
  CHECK(r.g.cfg_read(3, 0x3c, 4) == 0x0000010b);  // line written, pin kept
  r.g.cfg_write(3, 0x3d, 1, 0x04);
  CHECK(r.g.cfg_read(3, 0x3d, 1) == 1);
  CHECK(r.g.cfg_read(3, 0x06, 2) == 0);  // no capabilities yet, status read-only
}

TEST_CASE("BAR sizing by writing all-ones, restore, and a moved BAR") {
  BridgeRig r;
  std::vector<std::tuple<unsigned, uint64_t, uint64_t>> moves;
  r.fn.set_bar_moved_callback([&](unsigned bar, uint64_t from, uint64_t to) { moves.emplace_back(bar, from, to); });
  // What Linux's __pci_read_base does for a 64-bit BAR.
  const uint32_t lo = r.g.cfg_read(3, 0x10, 4), hi = r.g.cfg_read(3, 0x14, 4);
  r.g.cfg_write(3, 0x10, 4, 0xffffffff);
  r.g.cfg_write(3, 0x14, 4, 0xffffffff);
  const uint64_t mask = uint64_t{r.g.cfg_read(3, 0x14, 4)} << 32 | (r.g.cfg_read(3, 0x10, 4) & ~0xfu);
  CHECK((r.g.cfg_read(3, 0x10, 4) & 0xf) == 0x4);
  CHECK(~mask + 1 == 0x8000);
  r.g.cfg_write(3, 0x10, 4, lo);
  r.g.cfg_write(3, 0x14, 4, hi);
  CHECK(r.fn.bar(0).address == 0xfe000000);
  CHECK(r.fn.bar(0).size == 0x8000);
  CHECK(moves.size() == 4);  // every intermediate address is reported
  CHECK(std::get<2>(moves.back()) == 0xfe000000);
  moves.clear();
  r.g.cfg_write(3, 0x14, 4, 0x1);  // the guest moves it above 4 GiB
  REQUIRE(moves.size() == 1);
  CHECK(std::get<0>(moves[0]) == 0);
  CHECK(std::get<1>(moves[0]) == 0xfe000000);
  CHECK(std::get<2>(moves[0]) == 0x1fe000000);
  CHECK(r.fn.bar(0).address == 0x1fe000000);
  r.g.cfg_write(3, 0x10, 4, 0xfe001234);  // bits below the size are not writable
  CHECK(r.fn.bar(0).address == 0x1fe000000);
}

TEST_CASE("set_bar_mem64 refuses bad BARs") {
  PciFunction fn(test_ids());
  CHECK(!fn.set_bar_mem64(5, 0x1000, 0x1000));   // needs two registers
  CHECK(!fn.set_bar_mem64(0, 0x1000, 0x3000));   // not a power of two
  CHECK(!fn.set_bar_mem64(0, 0x1800, 0x1000));   // misaligned
  CHECK(!fn.set_bar_mem64(0, 0x1000, 8));        // too small
  CHECK(fn.set_bar_mem64(2, 0x4000, 0x1000));
  CHECK(fn.bar(2).address == 0x4000);
}

TEST_CASE("capability list as a guest walks it") {
  PciFunction fn(test_ids());
  const uint8_t a[2] = {0xaa, 0xbb}, b[6] = {1, 2, 3, 4, 5, 6}, wb[6] = {0, 0xff, 0, 0, 0, 0};
  auto ca = fn.add_capability(0x09, a);
  auto cb = fn.add_capability(0x11, b, wb);
  REQUIRE(ca);
  REQUIRE(cb);
  uint8_t d[4];
  fn.config_read(0x06, std::span(d, 2));
  CHECK((d[0] & 0x10) != 0);  // capability list bit
  fn.config_read(0x34, std::span(d, 1));
  CHECK(d[0] == *ca);
  fn.config_read(*ca, std::span(d, 2));
  CHECK(d[0] == 0x09);
  CHECK(d[1] == *cb);
  CHECK(*cb % 4 == 0);
  fn.config_read(*cb, std::span(d, 4));
  CHECK(d[0] == 0x11);
  CHECK(d[1] == 0);  // end of list
  CHECK(d[2] == 1);
  const uint8_t w[1] = {0x77};
  fn.config_write(*cb + 2, w);  // read-only byte of the body
  fn.config_write(*cb + 3, w);  // writable one
  fn.config_read(*cb, std::span(d, 4));
  CHECK(d[2] == 1);
  CHECK(d[3] == 0x77);
  CHECK(fn.find_capability(0x11) == cb);
  CHECK(!fn.find_capability(0x05));
  // Bad widths / dword-crossing accesses are refused and counted.
  uint8_t d3[3];
  fn.config_read(0, std::span(d3, 3));
  CHECK(d3[0] == 0xff);
  fn.config_read(3, std::span(d, 2));
  CHECK(fn.bad_accesses() == 2);
}

TEST_CASE("host bridge decodes mechanism #1 addresses") {
  BridgeRig r;
  CHECK(r.g.cfg_read(0, 0x00, 4) == 0x00081b36);  // the bridge at 00:00.0
  CHECK((r.g.cfg_read(0, 0x08, 4) >> 8) == 0x060000);
  CHECK(r.g.cfg_read(5, 0x00, 4) == 0xffffffff);  // empty slot
  // Function 1 and bus 1 are absent.
  r.g.out(0xcf8, 4, 0x80000000u | 3 << 11 | 1 << 8);
  CHECK(r.g.in(0xcfc, 4) == 0xffffffff);
  r.g.out(0xcf8, 4, 0x80000000u | 1 << 16 | 3 << 11);
  CHECK(r.g.in(0xcfc, 4) == 0xffffffff);
  // Enable bit clear: no config cycle.
  r.g.out(0xcf8, 4, 3 << 11);
  CHECK(r.g.in(0xcfc, 4) == 0xffffffff);
  CHECK(r.bridge.absent_reads() == 4);
  // The address register reads back without its two low bits.
  r.g.out(0xcf8, 4, 0x80001813);
  CHECK(r.g.in(0xcf8, 4) == 0x80001810);
  // Byte/word data accesses at 0xCFC..0xCFF pick bytes of the dword.
  r.g.out(0xcf8, 4, 0x80000000u | 3 << 11);
  CHECK(r.g.in(0xcfd, 1) == 0x12);
  CHECK(r.g.in(0xcfe, 2) == 0xabcd);
  // Crossing 0xCFF, or a partial address register, is refused and counted.
  CHECK(r.g.in(0xcfe, 4) == 0xffffffff);
  CHECK(r.g.in(0xcf9, 1) == 0xff);
  r.g.out(0xcfa, 2, 0);
  CHECK(r.bridge.bad_accesses() == 2);
  CHECK(r.g.pio.unhandled_reads() == 1);  // 0xcfe+4 crosses the bridge's range on the bus
}

TEST_CASE("slots and the boot-information device list") {
  FakeRam ram;
  FakeBackend be;
  RecordingMsi msi;
  PciHostBridge bridge;
  auto dev = VirtioPciDevice::create(be, ram.memory, msi, 0xfe000000);
  REQUIRE(dev);
  PciFunction other(test_ids());
  CHECK(!bridge.add_device(0, &other));   // the bridge's own slot
  CHECK(!bridge.add_device(32, &other));
  auto slot = bridge.add_device(dev->get());
  REQUIRE(slot);
  CHECK(*slot == 1);
  CHECK(!bridge.add_device(1, &other));  // taken
  REQUIRE(bridge.add_device(7, &other));
  auto list = bridge.devices();
  REQUIRE(list.size() == 2);
  CHECK(list[0].device == 1);
  CHECK(list[0].bdf() == 0x08);
  CHECK(list[0].vendor == 0x1af4);
  CHECK(list[0].device_id == 0x1041);
  CHECK(list[0].bar0_address == 0xfe000000);
  CHECK(list[0].bar0_size == virtio_bar::size);
  CHECK(list[0].msix_table_address == 0xfe000000 + virtio_bar::msix_table);
  CHECK(list[0].msix_entries == 3);  // 2 queues + config
  CHECK(list[1].device == 7);
  CHECK(list[1].msix_entries == 0);
  CHECK(list[1].msix_table_address == 0);
}
