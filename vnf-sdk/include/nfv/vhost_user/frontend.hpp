// VhostUserFrontend: the front-end ("master") side of a vhost-user connection.
//
// Source: QEMU docs/interop/vhost-user.rst, "Starting and stopping rings",
// "Multiple queue support", "Memory access", "REPLY_ACK" and the front-end
// message table. Order of the handshake as QEMU, DPDK virtio_user and
// cloud-hypervisor's vu_common_ctrl do it: one straight sequence, every step
// with its own error ("vhost-user SET_MEM_TABLE: back-end answered 1 (failure)").
//
// Two callers use it with different memory:
//   - the SDK's vhost-user port (host process mode): one memfd region holding
//     rings and packet buffers; guest_phys_addr = the region's driver base,
//     userspace_addr = where this process mapped it;
//   - the VMM: guest RAM (memfd regions); guest_phys_addr = GPA, userspace_addr
//     = where the VMM mapped it; ring addresses come from the guest (GPA) and
//     the VMM converts them to its own addresses before setup_vring().
// Ring addresses in VringSetup are therefore always in the front-end's address
// space (the space of MemoryRegion::userspace_addr), as SET_VRING_ADDR wants.
//
// Sequence:
//   start():        SET_OWNER, GET_FEATURES, [GET_PROTOCOL_FEATURES,
//                   SET_PROTOCOL_FEATURES (ours & theirs)], [GET_QUEUE_NUM if MQ]
//   set_features(): SET_FEATURES (plus VHOST_USER_F_PROTOCOL_FEATURES when the
//                   back-end offered it)
//   set_mem_table():SET_MEM_TABLE, one fd per region
//   setup_vring():  SET_VRING_CALL, SET_VRING_NUM, SET_VRING_BASE,
//                   SET_VRING_ADDR, SET_VRING_KICK (DPDK's virtio_user order;
//                   DPDK's back-end marks a ring ready once it has all of them)
//   enable_vring(): SET_VRING_ENABLE (only when protocol features were
//                   negotiated; without them rings start enabled on KICK)
//   stop_vring():   GET_VRING_BASE (the back-end stops the ring and reports
//                   the next avail index it would have read)
// With REPLY_ACK negotiated every request that has no reply of its own is sent
// with need_reply and the u64 answer is checked (0 = success). SET_OWNER and
// SET_PROTOCOL_FEATURES go out before REPLY_ACK is in force, so without it.
//
// Errors: Errc::disconnected when the back-end closed the socket (the caller
// reconnects), Errc::timeout when it did not answer within reply_timeout,
// Errc::protocol for a wrong, malformed or negative answer, Errc::unsupported
// when the back-end lacks something required (VERSION_1, GET_CONFIG...),
// Errc::invalid_argument for a caller mistake (feature not offered, too many
// regions, ring size not a power of two, misaligned ring areas, ring index
// above 255). A front-end whose request failed is not reused: the caller
// closes it and reconnects (vhost-user has no way to resynchronise a half-done
// step). This is enforced: once a request failed after going on the wire,
// every later one returns Errc::disconnected without being sent, so a late
// answer is never taken for another request's. Caller mistakes caught before
// sending (invalid_argument, unsupported) leave the front-end usable.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "nfv/result.hpp"
#include "nfv/vhost_user/channel.hpp"
#include "nfv/vhost_user/protocol.hpp"

