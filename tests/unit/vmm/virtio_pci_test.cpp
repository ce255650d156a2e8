// virtio-pci modern transport (virtio 1.2 4.1): the capability walk a driver
// does, a full Linux virtio_pci_modern init sequence, every class of bad
// guest value (NEEDS_RESET and per-reason counters), reset, notify, ISR,
// MSI-X vectors/masking, and the PCI configuration access window.
#include "devices/virtio_pci.hpp"

#include <doctest/doctest.h>

#include <map>

#include "device_rig.hpp"

using namespace nfv::vmm;
using namespace nfv::vmm::test;
namespace cc = nfv::vmm::common_cfg;

namespace {

constexpr uint64_t kBar = 0xfe000000;
constexpr unsigned kSlot = 1;
constexpr uint64_t kCommon = kBar + virtio_bar::common;

struct Rig {
  FakeRam ram;
  FakeBackend be;
  RecordingMsi msi;
  Guest g;
  PciHostBridge bridge;
  std::unique_ptr<VirtioPciDevice> dev;

  Rig() {
    auto d = VirtioPciDevice::create(be, ram.memory, msi, kBar);
    REQUIRE(d);
    dev = std::move(*d);
    REQUIRE(g.pio.add(PciHostBridge::kPortBase, PciHostBridge::kPortCount, &bridge, "pci"));
    REQUIRE(bridge.add_device(kSlot, dev.get()));
    REQUIRE(g.mmio.add(kBar, virtio_bar::size, dev.get(), "virtio-net"));
  }
  uint64_t cr(uint32_t off, unsigned w) { return g.mr(kCommon + off, w); }
  void cw(uint32_t off, unsigned w, uint64_t v) { g.mw(kCommon + off, w, v); }
  uint8_t status() { return static_cast<uint8_t>(cr(cc::device_status, 1)); }
  void add_status(uint8_t bits) { cw(cc::device_status, 1, status() | bits); }

  // Ring addresses for queue q inside guest RAM (desc 16-aligned, used on its own page).
  static uint64_t desc(unsigned q) { return FakeRam::kRamBase + 0x10000 * (q + 1); }
  static uint64_t avail(unsigned q) { return desc(q) + 0x1000; }
  static uint64_t used(unsigned q) { return desc(q) + 0x2000; }

  // Linux: vp_reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK.
  void negotiate(uint64_t features) {
    cw(cc::device_status, 1, 0);
    REQUIRE(status() == 0);
    add_status(VIRTIO_STATUS_ACKNOWLEDGE);
    add_status(VIRTIO_STATUS_DRIVER);
    cw(cc::driver_feature_select, 4, 0);
    cw(cc::driver_feature, 4, features & 0xffffffff);
    cw(cc::driver_feature_select, 4, 1);
    cw(cc::driver_feature, 4, features >> 32);
    add_status(VIRTIO_STATUS_FEATURES_OK);
  }
  void enable_msix() {
    auto cap = dev->find_capability(kPciCapIdMsix);
    REQUIRE(cap);
    g.cfg_write(kSlot, *cap + 2, 2, 0xc000);  // enable + function mask while programming
    for (unsigned v = 0; v < dev->msix_size(); ++v) {
      const uint64_t e = kBar + virtio_bar::msix_table + 16 * v;
      g.mw(e + 0, 4, 0xfee00000 + v);
      g.mw(e + 4, 4, 0);
      g.mw(e + 8, 4, 0x40 + v);
      g.mw(e + 12, 4, 0);  // unmask the entry
    }
    g.cfg_write(kSlot, *cap + 2, 2, 0x8000);  // clear the function mask
  }
  // Linux setup_vq for queue q, then (separately) enable.
  void setup_queue(unsigned q, uint16_t size, uint16_t vector) {
    cw(cc::queue_select, 2, q);
    REQUIRE(cr(cc::queue_size, 2) == be.max_size);
    REQUIRE(cr(cc::queue_enable, 2) == 0);
    cw(cc::queue_size, 2, size);
    cw(cc::queue_msix_vector, 2, vector);
    REQUIRE(cr(cc::queue_msix_vector, 2) == vector);
    for (auto [off, addr] : {std::pair{cc::queue_desc, desc(q)}, {cc::queue_driver, avail(q)}, {cc::queue_device, used(q)}}) {
      cw(off, 4, addr & 0xffffffff);
      cw(off + 4, 4, addr >> 32);
    }
    CHECK(cr(cc::queue_notify_off, 2) == q);
  }
  void full_init() {
    negotiate(be.features);
    REQUIRE((status() & VIRTIO_STATUS_FEATURES_OK) != 0);
    enable_msix();
    cw(cc::config_msix_vector, 2, 0);
    REQUIRE(cr(cc::config_msix_vector, 2) == 0);
    for (unsigned q = 0; q < be.queues; ++q) setup_queue(q, 128, static_cast<uint16_t>(q + 1));
    for (unsigned q = 0; q < be.queues; ++q) {
      cw(cc::queue_select, 2, q);
      cw(cc::queue_enable, 2, 1);
    }
    add_status(VIRTIO_STATUS_DRIVER_OK);
  }
  bool needs_reset() { return (status() & VIRTIO_STATUS_NEEDS_RESET) != 0; }
};

}  // namespace

