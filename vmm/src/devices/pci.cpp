// PCI configuration space and host bridge: see pci.hpp.
#include "devices/pci.hpp"

#include <bit>
#include <cstring>

namespace nfv::vmm {

namespace {
void put16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }  // little-endian host (ring.hpp asserts it)
void put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
bool valid_access(uint32_t offset, std::size_t len) {
  return (len == 1 || len == 2 || len == 4) && offset < kPciConfigSize && (offset & 3) + len <= 4;
}
}  // namespace

PciFunction::PciFunction(const PciIds& ids) {
  uint8_t* c = cfg_.data();
  put16(c + kPciVendorId, ids.vendor);
  put16(c + kPciDeviceId, ids.device);
  c[kPciRevision] = ids.revision;
  c[kPciClassProg] = static_cast<uint8_t>(ids.class_code);
  c[kPciClassProg + 1] = static_cast<uint8_t>(ids.class_code >> 8);
  c[kPciClassProg + 2] = static_cast<uint8_t>(ids.class_code >> 16);
  c[kPciHeaderType] = 0x00;  // type 0, single function
  put16(c + kPciSubsystemVendor, ids.subsystem_vendor);
  put16(c + kPciSubsystemId, ids.subsystem_id);
  c[kPciInterruptPin] = ids.interrupt_pin;
  // Writable: command bits I/O, memory, bus master, parity, SERR, INTx disable;
  // cache line size; latency timer; interrupt line.
  put16(wmask_.data() + kPciCommand, 0x0547);
  wmask_[0x0c] = 0xff;
  wmask_[0x0d] = 0xff;
  wmask_[kPciInterruptLine] = 0xff;
}

uint16_t PciFunction::cfg16(uint32_t off) const {
  uint16_t v;
  std::memcpy(&v, cfg_.data() + off, 2);
  return v;
}
uint32_t PciFunction::cfg32(uint32_t off) const {
  uint32_t v;
  std::memcpy(&v, cfg_.data() + off, 4);
  return v;
}
void PciFunction::set_cfg(uint32_t off, std::span<const uint8_t> bytes) {
  if (off > kPciConfigSize || bytes.size() > kPciConfigSize - off) return;
  std::memcpy(cfg_.data() + off, bytes.data(), bytes.size());
}

Status PciFunction::set_bar_mem64(unsigned index, uint64_t address, uint64_t size) {
  if (index + 1 >= kPciBarCount || size < 16 || !std::has_single_bit(size) || (address & (size - 1)) != 0) {
    return make_error(Errc::invalid_argument,
                      "PCI BAR " + std::to_string(index) +
                          ": a 64-bit BAR needs index 0..4, a power-of-two size >= 16 and an address aligned to it");
  }
  std::lock_guard lock(mu_);
  const uint32_t off = kPciBar0 + 4 * index;
  const uint64_t mask = ~(size - 1);
  put32(cfg_.data() + off, static_cast<uint32_t>(address) | 0x4);  // memory, 64-bit, non-prefetchable
  put32(cfg_.data() + off + 4, static_cast<uint32_t>(address >> 32));
  put32(wmask_.data() + off, static_cast<uint32_t>(mask) & ~0xfu);
  put32(wmask_.data() + off + 4, static_cast<uint32_t>(mask >> 32));
  bar_size_[index] = size;
  bar_size_[index + 1] = 0;
  return {};
}