namespace nfv::vhost_user {

struct FrontendOptions {
  // Protocol features we would use; the negotiated set is this & the back-end's offer.
  uint64_t protocol_features = bit(ProtocolFeature::mq) | bit(ProtocolFeature::reply_ack);
  // How long to wait for each answer.
  std::chrono::milliseconds reply_timeout{2000};
};

// One region of the memory table and the fd that maps it (borrowed: the
// caller keeps it open for as long as the back-end may map it).
struct SharedMemory {
  MemoryRegion region;
  int fd;
};

struct VringSetup {
  uint32_t index = 0;  // ring number: 2*qp for rx (receiveq), 2*qp+1 for tx (transmitq)
  uint32_t size = 0;   // power of two, 1..32768
  // Front-end addresses (MemoryRegion::userspace_addr space) of the three areas.
  uint64_t desc_addr = 0;
  uint64_t avail_addr = 0;
  uint64_t used_addr = 0;
  uint16_t base = 0;   // avail index the back-end starts reading at
  int kick_fd = -1;    // eventfd the front-end writes to notify the back-end; -1: none (NOFD)
  int call_fd = -1;    // eventfd the back-end writes to interrupt us; -1: none (NOFD)
};

class VhostUserFrontend {
 public:
  // Steps SET_OWNER .. GET_QUEUE_NUM over a connected channel.
  static Result<VhostUserFrontend> start(UnixChannel channel, const FrontendOptions& options = {});

  VhostUserFrontend(VhostUserFrontend&&) noexcept = default;
  VhostUserFrontend& operator=(VhostUserFrontend&&) noexcept = default;

  // What the back-end offered (GET_FEATURES), incl. VHOST_USER_F_PROTOCOL_FEATURES.
  uint64_t device_features() const noexcept { return device_features_; }
  // Negotiated protocol features (0 when the back-end offers none).
  uint64_t protocol_features() const noexcept { return protocol_features_; }
  bool has(ProtocolFeature f) const noexcept { return (protocol_features_ & bit(f)) != 0; }
  // GET_QUEUE_NUM's answer (queue pairs the back-end supports), 1 without MQ.
  uint32_t max_queue_pairs() const noexcept { return max_queue_pairs_; }

  // `features` must be a subset of device_features() (invalid_argument otherwise).
  Status set_features(uint64_t features);
  // The features last set (without the PROTOCOL_FEATURES bit).
  uint64_t acked_features() const noexcept { return acked_features_; }
  // 1..8 regions (invalid_argument otherwise).
  Status set_mem_table(std::span<const SharedMemory> regions);
  Status setup_vring(const VringSetup& ring);
  Status enable_vring(uint32_t index, bool enable);
  // GET_VRING_BASE: stops the ring; returns the back-end's next avail index.
  Result<uint16_t> stop_vring(uint32_t index);
  // GET_CONFIG (needs ProtocolFeature::config, else unsupported): `size` bytes at `offset`.
  Result<std::vector<uint8_t>> get_config(uint32_t offset, uint32_t size);

  // The back-end never writes to the main socket unprompted: readable means it
  // closed the connection (disconnected) or broke the protocol. Non-blocking.
  Status check_alive();

  int fd() const noexcept { return channel_.fd(); }

 private:
  explicit VhostUserFrontend(UnixChannel channel, const FrontendOptions& options)
      : channel_(std::move(channel)), options_(options) {}
  // Sends a request that has no reply of its own; waits for the REPLY_ACK
  // answer when negotiated.
  Status send_acked(FrontendRequest code, Message msg, std::span<const int> fds = {});
  // Sends a request and receives its reply (GET_*).
  Result<Message> call(FrontendRequest code, const Message& msg);
  // call() for a request without payload whose reply is a u64.
  Result<uint64_t> call_u64(FrontendRequest code);
  // Receives one reply and checks it answers `code`.
  Result<Message> receive_reply(FrontendRequest code);
  // Errc::disconnected once a request has failed (see failed_).
  Status usable(FrontendRequest code) const;
  // Marks the front-end failed and passes `e` through.
  Error fail(Error e);

  UnixChannel channel_;
  FrontendOptions options_;
  uint64_t device_features_ = 0;
  uint64_t protocol_features_ = 0;
  uint64_t acked_features_ = 0;
  uint32_t max_queue_pairs_ = 1;
  // Set once a request failed after going on the wire: a late answer to it
  // would be taken for the next request's, so every later request is refused.
  bool failed_ = false;
};

}  // namespace nfv::vhost_user