TEST_CASE("a driver finds every virtio capability inside BAR0") {
  Rig r;
  CHECK(r.g.cfg_read(kSlot, 0x00, 4) == 0x10411af4);
  CHECK(r.g.cfg_read(kSlot, 0x08, 1) >= 1);  // revision
  REQUIRE((r.g.cfg_read(kSlot, 0x06, 2) & 0x10) != 0);
  std::map<uint8_t, uint8_t> found;  // cfg_type -> cap offset
  uint8_t msix = 0;
  unsigned hops = 0;
  for (uint8_t at = r.g.cfg_read(kSlot, 0x34, 1) & 0xfc; at != 0 && hops < 48; ++hops) {
    const uint8_t id = r.g.cfg_read(kSlot, at, 1);
    if (id == 0x09) {
      const uint8_t len = r.g.cfg_read(kSlot, at + 2, 1), type = r.g.cfg_read(kSlot, at + 3, 1);
      const uint8_t bar = r.g.cfg_read(kSlot, at + 4, 1);
      const uint32_t off = r.g.cfg_read(kSlot, at + 8, 4), length = r.g.cfg_read(kSlot, at + 12, 4);
      CHECK(len >= 16);
      CHECK(bar == 0);
      if (type != VIRTIO_PCI_CAP_PCI_CFG) {
        CHECK(length > 0);
        CHECK(uint64_t{off} + length <= virtio_bar::size);
      }
      found[type] = at;
    } else if (id == 0x11) {
      msix = at;
    }
    at = r.g.cfg_read(kSlot, at + 1, 1) & 0xfc;
  }
  REQUIRE(found.count(VIRTIO_PCI_CAP_COMMON_CFG));
  REQUIRE(found.count(VIRTIO_PCI_CAP_NOTIFY_CFG));
  REQUIRE(found.count(VIRTIO_PCI_CAP_ISR_CFG));
  REQUIRE(found.count(VIRTIO_PCI_CAP_DEVICE_CFG));
  REQUIRE(found.count(VIRTIO_PCI_CAP_PCI_CFG));
  CHECK(r.g.cfg_read(kSlot, found[VIRTIO_PCI_CAP_COMMON_CFG] + 12, 4) >= 0x38);  // Linux's minimum
  CHECK(r.g.cfg_read(kSlot, found[VIRTIO_PCI_CAP_DEVICE_CFG] + 12, 4) == r.be.config.size());
  const uint8_t notify = found[VIRTIO_PCI_CAP_NOTIFY_CFG];
  CHECK(r.g.cfg_read(kSlot, notify + 2, 1) == 20);
  const uint32_t mult = r.g.cfg_read(kSlot, notify + 16, 4);
  CHECK(mult == virtio_bar::notify_off_multiplier);
  // Each queue's notify address is distinct and inside the notify window.
  const uint32_t n_off = r.g.cfg_read(kSlot, notify + 8, 4), n_len = r.g.cfg_read(kSlot, notify + 12, 4);
  for (uint16_t q = 0; q < r.be.queues; ++q) {
    r.cw(cc::queue_select, 2, q);
    const uint64_t at = n_off + r.cr(cc::queue_notify_off, 2) * mult;
    CHECK(at + 2 <= uint64_t{n_off} + n_len);
    CHECK(kBar + at == r.dev->notify_address(q));
  }
  REQUIRE(msix != 0);
  const uint16_t control = r.g.cfg_read(kSlot, msix + 2, 2);
  CHECK((control & 0x7ff) + 1 == r.be.queues + 1);
  const uint32_t table = r.g.cfg_read(kSlot, msix + 4, 4), pba = r.g.cfg_read(kSlot, msix + 8, 4);
  CHECK((table & 7) == 0);
  CHECK((table & ~7u) + 16 * 3 <= virtio_bar::size);
  CHECK((pba & ~7u) + 8 <= virtio_bar::size);
}

