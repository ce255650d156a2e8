// Test rig for the VMM's device models: a fake guest RAM, a fake virtio
// backend and MSI sink that record what the transport does, and a Guest that
// reaches devices only the way a guest does — port I/O to 0xCF8/0xCFC and
// MMIO on the bus — so tests exercise the same paths as KVM exits.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "devices/io_bus.hpp"
#include "devices/pci.hpp"
#include "devices/virtio_pci.hpp"
#include "guest_memory.hpp"
#include "nfv/virtio/ring.hpp"

namespace nfv::vmm::test {

// Guest RAM: one region at kRamBase.
struct FakeRam {
  static constexpr uint64_t kRamBase = 0x100000;
  explicit FakeRam(std::size_t bytes = 1 << 20) : bytes(bytes, 0) {
    auto st = memory.add_region({kRamBase, bytes, this->bytes.data(), -1, 0});
    (void)st;
  }
  std::vector<uint8_t> bytes;
  GuestMemory memory;
};

struct RecordingMsi final : MsiSink {
  struct Msg {
    uint64_t address;
    uint32_t data;
  };
  void signal(uint64_t address, uint32_t data) override { sent.push_back({address, data}); }
  std::vector<Msg> sent;
};

struct FakeBackend final : VirtioDeviceBackend {
  uint16_t type = 1;
  uint64_t features = virtio::feature_bit(virtio::VIRTIO_F_VERSION_1) | virtio::feature_bit(virtio::VIRTIO_F_EVENT_IDX) |
                      virtio::feature_bit(5);
  uint16_t queues = 2;
  uint16_t max_size = 256;
  std::vector<uint8_t> config = std::vector<uint8_t>(12, 0);
  bool fail_activate = false;
  int activations = 0, resets = 0;
  uint64_t activated_features = 0;
  std::vector<VirtqueueConfig> activated;
  std::vector<uint16_t> notified;

  uint16_t device_type() const override { return type; }
  uint64_t device_features() const override { return features; }
  uint16_t num_queues() const override { return queues; }
  uint16_t max_queue_size() const override { return max_size; }
  uint32_t config_size() const override { return static_cast<uint32_t>(config.size()); }
  void config_read(uint32_t offset, std::span<uint8_t> data) override {
    std::memcpy(data.data(), config.data() + offset, data.size());
  }
  void config_write(uint32_t offset, std::span<const uint8_t> data) override {
    std::memcpy(config.data() + offset, data.data(), data.size());
  }
  Status activate(uint64_t f, std::span<const VirtqueueConfig> q) override {
    if (fail_activate) return make_error(Errc::protocol, "back-end refused the rings");
    ++activations;
    activated_features = f;
    activated.assign(q.begin(), q.end());
    return {};
  }
  void reset() override { ++resets; }
  void notify(uint16_t q) override { notified.push_back(q); }
};

// Guest-side access helpers over the two buses.
struct Guest {
  IoBus pio{"pio"};
  IoBus mmio{"mmio"};

  uint64_t in(uint64_t port, unsigned width) {
    uint64_t v = 0;
    pio.read(port, std::span(reinterpret_cast<uint8_t*>(&v), width));
    return v;
  }
  void out(uint64_t port, unsigned width, uint64_t v) {
    pio.write(port, std::span(reinterpret_cast<const uint8_t*>(&v), width));
  }
  uint64_t mr(uint64_t addr, unsigned width) {
    uint64_t v = 0;
    mmio.read(addr, std::span(reinterpret_cast<uint8_t*>(&v), width));
    return v;
  }
  void mw(uint64_t addr, unsigned width, uint64_t v) {
    mmio.write(addr, std::span(reinterpret_cast<const uint8_t*>(&v), width));
  }
  // Configuration mechanism #1 (bus 0).
  uint32_t cfg_read(unsigned dev, unsigned reg, unsigned width) {
    out(0xcf8, 4, 0x80000000u | dev << 11 | (reg & 0xfc));
    return static_cast<uint32_t>(in(0xcfc + (reg & 3), width));
  }
  void cfg_write(unsigned dev, unsigned reg, unsigned width, uint32_t v) {
    out(0xcf8, 4, 0x80000000u | dev << 11 | (reg & 0xfc));
    out(0xcfc + (reg & 3), width, v);
  }
};

}  // namespace nfv::vmm::test
