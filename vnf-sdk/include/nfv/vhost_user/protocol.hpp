// vhost-user wire protocol: request codes, flags, feature bits, payload layouts.
//
// Source: QEMU docs/interop/vhost-user.rst ("Vhost-user Protocol"), sections
// "Message Specification" (header and payload types), "Protocol features",
// "Front-end message types", "Back-end message types" and "Communication"
// (which requests carry file descriptors). Request names use the current
// spelling (BACKEND_* instead of the older SLAVE_*).
//
// Byte order: the spec says "machine native byte order" (both peers share one
// host). This project builds for little-endian hosts only, so the structs
// below ARE the wire format: the codec memcpy()s them in and out (never casts
// a byte pointer to a struct), and the static_asserts pin every size and field
// offset to the spec's tables.
//
// RequestSpec (request_spec()) is the one table the codec validates against:
// per request, the payload type and fd rule of the request and of its reply.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace nfv::vhost_user {

static_assert(std::endian::native == std::endian::little,
              "vhost-user structs are used as the wire format; port the codec for big-endian hosts");

// ---- Header flags (spec: "Header") -----------------------------------------
inline constexpr uint32_t kVersion = 0x1;
inline constexpr uint32_t kVersionMask = 0x3;
inline constexpr uint32_t kFlagReply = 0x4;      // set on every back-end reply
inline constexpr uint32_t kFlagNeedReply = 0x8;  // REPLY_ACK: ask for a u64 status reply
inline constexpr uint32_t kKnownFlags = kVersionMask | kFlagReply | kFlagNeedReply;

inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::size_t kMaxMemoryRegions = 8;  // VHOST_MEMORY_BASELINE_NREGIONS
inline constexpr std::size_t kMaxFds = 8;            // at most 8 fds per message
inline constexpr std::size_t kMaxConfigSize = 256;   // VHOST_USER_MAX_CONFIG_SIZE
// Largest payload accepted. The largest fixed payload is a config-space access
// (12 + 256 bytes); crypto session descriptions are opaque and stay below 4 KiB.
inline constexpr std::size_t kMaxPayloadSize = 4096;

// u64 payload of SET_VRING_KICK/CALL/ERR (and the u64 of a vring area, and the
// SET_DEVICE_STATE_FD reply): bits 0-7 index/status, bit 8 "no fd attached".
inline constexpr uint64_t kVringIndexMask = 0xff;
inline constexpr uint64_t kVringNoFdFlag = 0x100;

// ---- Virtio/vhost feature bits (GET_FEATURES / SET_FEATURES) -----------------
inline constexpr uint64_t kFeatureLogAll = uint64_t{1} << 26;           // VHOST_F_LOG_ALL
inline constexpr uint64_t kFeatureProtocolFeatures = uint64_t{1} << 30;  // VHOST_USER_F_PROTOCOL_FEATURES

// ---- Protocol feature bits (GET/SET_PROTOCOL_FEATURES), as bit numbers -------
enum class ProtocolFeature : uint32_t {
  mq = 0,
  log_shmfd = 1,
  rarp = 2,
  reply_ack = 3,
  net_mtu = 4,
  backend_req = 5,
  cross_endian = 6,
  crypto_session = 7,
  pagefault = 8,
  config = 9,
  backend_send_fd = 10,
  host_notifier = 11,
  inflight_shmfd = 12,
  reset_device = 13,
  inband_notifications = 14,
  configure_mem_slots = 15,
  status = 16,
  xen_mmap = 17,
  shared_object = 18,
  device_state = 19,
};

constexpr uint64_t bit(ProtocolFeature f) noexcept { return uint64_t{1} << static_cast<uint32_t>(f); }

// ---- Front-end requests (sent on the main socket) --------------------------
enum class FrontendRequest : uint32_t {
  get_features = 1,
  set_features = 2,
  set_owner = 3,
  reset_owner = 4,
  set_mem_table = 5,
  set_log_base = 6,
  set_log_fd = 7,
  set_vring_num = 8,
  set_vring_addr = 9,
  set_vring_base = 10,
  get_vring_base = 11,
  set_vring_kick = 12,
  set_vring_call = 13,
  set_vring_err = 14,
  get_protocol_features = 15,
  set_protocol_features = 16,
  get_queue_num = 17,
  set_vring_enable = 18,
  send_rarp = 19,
  net_set_mtu = 20,
  set_backend_req_fd = 21,
  iotlb_msg = 22,
  set_vring_endian = 23,
  get_config = 24,
  set_config = 25,
  create_crypto_session = 26,
  close_crypto_session = 27,
  postcopy_advise = 28,
  postcopy_listen = 29,
  postcopy_end = 30,
  get_inflight_fd = 31,
  set_inflight_fd = 32,
  gpu_set_socket = 33,
  reset_device = 34,
  vring_kick = 35,
  get_max_mem_slots = 36,
  add_mem_reg = 37,
  rem_mem_reg = 38,
  set_status = 39,
  get_status = 40,
  get_shared_object = 41,
  set_device_state_fd = 42,
  check_device_state = 43,
};
inline constexpr uint32_t kFirstFrontendRequest = 1;
inline constexpr uint32_t kLastFrontendRequest = 43;