TEST_CASE("Linux's virtio_pci_modern init sequence activates the backend") {
  Rig r;
  r.cw(cc::device_feature_select, 4, 0);
  CHECK(r.cr(cc::device_feature, 4) == (r.be.features & 0xffffffff));
  r.cw(cc::device_feature_select, 4, 1);
  CHECK(r.cr(cc::device_feature, 4) == r.be.features >> 32);
  r.cw(cc::device_feature_select, 4, 2);
  CHECK(r.cr(cc::device_feature, 4) == 0);
  CHECK(r.cr(cc::num_queues, 2) == 2);
  r.full_init();
  CHECK(r.status() == (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                       VIRTIO_STATUS_DRIVER_OK));
  REQUIRE(r.be.activations == 1);
  CHECK(r.dev->active());
  CHECK(r.be.activated_features == r.be.features);
  REQUIRE(r.be.activated.size() == 2);
  for (uint16_t q = 0; q < 2; ++q) {
    const auto& c = r.be.activated[q];
    CHECK(c.index == q);
    CHECK(c.size == 128);
    CHECK(c.desc_gpa == Rig::desc(q));
    CHECK(c.avail_gpa == Rig::avail(q));
    CHECK(c.used_gpa == Rig::used(q));
    CHECK(c.msix_vector == q + 1);
    CHECK(c.notify_address == kBar + 0x3000 + 4 * q);
  }
  // A doorbell that reaches the VMM (no ioeventfd) goes to the backend.
  r.g.mw(r.dev->notify_address(1), 2, 1);
  CHECK(r.be.notified == std::vector<uint16_t>{1});
  CHECK(r.dev->counters().notifies == 1);
  // Queue writes after DRIVER_OK are ignored, counted and a driver error.
  r.cw(cc::queue_select, 2, 0);
  r.cw(cc::queue_size, 2, 64);
  CHECK(r.cr(cc::queue_size, 2) == 128);
  CHECK(r.dev->counters().late_write == 1);
  CHECK(r.needs_reset());
  // Device-specific config through the BAR, any width.
  r.be.config = {0x52, 0x54, 0, 0x12, 0x34, 0x56, 1, 0, 1, 0, 0xdc, 0x05};
  CHECK(r.g.mr(kBar + virtio_bar::device, 4) == 0x12005452);
  CHECK(r.g.mr(kBar + virtio_bar::device + 6, 2) == 1);
  CHECK(r.g.mr(kBar + virtio_bar::device + 10, 2) == 1500);
  CHECK(r.g.mr(kBar + virtio_bar::device + 10, 4) == 0xffffffff);  // runs past the config
}

