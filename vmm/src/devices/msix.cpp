// MsixTable: see msix.hpp.
#include "devices/msix.hpp"

#include <algorithm>
#include <cstring>

namespace nfv::vmm {

namespace {
bool aligned_access(uint64_t offset, std::size_t len) { return (len == 4 || len == 8) && offset % len == 0; }
}  // namespace

MsixTable::MsixTable(uint16_t entries)
    : entries_(std::clamp<uint16_t>(entries, 1, kMaxEntries)), pending_(entries_.size(), false) {}

void MsixTable::reset() {
  std::fill(entries_.begin(), entries_.end(), Entry{});
  std::fill(pending_.begin(), pending_.end(), false);
  enabled_ = false;
  function_mask_ = false;
}

void MsixTable::table_read(uint64_t offset, std::span<uint8_t> data) {
  if (!aligned_access(offset, data.size()) || offset + data.size() > table_bytes()) {
    std::memset(data.data(), 0xff, data.size());
    ++bad_accesses_;
    return;
  }
  const Entry& e = entries_[offset / kEntrySize];
  const uint32_t words[4] = {e.addr_lo, e.addr_hi, e.data, e.control};
  // Aligned: a dword or a qword (two words) inside one 16-byte entry.
  std::memcpy(data.data(), reinterpret_cast<const uint8_t*>(words) + offset % kEntrySize, data.size());
}

int MsixTable::table_write(uint64_t offset, std::span<const uint8_t> data, MsiSink* sink) {
  if (!aligned_access(offset, data.size()) || offset + data.size() > table_bytes()) {
    ++bad_accesses_;
    return -1;
  }
  const auto v = static_cast<uint16_t>(offset / kEntrySize);
  Entry& e = entries_[v];
  uint32_t words[4] = {e.addr_lo, e.addr_hi, e.data, e.control};
  std::memcpy(reinterpret_cast<uint8_t*>(words) + offset % kEntrySize, data.data(), data.size());
  e = Entry{words[0], words[1], words[2], words[3] & 1};  // vector control: only the mask bit is defined
  if (pending_[v] && deliverable(e)) {
    pending_[v] = false;
    send(e, sink);
  }
  return v;
}

void MsixTable::pba_read(uint64_t offset, std::span<uint8_t> data) {
  if (!aligned_access(offset, data.size()) || offset + data.size() > pba_bytes()) {
    std::memset(data.data(), 0xff, data.size());
    ++bad_accesses_;
    return;
  }
  for (std::size_t i = 0; i < data.size(); ++i) {
    uint8_t byte = 0;
    for (unsigned b = 0; b < 8; ++b) {
      const uint64_t v = (offset + i) * 8 + b;
      if (v < pending_.size() && pending_[v]) byte |= static_cast<uint8_t>(1u << b);
    }
    data[i] = byte;
  }
}

void MsixTable::set_control(bool enabled, bool function_mask, MsiSink* sink) {
  enabled_ = enabled;
  function_mask_ = function_mask;
  deliver_pending(sink);
}

void MsixTable::deliver_pending(MsiSink* sink) {
  for (std::size_t v = 0; v < entries_.size(); ++v) {
    if (pending_[v] && deliverable(entries_[v])) {
      pending_[v] = false;
      send(entries_[v], sink);
    }
  }
}

bool MsixTable::raise(uint16_t vector, MsiSink* sink) {
  if (vector >= entries_.size() || !enabled_) return false;
  const Entry& e = entries_[vector];
  if (!deliverable(e)) {
    pending_[vector] = true;
    ++left_pending_;
    return false;
  }
  return send(e, sink);
}

bool MsixTable::send(const Entry& e, MsiSink* sink) {
  if (!is_apic_msi_address(uint64_t{e.addr_hi} << 32 | e.addr_lo)) {
    ++bad_messages_;
    return false;
  }
  if (sink) sink->signal(e.addr_lo, e.data);
  return true;
}

MsixVector MsixTable::vector(uint16_t v) const {
  if (v >= entries_.size()) return {};
  const Entry& e = entries_[v];
  return {uint64_t{e.addr_hi} << 32 | e.addr_lo, e.data, !deliverable(e), static_cast<bool>(pending_[v])};
}

}  // namespace nfv::vmm