// ---- Back-end requests (sent by the back-end on the SET_BACKEND_REQ_FD socket)
enum class BackendRequest : uint32_t {
  iotlb_msg = 1,
  config_change_msg = 2,
  vring_host_notifier_msg = 3,
  vring_call = 4,
  vring_err = 5,
  shared_object_add = 6,
  shared_object_remove = 7,
  shared_object_lookup = 8,
};
inline constexpr uint32_t kFirstBackendRequest = 1;
inline constexpr uint32_t kLastBackendRequest = 8;

// ---- Payload layouts (spec: "Payload") --------------------------------------
struct VringState {  // "A vring state description"
  uint32_t index;
  uint32_t num;
};
static_assert(sizeof(VringState) == 8 && offsetof(VringState, num) == 4);

struct VringAddress {  // "A vring address description"
  uint32_t index;
  uint32_t flags;  // bit 0: VHOST_VRING_F_LOG
  uint64_t descriptor;
  uint64_t used;
  uint64_t available;
  uint64_t log;
};
static_assert(sizeof(VringAddress) == 40 && offsetof(VringAddress, descriptor) == 8 &&
              offsetof(VringAddress, used) == 16 && offsetof(VringAddress, available) == 24 &&
              offsetof(VringAddress, log) == 32);

struct MemoryRegion {  // one region of "Memory regions description"
  uint64_t guest_phys_addr;
  uint64_t memory_size;
  uint64_t userspace_addr;
  uint64_t mmap_offset;
};
static_assert(sizeof(MemoryRegion) == 32 && offsetof(MemoryRegion, memory_size) == 8 &&
              offsetof(MemoryRegion, userspace_addr) == 16 && offsetof(MemoryRegion, mmap_offset) == 24);

// "Memory regions description": on the wire only the first num_regions
// entries are sent (size = 8 + 32 * num_regions), as QEMU and DPDK do.
struct MemoryTable {
  uint32_t num_regions;
  uint32_t padding;
  MemoryRegion regions[kMaxMemoryRegions];
};
inline constexpr std::size_t kMemoryTableHeaderSize = 8;
static_assert(offsetof(MemoryTable, regions) == kMemoryTableHeaderSize && sizeof(MemoryTable) == 8 + 8 * 32);

struct SingleMemoryRegion {  // "Single memory region description" (ADD/REM_MEM_REG)
  uint64_t padding;
  MemoryRegion region;
};
static_assert(sizeof(SingleMemoryRegion) == 40 && offsetof(SingleMemoryRegion, region) == 8);

struct LogDescription {  // "Log description" (SET_LOG_BASE with LOG_SHMFD)
  uint64_t size;
  uint64_t offset;
};
static_assert(sizeof(LogDescription) == 16);

struct IotlbMessage {  // "An IOTLB message" (struct vhost_iotlb_msg, padded to 8)
  uint64_t iova;
  uint64_t size;
  uint64_t user_addr;
  uint8_t permissions;  // 0 none, 1 read, 2 write, 3 read/write
  uint8_t type;         // 1 miss, 2 update, 3 invalidate, 4 access fail
  uint8_t padding[6];
};
static_assert(sizeof(IotlbMessage) == 32 && offsetof(IotlbMessage, permissions) == 24 &&
              offsetof(IotlbMessage, type) == 25);

struct ConfigSpaceHeader {  // "Virtio device config space", followed by `size` bytes
  uint32_t offset;
  uint32_t size;
  uint32_t flags;  // 0: writable fields, 1: live migration
};
static_assert(sizeof(ConfigSpaceHeader) == 12);