TEST_CASE("config change: generation, ISR read-to-clear, MSI on the config vector") {
  Rig r;
  r.full_init();
  const auto gen = r.cr(cc::config_generation, 1);
  r.dev->config_changed();
  CHECK(r.cr(cc::config_generation, 1) == ((gen + 1) & 0xff));
  REQUIRE(r.msi.sent.size() == 1);
  CHECK(r.msi.sent[0].address == 0xfee00000);  // vector 0
  CHECK(r.msi.sent[0].data == 0x40);
  CHECK(r.g.mr(kBar + virtio_bar::isr, 1) == 2);
  CHECK(r.g.mr(kBar + virtio_bar::isr, 1) == 0);
  r.dev->signal_queue(1);
  REQUIRE(r.msi.sent.size() == 2);
  CHECK(r.msi.sent[1].data == 0x42);  // queue 1 -> vector 2
  CHECK(r.dev->counters().interrupts == 2);
}

TEST_CASE("MSI-X table writes, entry and function masking, pending bits") {
  Rig r;
  std::vector<uint16_t> changed;
  r.dev->set_msix_changed_callback([&](uint16_t v) { changed.push_back(v); });
  r.full_init();
  CHECK(changed.front() == VirtioPciDevice::kAllVectors);
  CHECK(std::count(changed.begin(), changed.end(), 1) == 4);  // four dwords of entry 1
  const auto v1 = r.dev->msix_vector(1);
  CHECK(v1.address == 0xfee00001);
  CHECK(v1.data == 0x41);
  CHECK(!v1.masked);
  // Mask entry 1 (queue 0's vector): the interrupt is left pending.
  const uint64_t e1 = kBar + virtio_bar::msix_table + 16;
  r.g.mw(e1 + 12, 4, 1);
  CHECK(r.dev->msix_vector(1).masked);
  r.dev->signal_queue(0);
  CHECK(r.msi.sent.empty());
  CHECK(r.g.mr(kBar + virtio_bar::msix_pba, 8) == 0x2);
  r.g.mw(e1 + 12, 4, 0);  // unmask: delivered now
  REQUIRE(r.msi.sent.size() == 1);
  CHECK(r.msi.sent[0].data == 0x41);
  CHECK(r.g.mr(kBar + virtio_bar::msix_pba, 8) == 0);
  // Function mask holds every vector.
  auto cap = r.dev->find_capability(kPciCapIdMsix);
  r.g.cfg_write(kSlot, *cap + 2, 2, 0xc000);
  CHECK(r.dev->msix_vector(2).masked);
  r.dev->signal_queue(1);
  CHECK(r.msi.sent.size() == 1);
  r.g.cfg_write(kSlot, *cap + 2, 2, 0x8000);
  CHECK(r.msi.sent.size() == 2);
  CHECK(changed.back() == VirtioPciDevice::kAllVectors);
  // 64-bit entry access, bad widths, PBA writes.
  CHECK(r.g.mr(e1, 8) == 0xfee00001);
  r.g.mw(e1 + 2, 2, 0);   // not a dword
  r.g.mw(kBar + virtio_bar::msix_pba, 8, ~0ull);
  CHECK(r.g.mr(kBar + virtio_bar::msix_pba, 8) == 0);
  CHECK(r.dev->counters().bad_access == 1);
  CHECK(r.dev->counters().read_only_write == 1);
  // Both are driver errors: NEEDS_RESET, and with DRIVER_OK a config interrupt (2.1.2).
  CHECK(r.needs_reset());
  REQUIRE(r.msi.sent.size() == 3);
  CHECK(r.msi.sent[2].data == 0x40);
  // MSI-X disabled: nothing is sent.
  r.g.cfg_write(kSlot, *cap + 2, 2, 0);
  r.dev->signal_queue(0);
  CHECK(r.msi.sent.size() == 3);
  CHECK(r.dev->counters().interrupts_lost >= 1);
}