std::optional<uint8_t> PciFunction::add_capability(uint8_t id, std::span<const uint8_t> body,
                                                   std::span<const uint8_t> writable) {
  std::lock_guard lock(mu_);
  const std::size_t len = 2 + body.size();
  if (len > kPciConfigSize - next_cap_ || (!writable.empty() && writable.size() != body.size())) return std::nullopt;
  const uint8_t at = next_cap_;
  cfg_[at] = id;
  cfg_[at + 1] = 0;
  std::memcpy(cfg_.data() + at + 2, body.data(), body.size());
  if (!writable.empty()) std::memcpy(wmask_.data() + at + 2, writable.data(), writable.size());
  if (last_cap_ == 0) {
    cfg_[kPciCapabilityList] = at;
    put16(cfg_.data() + kPciStatus, cfg16(kPciStatus) | kPciStatusCapList);
  } else {
    cfg_[last_cap_ + 1] = at;
  }
  last_cap_ = at;
  next_cap_ = static_cast<uint8_t>(std::min<std::size_t>((at + len + 3) & ~std::size_t{3}, 0xfc));
  return at;
}

void PciFunction::set_bar_moved_callback(BarMoved cb) {
  std::lock_guard lock(mu_);
  bar_moved_ = std::move(cb);
}

PciBar PciFunction::bar_locked(unsigned index) const {
  if (index >= kPciBarCount || bar_size_[index] == 0) return {};
  const uint64_t lo = cfg32(kPciBar0 + 4 * index) & ~0xfu;
  const uint64_t hi = index + 1 < kPciBarCount ? cfg32(kPciBar0 + 4 * index + 4) : 0;
  return {hi << 32 | lo, bar_size_[index]};
}

PciBar PciFunction::bar(unsigned index) const {
  std::lock_guard lock(mu_);
  return bar_locked(index);
}
uint16_t PciFunction::vendor_id() const {
  std::lock_guard lock(mu_);
  return cfg16(kPciVendorId);
}
uint16_t PciFunction::device_id() const {
  std::lock_guard lock(mu_);
  return cfg16(kPciDeviceId);
}
uint16_t PciFunction::command() const {
  std::lock_guard lock(mu_);
  return cfg16(kPciCommand);
}

std::optional<uint8_t> PciFunction::find_capability(uint8_t id) const {
  std::lock_guard lock(mu_);
  if (!(cfg16(kPciStatus) & kPciStatusCapList)) return std::nullopt;
  uint8_t at = cfg_[kPciCapabilityList] & 0xfc;
  for (int hops = 0; at >= 0x40 && hops < 48; ++hops) {  // 48: at most (256-64)/4 capabilities
    if (cfg_[at] == id) return at;
    at = cfg_[at + 1] & 0xfc;
  }
  return std::nullopt;
}

void PciFunction::config_read(uint32_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  if (!valid_access(offset, data.size())) {
    std::memset(data.data(), 0xff, data.size());
    ++bad_accesses_;
    return;
  }
  config_read_hook(offset, static_cast<uint32_t>(data.size()));
  std::memcpy(data.data(), cfg_.data() + offset, data.size());
}

void PciFunction::config_write(uint32_t offset, std::span<const uint8_t> data) {
  std::array<PciBar, kPciBarCount> before{}, after{};
  BarMoved cb;
  {
    std::lock_guard lock(mu_);
    if (!valid_access(offset, data.size())) {
      ++bad_accesses_;
      return;
    }
    for (unsigned i = 0; i < kPciBarCount; ++i) before[i] = bar_locked(i);
    for (std::size_t i = 0; i < data.size(); ++i) {
      const uint8_t m = wmask_[offset + i];
      cfg_[offset + i] = static_cast<uint8_t>((cfg_[offset + i] & ~m) | (data[i] & m));
    }
    config_written(offset, static_cast<uint32_t>(data.size()));
    for (unsigned i = 0; i < kPciBarCount; ++i) after[i] = bar_locked(i);
    cb = bar_moved_;
  }
  // Outside the lock: the callback may move bus ranges or read this function.
  if (!cb) return;
  for (unsigned i = 0; i < kPciBarCount; ++i) {
    if (before[i].address != after[i].address) cb(i, before[i].address, after[i].address);
  }
}

// ---- host bridge -------------------------------------------------------------

PciHostBridge::PciHostBridge() : bridge_(PciIds{.vendor = 0x1b36, .device = 0x0008, .class_code = 0x060000}) {
  slots_[0] = &bridge_;
}

