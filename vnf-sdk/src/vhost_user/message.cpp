// vhost-user message codec (see message.hpp for the rules enforced here).
#include "nfv/vhost_user/message.hpp"

#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <string>

namespace nfv::vhost_user {

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

namespace {

Error proto(const std::string& what) { return make_error(Errc::protocol, "vhost-user: " + what); }

std::string num(uint64_t v) { return std::to_string(v); }

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

bool is_reply_kind(MessageKind k) noexcept { return k == MessageKind::reply || k == MessageKind::backend_reply; }

std::optional<RequestSpec> spec_for(MessageKind k, uint32_t code) noexcept {
  return (k == MessageKind::request || k == MessageKind::reply) ? frontend_request_spec(code)
                                                                 : backend_request_spec(code);
}

std::size_t fixed_size(PayloadType t) noexcept {
  switch (t) {
    case PayloadType::none: return 0;
    case PayloadType::u64: return sizeof(uint64_t);
    case PayloadType::vring_state: return sizeof(VringState);
    case PayloadType::vring_address: return sizeof(VringAddress);
    case PayloadType::single_region: return sizeof(SingleMemoryRegion);
    case PayloadType::log: return sizeof(LogDescription);
    case PayloadType::iotlb: return sizeof(IotlbMessage);
    case PayloadType::vring_area: return sizeof(VringArea);
    case PayloadType::inflight: return sizeof(InflightDescription);
    case PayloadType::device_state: return sizeof(DeviceStateTransfer);
    case PayloadType::shared_object: return sizeof(SharedObject);
    case PayloadType::memory_table:
    case PayloadType::config:
    case PayloadType::opaque: break;
  }
  return SIZE_MAX;  // variable-size types are checked separately
}

template <typename T>
T load(std::span<const uint8_t> p, std::size_t off = 0) noexcept {
  T v;
  std::memcpy(&v, p.data() + off, sizeof(T));  // caller checked the size; memcpy: no alignment needed
  return v;
}

bool wraps(uint64_t base, uint64_t size) noexcept { return base + size < base; }

bool overlap(uint64_t a, uint64_t an, uint64_t b, uint64_t bn) noexcept { return a < b + bn && b < a + an; }

// One region: non-empty and no range that wraps (so end = base + size is exact).
Status check_region(const MemoryRegion& r, const std::string& at) {
  if (r.memory_size == 0) return proto(at + " has size 0");
  if (wraps(r.guest_phys_addr, r.memory_size))
    return proto(at + ": guest address " + hex(r.guest_phys_addr) + " + size " + hex(r.memory_size) + " wraps");
  if (wraps(r.userspace_addr, r.memory_size))
    return proto(at + ": user address " + hex(r.userspace_addr) + " + size " + hex(r.memory_size) + " wraps");
  if (wraps(r.mmap_offset, r.memory_size))
    return proto(at + ": mmap offset " + hex(r.mmap_offset) + " + size " + hex(r.memory_size) + " wraps");
  return {};
}

Status check_memory_table(std::span<const uint8_t> p, std::size_t* regions_out) {
  if (p.size() < kMemoryTableHeaderSize)
    return proto("memory table payload is " + num(p.size()) + " bytes, shorter than its 8-byte header");
  const auto n = load<uint32_t>(p);
  if (n == 0) return proto("memory table has 0 regions");
  if (n > kMaxMemoryRegions) return proto("memory table has " + num(n) + " regions, at most 8 are allowed");
  if (p.size() != kMemoryTableHeaderSize + n * sizeof(MemoryRegion))
    return proto("memory table payload is " + num(p.size()) + " bytes but " + num(n) + " regions need " +
                 num(kMemoryTableHeaderSize + n * sizeof(MemoryRegion)));
  MemoryRegion r[kMaxMemoryRegions];
  for (std::size_t i = 0; i < n; ++i) {
    r[i] = load<MemoryRegion>(p, kMemoryTableHeaderSize + i * sizeof(MemoryRegion));
    if (auto s = check_region(r[i], "memory region " + num(i)); !s) return s;
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      if (overlap(r[i].guest_phys_addr, r[i].memory_size, r[j].guest_phys_addr, r[j].memory_size))
        return proto("memory regions " + num(i) + " and " + num(j) + " overlap in guest-physical space");
      if (overlap(r[i].userspace_addr, r[i].memory_size, r[j].userspace_addr, r[j].memory_size))
        return proto("memory regions " + num(i) + " and " + num(j) + " overlap in user-address space");
    }
  }
  *regions_out = n;
  return {};
}

}  // namespace