TEST_CASE("feature negotiation refuses what the device does not offer") {
  Rig r;
  r.negotiate(r.be.features | (1ull << 40));  // RING_RESET: not offered
  CHECK((r.status() & VIRTIO_STATUS_FEATURES_OK) == 0);
  CHECK(r.dev->counters().refused_features == 1);
  r.negotiate(r.be.features & ~(1ull << 32));  // no VERSION_1
  CHECK((r.status() & VIRTIO_STATUS_FEATURES_OK) == 0);
  r.negotiate(1ull << 32);
  CHECK((r.status() & VIRTIO_STATUS_FEATURES_OK) != 0);
  r.cw(cc::driver_feature_select, 4, 0);
  r.cw(cc::driver_feature, 4, 1u << 29);  // after FEATURES_OK: ignored, a driver error
  CHECK(r.dev->driver_features() == 1ull << 32);
  CHECK(r.dev->counters().late_write == 1);
  CHECK(r.needs_reset());
  // Bits beyond 63 are never offered.
  r.cw(cc::device_status, 1, 0);
  r.add_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
  r.cw(cc::driver_feature_select, 4, 0);
  r.cw(cc::driver_feature, 4, 0);
  r.cw(cc::driver_feature_select, 4, 1);
  r.cw(cc::driver_feature, 4, 1);  // VERSION_1
  r.cw(cc::driver_feature_select, 4, 2);
  r.cw(cc::driver_feature, 4, 1);  // bit 64
  r.add_status(VIRTIO_STATUS_FEATURES_OK);
  CHECK((r.status() & VIRTIO_STATUS_FEATURES_OK) == 0);
  CHECK(r.dev->counters().refused_features == 3);
  CHECK(!r.needs_reset());
}

