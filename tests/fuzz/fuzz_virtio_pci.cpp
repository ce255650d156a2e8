// Fuzz target: guest-written device registers of a virtio-pci device.
//
// The input is a sequence of 12-byte operations, each an access a guest could
// make: byte 0 = kind (bits 0-2: BAR read, BAR write, config read, config
// write, backend event) and width (bits 3-4: 1, 2, 4, 8 bytes); byte 1 picks a
// BAR region (common, ISR, device config, notify, MSI-X table, PBA, anywhere)
// or a config-space offset; byte 2 is the offset inside it; bytes 3..10 the
// value; byte 11 is spare. Accesses go through the same IoBus / host bridge
// the VMM uses, to a device whose guest RAM is a 64 KiB region, and the
// bar-moved callback moves the MMIO range as the VMM does.
// Invariants (trap on violation): DRIVER_OK is only set with FEATURES_OK;
// negotiated features are a subset of the offered ones; every queue handed to
// activate() has a valid size and rings wholly inside guest RAM, aligned; the
// backend is never asked for config bytes outside its config.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "devices/io_bus.hpp"
#include "devices/pci.hpp"
#include "devices/virtio_pci.hpp"
#include "guest_memory.hpp"
#include "nfv/virtio/ring.hpp"

using namespace nfv::vmm;
namespace virtio = nfv::virtio;

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr uint64_t kRamBase = 0x10000;
constexpr uint64_t kBar = 0xfe000000;

struct Sink final : MsiSink {
  uint64_t sent = 0;
  void signal(uint64_t, uint32_t) override { ++sent; }
};

struct Backend final : VirtioDeviceBackend {
  const GuestMemory* memory = nullptr;
  uint8_t config[12] = {};
  bool fail_next = false;
  uint16_t device_type() const override { return 1; }
  uint64_t device_features() const override {
    return virtio::feature_bit(virtio::VIRTIO_F_VERSION_1) | virtio::feature_bit(virtio::VIRTIO_F_EVENT_IDX) | 0x8020;
  }
  uint16_t num_queues() const override { return 3; }
  uint16_t max_queue_size() const override { return 256; }
  uint32_t config_size() const override { return sizeof config; }
  void config_read(uint32_t off, std::span<uint8_t> d) override {
    require(off <= sizeof config && d.size() <= sizeof config - off);
    std::memcpy(d.data(), config + off, d.size());
  }
  void config_write(uint32_t off, std::span<const uint8_t> d) override {
    require(off <= sizeof config && d.size() <= sizeof config - off);
    std::memcpy(config + off, d.data(), d.size());
  }
  nfv::Status activate(uint64_t features, std::span<const VirtqueueConfig> qs) override {
    require((features & ~device_features()) == 0);
    for (const auto& q : qs) {
      require(q.index < 3 && virtio::is_valid_queue_size(q.size) && q.size <= 256);
      require(q.desc_gpa % 16 == 0 && q.avail_gpa % 2 == 0 && q.used_gpa % 4 == 0);
      require(memory->translate(q.desc_gpa, 16ull * q.size) != nullptr);
      require(memory->translate(q.avail_gpa, 6 + 2ull * q.size) != nullptr);
      require(memory->translate(q.used_gpa, 6 + 8ull * q.size) != nullptr);
    }
    if (fail_next) return nfv::make_error(nfv::Errc::protocol, "refused");
    return {};
  }
  void reset() override {}
  void notify(uint16_t q) override { require(q < 3); }
};

struct World {
  std::vector<uint8_t> ram = std::vector<uint8_t>(64 * 1024);
  GuestMemory memory;
  Backend backend;
  Sink sink;
  IoBus pio{"pio"}, mmio{"mmio"};
  PciHostBridge bridge;
  std::unique_ptr<VirtioPciDevice> dev;

  World() {
    require(memory.add_region({kRamBase, ram.size(), ram.data(), -1, 0}).ok());
    backend.memory = &memory;
    auto d = VirtioPciDevice::create(backend, memory, sink, kBar);
    require(d.ok());
    dev = std::move(*d);
    require(pio.add(PciHostBridge::kPortBase, PciHostBridge::kPortCount, &bridge, "pci").ok());
    require(bridge.add_device(1, dev.get()).ok());
    require(mmio.add(kBar, virtio_bar::size, dev.get(), "virtio").ok());
    dev->set_bar_moved_callback([this](unsigned, uint64_t from, uint64_t to) {
      (void)mmio.move(dev.get(), from, to);  // refused when it would overlap: the device stays put
    });
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World w;  // fresh device per input: findings reproduce from the input alone
  static constexpr uint64_t kRegions[] = {virtio_bar::common, virtio_bar::isr, virtio_bar::device,
                                          virtio_bar::notify, virtio_bar::msix_table, virtio_bar::msix_pba};
  for (std::size_t at = 0; at + 12 <= size; at += 12) {
    const uint8_t* op = data + at;
    const unsigned kind = op[0] & 7, width = 1u << ((op[0] >> 3) & 3);
    uint64_t value;
    std::memcpy(&value, op + 3, 8);
    uint8_t buf[8];
    std::memcpy(buf, &value, 8);
    if (kind <= 1) {  // BAR access, where the device is now mapped
      const uint64_t rel = op[1] % 7 < 6 ? kRegions[op[1] % 7] + op[2] : (uint64_t{op[1]} << 8 | op[2]) * 4;
      const uint64_t addr = w.dev->bar0_address() + rel;
      if (kind == 0) {
        w.mmio.read(addr, std::span(buf, width));
      } else {
        w.mmio.write(addr, std::span<const uint8_t>(buf, width));
      }
    } else if (kind <= 3) {  // configuration space through 0xCF8/0xCFC
      const uint32_t reg = op[2];
      const uint32_t addr = 0x80000000u | (op[1] & 0x20 ? 0u : 1u) << 11 | (reg & 0xfc);
      w.pio.write(0xcf8, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&addr), 4));
      const uint64_t port = 0xcfc + (reg & 3);
      if (kind == 2) {
        w.pio.read(port, std::span(buf, width));
      } else {
        w.pio.write(port, std::span<const uint8_t>(buf, width));
      }
    } else if (kind == 4) {
      w.dev->raise_needs_reset();
    } else if (kind == 5) {
      w.dev->config_changed();
    } else if (kind == 6) {
      w.dev->signal_queue(op[1]);
    } else {
      w.backend.fail_next = op[1] & 1;
      (void)w.dev->msix_vector(op[2]);
      (void)w.bridge.devices();
    }
    const uint8_t st = w.dev->status();
    if (st & VIRTIO_STATUS_DRIVER_OK) require((st & VIRTIO_STATUS_FEATURES_OK) != 0);
    if (st & VIRTIO_STATUS_FEATURES_OK) {
      require((w.dev->driver_features() & ~w.backend.device_features()) == 0);
      require(w.dev->driver_features() & virtio::feature_bit(virtio::VIRTIO_F_VERSION_1));
    }
  }
  return 0;
}