const char* message_kind_name(MessageKind k) noexcept {
  switch (k) {
    case MessageKind::request: return "request";
    case MessageKind::reply: return "reply";
    case MessageKind::backend_request: return "back-end request";
    case MessageKind::backend_reply: return "back-end reply";
  }
  return "?";
}

Message::Message(MessageKind kind, uint32_t code, std::vector<uint8_t> payload)
    : kind_(kind), payload_(std::move(payload)) {
  header_.request = code;
  header_.flags = kVersion | (is_reply_kind(kind) ? kFlagReply : 0);
  header_.size = static_cast<uint32_t>(payload_.size());
}

Message Message::memory_table(std::span<const MemoryRegion> regions) {
  std::vector<uint8_t> p(kMemoryTableHeaderSize + regions.size() * sizeof(MemoryRegion));
  const auto n = static_cast<uint32_t>(regions.size());
  std::memcpy(p.data(), &n, sizeof n);
  if (!regions.empty()) std::memcpy(p.data() + kMemoryTableHeaderSize, regions.data(), regions.size_bytes());
  return Message(MessageKind::request, raw(FrontendRequest::set_mem_table), std::move(p));
}

Message Message::config(MessageKind kind, FrontendRequest code, uint32_t offset, uint32_t flags,
                        std::span<const uint8_t> data) {
  const ConfigSpaceHeader h{offset, static_cast<uint32_t>(data.size()), flags};
  std::vector<uint8_t> p(sizeof h + data.size());
  std::memcpy(p.data(), &h, sizeof h);
  if (!data.empty()) std::memcpy(p.data() + sizeof h, data.data(), data.size());
  return Message(kind, raw(code), std::move(p));
}

Message& Message::set_need_reply(bool on) noexcept {
  header_.flags = on ? (header_.flags | kFlagNeedReply) : (header_.flags & ~kFlagNeedReply);
  return *this;
}

const char* Message::name() const noexcept {
  auto s = spec_for(kind_, header_.request);
  return s ? s->name : "unknown";
}

Header Message::parse_header(std::span<const uint8_t, kHeaderSize> bytes) noexcept {
  Header h;
  std::memcpy(&h, bytes.data(), sizeof h);  // 12 bytes -> 3 x u32, native (little) endian
  return h;
}

Status Message::check_header(MessageKind kind, const Header& h) {
  if ((h.flags & kVersionMask) != kVersion)
    return proto("unsupported protocol version " + num(h.flags & kVersionMask) + " (only version 1 exists)");
  if (h.flags & ~kKnownFlags) return proto("undefined header flag bits " + hex(h.flags & ~kKnownFlags) + " set");
  auto spec = spec_for(kind, h.request);
  if (!spec) return proto("unknown " + std::string(message_kind_name(kind)) + " code " + num(h.request));
  const bool reply_bit = (h.flags & kFlagReply) != 0;
  if (is_reply_kind(kind) && !reply_bit)
    return proto(std::string(spec->name) + " reply lacks the reply flag (0x4)");
  if (!is_reply_kind(kind) && reply_bit)
    return proto(std::string(spec->name) + " request has the reply flag (0x4) set; requests never do");
  if (is_reply_kind(kind) && (h.flags & kFlagNeedReply))
    return proto(std::string(spec->name) + " reply has need_reply (0x8) set; only requests may ask for a reply");
  if (h.size > kMaxPayloadSize)
    return proto(std::string(spec->name) + " payload size " + num(h.size) + " exceeds the maximum of " +
                 num(kMaxPayloadSize));
  return {};
}