TEST_CASE("every class of bad guest value sets NEEDS_RESET and is counted") {
  Rig r;
  const auto& c = r.dev->counters();
  auto expect_reset = [&](const nfv::Counter& counter, uint64_t want) {
    CHECK(counter == want);
    CHECK(r.needs_reset());
    r.cw(cc::device_status, 1, 0);  // the driver's way out
    CHECK(r.status() == 0);
  };
  SUBCASE("queue size not a power of two, zero, or above the maximum") {
    r.negotiate(r.be.features);
    r.cw(cc::queue_size, 2, 100);
    CHECK(r.cr(cc::queue_size, 2) == r.be.max_size);  // not taken
    expect_reset(c.bad_queue_size, 1);
    r.cw(cc::queue_size, 2, 0);
    expect_reset(c.bad_queue_size, 2);
    r.cw(cc::queue_size, 2, 512);
    expect_reset(c.bad_queue_size, 3);
  }
  SUBCASE("a ring outside guest RAM fails DRIVER_OK") {
    r.negotiate(r.be.features);
    r.setup_queue(0, 128, VIRTIO_MSI_NO_VECTOR);
    r.cw(cc::queue_device, 4, FakeRam::kRamBase + r.ram.bytes.size() - 8);  // used ring runs off the end
    r.cw(cc::queue_enable, 2, 1);
    r.add_status(VIRTIO_STATUS_DRIVER_OK);
    CHECK(r.be.activations == 0);
    CHECK((r.status() & VIRTIO_STATUS_DRIVER_OK) != 0);
    expect_reset(c.bad_ring, 1);
  }
  SUBCASE("a misaligned descriptor table fails DRIVER_OK") {
    r.negotiate(r.be.features);
    r.setup_queue(1, 64, VIRTIO_MSI_NO_VECTOR);
    r.cw(cc::queue_desc, 4, Rig::desc(1) + 8);
    r.cw(cc::queue_enable, 2, 1);
    r.add_status(VIRTIO_STATUS_DRIVER_OK);
    CHECK(r.be.activations == 0);
    expect_reset(c.bad_ring, 1);
  }
  SUBCASE("overlapping rings fail DRIVER_OK, within a queue and across queues") {
    r.negotiate(r.be.features);
    r.setup_queue(0, 128, VIRTIO_MSI_NO_VECTOR);
    r.cw(cc::queue_driver, 8, Rig::desc(0) + 0x100);  // inside the descriptor table
    r.cw(cc::queue_enable, 2, 1);
    r.add_status(VIRTIO_STATUS_DRIVER_OK);
    CHECK(r.be.activations == 0);
    expect_reset(c.bad_ring, 1);
    r.negotiate(r.be.features);
    r.setup_queue(0, 128, VIRTIO_MSI_NO_VECTOR);
    r.cw(cc::queue_enable, 2, 1);
    r.setup_queue(1, 128, VIRTIO_MSI_NO_VECTOR);
    r.cw(cc::queue_device, 8, Rig::used(0));  // queue 0's used ring
    r.cw(cc::queue_enable, 2, 1);
    r.add_status(VIRTIO_STATUS_DRIVER_OK);
    CHECK(r.be.activations == 0);
    expect_reset(c.bad_ring, 2);
  }
  SUBCASE("queue_enable before the addresses, then DRIVER_OK") {
    r.negotiate(r.be.features);
    r.cw(cc::queue_select, 2, 0);
    r.cw(cc::queue_enable, 2, 1);
    r.add_status(VIRTIO_STATUS_DRIVER_OK);
    CHECK(r.be.activations == 0);
    expect_reset(c.bad_ring, 1);
  }
  SUBCASE("a ring at the top of the address space") {
    r.negotiate(r.be.features);
    r.setup_queue(0, 128, VIRTIO_MSI_NO_VECTOR);
    r.cw(cc::queue_desc, 8, ~uint64_t{0xf});
    r.cw(cc::queue_enable, 2, 1);
    r.add_status(VIRTIO_STATUS_DRIVER_OK);
    expect_reset(c.bad_ring, 1);
  }
  SUBCASE("writes to read-only fields") {
    for (uint32_t off : {cc::num_queues, cc::queue_notify_off, cc::queue_notify_data}) r.cw(off, 2, 7);
    r.cw(cc::device_feature, 4, 0);
    r.cw(cc::config_generation, 1, 9);
    CHECK(r.cr(cc::num_queues, 2) == 2);
    expect_reset(c.read_only_write, 5);
  }
  SUBCASE("out-of-range queue_select") {
    r.negotiate(r.be.features);
    r.cw(cc::queue_select, 2, 2);
    CHECK(r.cr(cc::queue_size, 2) == 0);  // an unavailable queue
    CHECK(c.bad_queue_select == 1);
    CHECK(!r.needs_reset());
    r.cw(cc::queue_size, 2, 64);
    expect_reset(c.bad_queue_select, 2);
  }
  SUBCASE("accesses of a wrong width") {
    CHECK(r.cr(cc::queue_select, 4) == 0xffffffff);
    CHECK(r.cr(cc::device_status + 1, 2) == 0xffff);
    CHECK(c.bad_access == 2);
    CHECK(!r.needs_reset());
    r.cw(cc::device_feature_select, 2, 1);
    r.cw(cc::queue_desc + 2, 4, 1);
    expect_reset(c.bad_access, 4);
  }
  SUBCASE("queue_enable 0 and queue_reset (not offered)") {
    r.cw(cc::queue_enable, 2, 0);
    expect_reset(c.bad_queue_enable, 1);
    r.cw(cc::queue_reset, 2, 1);
    expect_reset(c.bad_access, 1);
  }
  SUBCASE("status: DRIVER_OK without FEATURES_OK, clearing bits") {
    r.add_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    r.add_status(VIRTIO_STATUS_DRIVER_OK);
    CHECK((r.status() & VIRTIO_STATUS_DRIVER_OK) == 0);
    expect_reset(c.bad_status, 1);
    r.add_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    r.cw(cc::device_status, 1, VIRTIO_STATUS_ACKNOWLEDGE);
    expect_reset(c.bad_status, 2);
  }
  SUBCASE("the backend refuses activation") {
    r.be.fail_activate = true;
    r.full_init();
    CHECK(!r.dev->active());
    CHECK(r.msi.sent.size() == 1);  // 2.1.2: config change notification after NEEDS_RESET with DRIVER_OK
    expect_reset(c.activate_failed, 1);
  }
  SUBCASE("the backend raises NEEDS_RESET later") {
    r.full_init();
    r.dev->raise_needs_reset();
    CHECK(r.g.mr(kBar + virtio_bar::isr, 1) == 2);
    CHECK(r.msi.sent.size() == 1);
    // Only FAILED or a reset are accepted now.
    r.add_status(0x20);
    CHECK(c.bad_status == 1);
    expect_reset(c.needs_reset, 1);
  }
  SUBCASE("MSI-X vectors beyond the table read back NO_VECTOR") {
    r.cw(cc::config_msix_vector, 2, 3);
    CHECK(r.cr(cc::config_msix_vector, 2) == VIRTIO_MSI_NO_VECTOR);
    r.cw(cc::queue_msix_vector, 2, 200);
    CHECK(r.cr(cc::queue_msix_vector, 2) == VIRTIO_MSI_NO_VECTOR);
    CHECK(c.bad_msix_vector == 2);
    CHECK(!r.needs_reset());  // 4.1.5.1.2: the driver detects it by reading back
  }
  SUBCASE("unknown BAR offsets") {
    CHECK(r.g.mr(kBar + 0x7000, 4) == 0xffffffff);
    CHECK(!r.needs_reset());  // reads change nothing
    r.g.mw(kBar + virtio_bar::isr, 1, 1);
    expect_reset(c.read_only_write, 1);
    r.g.mw(kBar + virtio_bar::notify + 2, 2, 0);  // between two doorbells
    expect_reset(c.bad_access, 2);
    r.g.mw(kBar + virtio_bar::notify + 4 * 2, 2, 2);  // queue 2 does not exist
    expect_reset(c.bad_access, 3);
    r.g.mw(kBar + 0x7000, 4, 1);  // no register
    expect_reset(c.bad_access, 4);
    CHECK(r.be.notified.empty());
  }
  SUBCASE("device config the backend does not accept is read-only") {
    r.g.mw(kBar + virtio_bar::device, 4, 0x11223344);
    CHECK(r.be.config[0] == 0);
    expect_reset(c.read_only_write, 1);
  }
  SUBCASE("MSI-X table and PBA garbage") {
    r.g.mw(kBar + virtio_bar::msix_table + 1, 4, 0);  // misaligned
    expect_reset(c.bad_access, 1);
    r.g.mw(kBar + virtio_bar::msix_table + 16 * r.dev->msix_size(), 4, 0);  // past the table
    expect_reset(c.bad_access, 2);
    r.g.mw(kBar + virtio_bar::msix_pba, 4, 1);
    expect_reset(c.read_only_write, 1);
  }
  SUBCASE("queue writes after the queue was enabled") {
    r.negotiate(r.be.features);
    r.cw(cc::queue_select, 2, 0);
    r.cw(cc::queue_enable, 2, 1);
    r.cw(cc::queue_desc, 8, Rig::desc(0));
    expect_reset(c.late_write, 1);
  }
}