Status PciHostBridge::add_device(uint8_t slot, PciFunction* fn) {
  std::lock_guard lock(mu_);
  if (fn == nullptr || slot == 0 || slot >= kSlots) {
    return make_error(Errc::invalid_argument, "PCI slot " + std::to_string(slot) + " is invalid; use 1..31");
  }
  if (slots_[slot] != nullptr) {
    return make_error(Errc::already_exists, "PCI slot " + std::to_string(slot) + " is taken; pick a free slot");
  }
  slots_[slot] = fn;
  return {};
}

Result<uint8_t> PciHostBridge::add_device(PciFunction* fn) {
  for (uint8_t s = 1; s < kSlots; ++s) {
    {
      std::lock_guard lock(mu_);
      if (slots_[s] != nullptr) continue;
    }
    if (auto st = add_device(s, fn); !st) return std::move(st).error();
    return s;
  }
  return make_error(Errc::resource, "all 31 PCI slots on bus 0 are used; attach fewer devices");
}

PciFunction* PciHostBridge::target(uint32_t address) const {
  if (!(address & 0x80000000u)) return nullptr;
  const uint32_t bus = (address >> 16) & 0xff, dev = (address >> 11) & 0x1f, fn = (address >> 8) & 0x7;
  if (bus != 0 || fn != 0) return nullptr;
  return slots_[dev];
}

void PciHostBridge::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  if (offset == 0 && data.size() == 4) {
    put32(data.data(), address_);
    return;
  }
  std::memset(data.data(), 0xff, data.size());
  if (offset < 4 || offset + data.size() > 8) {  // partial address register or crossing 0xCFF
    ++bad_accesses_;
    return;
  }
  PciFunction* fn = target(address_);
  if (fn == nullptr) {
    ++absent_reads_;
    return;
  }
  fn->config_read((address_ & 0xfc) + static_cast<uint32_t>(offset - 4), data);
}

void PciHostBridge::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  if (offset == 0 && data.size() == 4) {
    uint32_t v;
    std::memcpy(&v, data.data(), 4);
    address_ = v & 0x80fffffcu;  // enable, bus, device, function, register; low bits read 0
    return;
  }
  if (offset < 4 || offset + data.size() > 8) {
    ++bad_accesses_;
    return;
  }
  if (PciFunction* fn = target(address_)) fn->config_write((address_ & 0xfc) + static_cast<uint32_t>(offset - 4), data);
}

PciDeviceInfo pci_device_info(PciFunction& fn, uint8_t slot) {
  PciDeviceInfo info;
  info.device = slot;
  info.vendor = fn.vendor_id();
  info.device_id = fn.device_id();
  const PciBar b0 = fn.bar(0);
  info.bar0_address = b0.address;
  info.bar0_size = b0.size;
  if (auto cap = fn.find_capability(kPciCapIdMsix)) {
    uint8_t b[8];
    fn.config_read(*cap + 0, std::span(b, 4));  // id, next, message control
    fn.config_read(*cap + 4, std::span(b + 4, 4));  // table offset | BIR
    uint16_t control;
    uint32_t table;
    std::memcpy(&control, b + 2, 2);
    std::memcpy(&table, b + 4, 4);
    info.msix_entries = static_cast<uint16_t>((control & 0x7ff) + 1);
    info.msix_table_address = fn.bar(table & 7).address + (table & ~7u);
  }
  return info;
}

std::vector<PciDeviceInfo> PciHostBridge::devices() const {
  std::vector<PciDeviceInfo> out;
  std::array<PciFunction*, kSlots> slots;
  {
    std::lock_guard lock(mu_);
    slots = slots_;
  }
  for (uint8_t s = 1; s < kSlots; ++s) {
    if (slots[s] != nullptr) out.push_back(pci_device_info(*slots[s], s));
  }
  return out;
}

}  // namespace nfv::vmm