Status Message::validate(std::size_t fd_count) const {
  if (auto s = check_header(kind_, header_); !s) return s;
  const RequestSpec spec = *spec_for(kind_, header_.request);  // check_header proved it exists
  const std::string name = spec.name;
  if (header_.size != payload_.size())
    return proto(name + " header size " + num(header_.size) + " but " + num(payload_.size()) + " payload bytes");
  if (fd_count > kMaxFds) return proto(name + " carries " + num(fd_count) + " fds, at most 8 are allowed");

  const bool reply = is_reply_kind(kind_);
  const PayloadType type = reply ? spec.reply : spec.request;
  const FdRule rule = reply ? spec.reply_fds : spec.request_fds;
  const std::span<const uint8_t> p = payload_;
  std::size_t regions = 0;

  switch (type) {
    case PayloadType::memory_table:
      if (auto s = check_memory_table(p, &regions); !s) return s;
      break;
    case PayloadType::config: {
      // GET_CONFIG: "back-end uses zero length of payload to indicate an error".
      if (reply && p.empty()) break;
      if (p.size() < sizeof(ConfigSpaceHeader))
        return proto(name + " payload is " + num(p.size()) + " bytes, shorter than the 12-byte config header");
      const auto h = load<ConfigSpaceHeader>(p);
      if (h.size > kMaxConfigSize)
        return proto(name + " config access of " + num(h.size) + " bytes exceeds the 256-byte config space");
      if (p.size() != sizeof h + h.size)
        return proto(name + " config header says " + num(h.size) + " bytes but " + num(p.size() - sizeof h) +
                     " follow");
      break;
    }
    case PayloadType::opaque:
      break;  // bounded by kMaxPayloadSize in check_header
    default:
      if (p.size() != fixed_size(type))
        return proto(name + (reply ? " reply" : "") + " payload is " + num(p.size()) + " bytes, expected " +
                     num(fixed_size(type)));
      if (type == PayloadType::single_region) {
        if (auto s = check_region(load<SingleMemoryRegion>(p).region, name + " region"); !s) return s;
      }
      break;
  }

  std::size_t want_min = 0, want_max = 0;
  switch (rule) {
    case FdRule::none: break;
    case FdRule::one: want_min = want_max = 1; break;
    case FdRule::per_region: want_min = want_max = regions; break;
    case FdRule::optional_one: want_max = 1; break;
    case FdRule::unless_no_fd: {
      const auto v = load<uint64_t>(p);  // every unless_no_fd payload starts with a u64 (size checked above)
      if (v & ~(kVringIndexMask | kVringNoFdFlag))
        return proto(name + " u64 " + hex(v) + " sets reserved bits above bit 8");
      want_min = want_max = (v & kVringNoFdFlag) ? 0 : 1;
      break;
    }
  }
  if (fd_count < want_min || fd_count > want_max) {
    std::string want = want_min == want_max ? num(want_min) : num(want_min) + " or " + num(want_max);
    if (rule == FdRule::unless_no_fd && want_min == 0) want += " (the no-fd flag 0x100 is set)";
    return proto(name + (reply ? " reply" : "") + " carries " + num(fd_count) + " fds, expected " + want);
  }
  return {};
}

Result<Message> Message::decode(MessageKind kind, std::span<const uint8_t> bytes, std::vector<UniqueFd> fds) {
  // Any early return destroys `fds`, closing every descriptor that came along.
  if (bytes.size() < kHeaderSize)
    return proto("message truncated: " + num(bytes.size()) + " bytes, the header alone is 12");
  const Header h = parse_header(bytes.first<kHeaderSize>());
  if (auto s = check_header(kind, h); !s) return std::move(s).error();
  if (bytes.size() - kHeaderSize != h.size)
    return proto("header announces " + num(h.size) + " payload bytes but " + num(bytes.size() - kHeaderSize) +
                 " arrived");
  Message m(kind, h.request, std::vector<uint8_t>(bytes.begin() + kHeaderSize, bytes.end()));
  m.header_.flags = h.flags;
  if (auto s = m.validate(fds.size()); !s) return std::move(s).error();
  m.fds_ = std::move(fds);
  return m;
}

Error Message::size_mismatch(std::size_t want) const {
  return proto(std::string(name()) + " payload is " + num(payload_.size()) + " bytes, the accessor expects " +
               num(want));
}

Result<std::vector<MemoryRegion>> Message::memory_regions() const {
  std::size_t n = 0;
  if (auto s = check_memory_table(payload_, &n); !s) return std::move(s).error();
  std::vector<MemoryRegion> out(n);
  std::memcpy(out.data(), payload_.data() + kMemoryTableHeaderSize, n * sizeof(MemoryRegion));
  return out;
}

Result<std::pair<ConfigSpaceHeader, std::vector<uint8_t>>> Message::config_space() const {
  if (payload_.size() < sizeof(ConfigSpaceHeader)) return size_mismatch(sizeof(ConfigSpaceHeader));
  const auto h = load<ConfigSpaceHeader>(payload_);
  if (h.size > kMaxConfigSize || payload_.size() != sizeof h + h.size) return size_mismatch(sizeof h + h.size);
  return std::pair{h, std::vector<uint8_t>(payload_.begin() + sizeof h, payload_.end())};
}

std::vector<uint8_t> Message::encode() const {
  std::vector<uint8_t> out(kHeaderSize + payload_.size());
  std::memcpy(out.data(), &header_, kHeaderSize);
  if (!payload_.empty()) std::memcpy(out.data() + kHeaderSize, payload_.data(), payload_.size());
  return out;
}

}  // namespace nfv::vhost_user