TEST_CASE("reset clears everything the driver set") {
  Rig r;
  r.full_init();
  r.cw(cc::device_feature_select, 4, 1);
  r.cw(cc::queue_select, 2, 1);
  r.cw(cc::device_status, 1, 0);
  CHECK(r.be.resets >= 2);  // negotiate() reset once, this is another
  CHECK(!r.dev->active());
  CHECK(r.status() == 0);
  CHECK(r.dev->driver_features() == 0);
  CHECK(r.cr(cc::device_feature_select, 4) == 0);
  CHECK(r.cr(cc::config_msix_vector, 2) == VIRTIO_MSI_NO_VECTOR);
  CHECK(r.cr(cc::queue_select, 2) == 0);
  for (uint16_t q = 0; q < 2; ++q) {
    r.cw(cc::queue_select, 2, q);
    CHECK(r.cr(cc::queue_size, 2) == r.be.max_size);
    CHECK(r.cr(cc::queue_enable, 2) == 0);
    CHECK(r.cr(cc::queue_msix_vector, 2) == VIRTIO_MSI_NO_VECTOR);
    CHECK(r.cr(cc::queue_desc, 8) == 0);
    CHECK(r.cr(cc::queue_driver, 4) == 0);
    CHECK(r.cr(cc::queue_device + 4, 4) == 0);
  }
  // Notifications after reset no longer reach the backend; the device can be brought up again.
  r.g.mw(r.dev->notify_address(0), 2, 0);
  CHECK(r.be.notified.empty());
  r.full_init();
  CHECK(r.be.activations == 2);
}