struct VringArea {  // "Vring area description" (BACKEND_VRING_HOST_NOTIFIER_MSG)
  uint64_t index_and_flags;  // bits 0-7 index, bit 8 "no fd"
  uint64_t size;
  uint64_t offset;
};
static_assert(sizeof(VringArea) == 24);

struct InflightDescription {  // "Inflight description" (padded to 8 like QEMU's struct)
  uint64_t mmap_size;
  uint64_t mmap_offset;
  uint16_t num_queues;
  uint16_t queue_size;
  uint8_t padding[4];
};
static_assert(sizeof(InflightDescription) == 24 && offsetof(InflightDescription, num_queues) == 16 &&
              offsetof(InflightDescription, queue_size) == 18);

struct DeviceStateTransfer {  // "device state transfer parameters" (SET_DEVICE_STATE_FD)
  uint32_t direction;  // 0 save, 1 load
  uint32_t phase;      // 0 stopped
};
static_assert(sizeof(DeviceStateTransfer) == 8);

struct SharedObject {  // struct VhostUserShared
  uint8_t uuid[16];
};
static_assert(sizeof(SharedObject) == 16);

// ---- What each request carries ----------------------------------------------
enum class PayloadType : uint8_t {
  none,
  u64,
  vring_state,
  vring_address,
  memory_table,   // 8 + 32 * n bytes, 1 <= n <= 8
  single_region,
  log,
  iotlb,
  config,         // 12 + header.size bytes, header.size <= 256
  vring_area,
  inflight,
  device_state,
  shared_object,
  opaque,         // crypto session descriptions: any size up to kMaxPayloadSize
};

enum class FdRule : uint8_t {
  none,           // no fds
  one,            // exactly one fd
  per_region,     // one fd per memory-table region
  unless_no_fd,   // one fd unless bit 8 of the payload's first u64 is set, then none
  optional_one,   // zero or one (REM_MEM_REG tolerance; replies that may carry one)
};

struct RequestSpec {
  const char* name;
  PayloadType request;
  FdRule request_fds;
  // Reply of the peer. Requests without an explicit reply are answered, if
  // REPLY_ACK's need_reply was set, with a u64 status and no fds.
  PayloadType reply;
  FdRule reply_fds;
};