TEST_CASE("VIRTIO_PCI_CAP_PCI_CFG window reaches BAR0 from configuration space") {
  Rig r;
  uint8_t cap = 0;
  for (uint8_t at = r.g.cfg_read(kSlot, 0x34, 1); at != 0; at = r.g.cfg_read(kSlot, at + 1, 1)) {
    if (r.g.cfg_read(kSlot, at, 1) == 0x09 && r.g.cfg_read(kSlot, at + 3, 1) == VIRTIO_PCI_CAP_PCI_CFG) cap = at;
  }
  REQUIRE(cap != 0);
  r.g.cfg_write(kSlot, cap + 4, 1, 0);  // BAR0
  r.g.cfg_write(kSlot, cap + 8, 4, virtio_bar::common + cc::num_queues);
  r.g.cfg_write(kSlot, cap + 12, 4, 2);
  CHECK(r.g.cfg_read(kSlot, cap + 16, 2) == 2);
  r.g.cfg_write(kSlot, cap + 8, 4, virtio_bar::common + cc::device_status);
  r.g.cfg_write(kSlot, cap + 12, 4, 1);
  r.g.cfg_write(kSlot, cap + 16, 1, VIRTIO_STATUS_ACKNOWLEDGE);
  CHECK(r.status() == VIRTIO_STATUS_ACKNOWLEDGE);
  r.g.cfg_write(kSlot, cap + 12, 4, 3);  // bad length
  r.g.cfg_read(kSlot, cap + 16, 4);
  CHECK(r.dev->counters().bad_access == 1);
}

TEST_CASE("create() refuses bad BAR addresses and backends") {
  FakeRam ram;
  FakeBackend be;
  RecordingMsi msi;
  CHECK(!VirtioPciDevice::create(be, ram.memory, msi, 0xfe001000));
  be.max_size = 100;
  CHECK(!VirtioPciDevice::create(be, ram.memory, msi, kBar));
  be.max_size = 256;
  be.queues = 0;
  CHECK(!VirtioPciDevice::create(be, ram.memory, msi, kBar));
  be.queues = 2;
  be.features = 0;
  auto bad = VirtioPciDevice::create(be, ram.memory, msi, kBar);
  REQUIRE(!bad);
  CHECK(bad.error().message.find("VERSION_1") != std::string::npos);
}

TEST_CASE("MSI-X messages outside the APIC window are dropped, not sent") {
  Rig r;
  r.full_init();
  const uint64_t e0 = kBar + virtio_bar::msix_table;
  r.g.mw(e0, 4, 0xdead0000);  // config vector 0 now points nowhere an x86 guest can mean
  r.dev->config_changed();
  CHECK(r.msi.sent.empty());
  CHECK(r.dev->counters().interrupts_lost == 1);
  r.g.mw(e0, 4, 0xfee00000);
  r.g.mw(e0 + 4, 4, 1);  // high dword set: not the APIC window either
  r.dev->config_changed();
  CHECK(r.msi.sent.empty());
  r.g.mw(e0 + 4, 4, 0);
  r.dev->config_changed();
  REQUIRE(r.msi.sent.size() == 1);
  CHECK(r.msi.sent[0].address == 0xfee00000);
  // A pending vector unmasked with a garbage address is dropped too.
  r.g.mw(e0 + 12, 4, 1);
  r.dev->config_changed();
  r.g.mw(e0, 4, 0x1000);
  r.g.mw(e0 + 12, 4, 0);
  CHECK(r.msi.sent.size() == 1);
  CHECK(!r.needs_reset());  // aligned table writes are valid PCI writes
}