// The spec's tables; nullopt for codes the spec does not define.
constexpr std::optional<RequestSpec> frontend_request_spec(uint32_t code) noexcept {
  using P = PayloadType;
  using F = FdRule;
  switch (code) {
    case 1: return RequestSpec{"GET_FEATURES", P::none, F::none, P::u64, F::none};
    case 2: return RequestSpec{"SET_FEATURES", P::u64, F::none, P::u64, F::none};
    case 3: return RequestSpec{"SET_OWNER", P::none, F::none, P::u64, F::none};
    case 4: return RequestSpec{"RESET_OWNER", P::none, F::none, P::u64, F::none};
    // The postcopy-only memory-table reply is not supported (we never offer PAGEFAULT).
    case 5: return RequestSpec{"SET_MEM_TABLE", P::memory_table, F::per_region, P::u64, F::none};
    // The spec's table says u64; the text, QEMU and DPDK send a log description + fd.
    case 6: return RequestSpec{"SET_LOG_BASE", P::log, F::one, P::u64, F::none};
    case 7: return RequestSpec{"SET_LOG_FD", P::none, F::one, P::u64, F::none};
    case 8: return RequestSpec{"SET_VRING_NUM", P::vring_state, F::none, P::u64, F::none};
    case 9: return RequestSpec{"SET_VRING_ADDR", P::vring_address, F::none, P::u64, F::none};
    case 10: return RequestSpec{"SET_VRING_BASE", P::vring_state, F::none, P::u64, F::none};
    case 11: return RequestSpec{"GET_VRING_BASE", P::vring_state, F::none, P::vring_state, F::none};
    case 12: return RequestSpec{"SET_VRING_KICK", P::u64, F::unless_no_fd, P::u64, F::none};
    case 13: return RequestSpec{"SET_VRING_CALL", P::u64, F::unless_no_fd, P::u64, F::none};
    case 14: return RequestSpec{"SET_VRING_ERR", P::u64, F::unless_no_fd, P::u64, F::none};
    case 15: return RequestSpec{"GET_PROTOCOL_FEATURES", P::none, F::none, P::u64, F::none};
    case 16: return RequestSpec{"SET_PROTOCOL_FEATURES", P::u64, F::none, P::u64, F::none};
    case 17: return RequestSpec{"GET_QUEUE_NUM", P::none, F::none, P::u64, F::none};
    case 18: return RequestSpec{"SET_VRING_ENABLE", P::vring_state, F::none, P::u64, F::none};
    case 19: return RequestSpec{"SEND_RARP", P::u64, F::none, P::u64, F::none};
    case 20: return RequestSpec{"NET_SET_MTU", P::u64, F::none, P::u64, F::none};
    case 21: return RequestSpec{"SET_BACKEND_REQ_FD", P::none, F::one, P::u64, F::none};
    case 22: return RequestSpec{"IOTLB_MSG", P::iotlb, F::none, P::u64, F::none};
    case 23: return RequestSpec{"SET_VRING_ENDIAN", P::vring_state, F::none, P::u64, F::none};
    case 24: return RequestSpec{"GET_CONFIG", P::config, F::none, P::config, F::none};
    case 25: return RequestSpec{"SET_CONFIG", P::config, F::none, P::u64, F::none};
    case 26: return RequestSpec{"CREATE_CRYPTO_SESSION", P::opaque, F::none, P::opaque, F::none};
    case 27: return RequestSpec{"CLOSE_CRYPTO_SESSION", P::u64, F::none, P::u64, F::none};
    case 28: return RequestSpec{"POSTCOPY_ADVISE", P::none, F::none, P::none, F::one};
    case 29: return RequestSpec{"POSTCOPY_LISTEN", P::none, F::none, P::u64, F::none};
    case 30: return RequestSpec{"POSTCOPY_END", P::none, F::none, P::u64, F::none};
    case 31: return RequestSpec{"GET_INFLIGHT_FD", P::inflight, F::none, P::inflight, F::one};
    case 32: return RequestSpec{"SET_INFLIGHT_FD", P::inflight, F::one, P::u64, F::none};
    case 33: return RequestSpec{"GPU_SET_SOCKET", P::none, F::one, P::u64, F::none};
    case 34: return RequestSpec{"RESET_DEVICE", P::none, F::none, P::u64, F::none};
    case 35: return RequestSpec{"VRING_KICK", P::vring_state, F::none, P::u64, F::none};
    case 36: return RequestSpec{"GET_MAX_MEM_SLOTS", P::none, F::none, P::u64, F::none};
    case 37: return RequestSpec{"ADD_MEM_REG", P::single_region, F::one, P::u64, F::none};
    case 38: return RequestSpec{"REM_MEM_REG", P::single_region, F::optional_one, P::u64, F::none};
    case 39: return RequestSpec{"SET_STATUS", P::u64, F::none, P::u64, F::none};
    case 40: return RequestSpec{"GET_STATUS", P::none, F::none, P::u64, F::none};
    case 41: return RequestSpec{"GET_SHARED_OBJECT", P::shared_object, F::none, P::u64, F::optional_one};
    case 42: return RequestSpec{"SET_DEVICE_STATE_FD", P::device_state, F::one, P::u64, F::unless_no_fd};
    case 43: return RequestSpec{"CHECK_DEVICE_STATE", P::none, F::none, P::u64, F::none};
    default: return std::nullopt;
  }
}

constexpr std::optional<RequestSpec> backend_request_spec(uint32_t code) noexcept {
  using P = PayloadType;
  using F = FdRule;
  switch (code) {
    case 1: return RequestSpec{"BACKEND_IOTLB_MSG", P::iotlb, F::none, P::u64, F::none};
    case 2: return RequestSpec{"BACKEND_CONFIG_CHANGE_MSG", P::none, F::none, P::u64, F::none};
    case 3: return RequestSpec{"BACKEND_VRING_HOST_NOTIFIER_MSG", P::vring_area, F::unless_no_fd, P::u64, F::none};
    case 4: return RequestSpec{"BACKEND_VRING_CALL", P::vring_state, F::none, P::u64, F::none};
    case 5: return RequestSpec{"BACKEND_VRING_ERR", P::vring_state, F::none, P::u64, F::none};
    case 6: return RequestSpec{"BACKEND_SHARED_OBJECT_ADD", P::shared_object, F::none, P::u64, F::none};
    case 7: return RequestSpec{"BACKEND_SHARED_OBJECT_REMOVE", P::shared_object, F::none, P::u64, F::none};
    case 8: return RequestSpec{"BACKEND_SHARED_OBJECT_LOOKUP", P::shared_object, F::none, P::u64, F::optional_one};
    default: return std::nullopt;
  }
}

}  // namespace nfv::vhost_user
