// vhost-user message codec: one message = 12-byte header + payload + fds.
//
// Source: QEMU docs/interop/vhost-user.rst, "Message Specification" and
// "Communication"; the per-request rules are the table in protocol.hpp.
//
// Everything received from a peer is hostile. Message::decode() accepts a
// message only if all of these hold, and otherwise returns Errc::protocol with
// a message naming the rule ("vhost-user: ..."):
//   - version bits are 1 and no undefined flag bit is set;
//   - the request code is defined for that stream (front-end requests and
//     back-end requests are different code spaces);
//   - the reply bit is set on replies and clear on requests; replies carry no
//     need_reply bit;
//   - size <= kMaxPayloadSize, the byte count matches the header, and the
//     payload size matches the request's payload type;
//   - memory tables hold 1..8 regions, each non-empty, with no address range
//     that wraps 2^64 and no two guest-physical ranges overlapping;
//   - config accesses are at most 256 bytes; vring u64s set no bit above 8;
//   - the fd count matches the request's fd rule, and is at most 8.
// The fds of a rejected message are closed (they are owned by UniqueFd from
// the moment they are received), never leaked.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "nfv/result.hpp"
#include "nfv/vhost_user/protocol.hpp"

namespace nfv::vhost_user {

// Owns one file descriptor; closes it on destruction. (Small enough to live
// here; move it to nfv/unique_fd.hpp once a second component needs it.)
class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

// Which stream a message travels on; decides the code space and reply rules.
enum class MessageKind : uint8_t {
  request,          // front-end -> back-end, main socket
  reply,            // back-end -> front-end, main socket (reply bit set)
  backend_request,  // back-end -> front-end, SET_BACKEND_REQ_FD socket
  backend_reply,    // front-end -> back-end, SET_BACKEND_REQ_FD socket (reply bit set)
};

struct Header {
  uint32_t request;
  uint32_t flags;
  uint32_t size;  // payload bytes that follow
};
static_assert(sizeof(Header) == kHeaderSize);

// Payloads that travel as one fixed-size blob: the protocol.hpp structs and
// u64. Other integers are excluded so that request(code, 5) cannot send 4 bytes.
template <typename T>
concept FixedPayload = std::is_trivially_copyable_v<T> && std::is_standard_layout_v<T> &&
                       (std::is_class_v<T> || std::is_same_v<T, uint64_t>);

class Message {
 public:
  // ---- Building messages to send ----
  // Header flags: version 1, plus the reply bit for reply kinds.
  Message(MessageKind kind, uint32_t code, std::vector<uint8_t> payload = {});

  static Message request(FrontendRequest code) { return Message(MessageKind::request, raw(code)); }
  template <FixedPayload T>
  static Message request(FrontendRequest code, const T& p) {
    return Message(MessageKind::request, raw(code), bytes_of(p));
  }
  template <FixedPayload T>
  static Message reply(FrontendRequest code, const T& p) {
    return Message(MessageKind::reply, raw(code), bytes_of(p));
  }
  template <FixedPayload T>
  static Message backend_request(BackendRequest code, const T& p) {
    return Message(MessageKind::backend_request, raw(code), bytes_of(p));
  }
  // SET_MEM_TABLE: sends only the given regions (8 + 32 * n bytes).
  static Message memory_table(std::span<const MemoryRegion> regions);
  // GET_CONFIG / SET_CONFIG: header + `data` (header.size is set from data).
  static Message config(MessageKind kind, FrontendRequest code, uint32_t offset, uint32_t flags,
                        std::span<const uint8_t> data);

  Message& set_need_reply(bool on = true) noexcept;

  // ---- Receiving ----
  // Checks a header alone (version, flags, code, reply bit, size bound), so a
  // reader can refuse a bad message before reading its payload.
  static Status check_header(MessageKind kind, const Header& h);
  // Decodes `bytes` (header + payload, nothing more) with the fds that came
  // with it. On error every fd in `fds` is closed.
  static Result<Message> decode(MessageKind kind, std::span<const uint8_t> bytes, std::vector<UniqueFd> fds);
  static Header parse_header(std::span<const uint8_t, kHeaderSize> bytes) noexcept;

  // Full validation against the spec with `fd_count` fds (decode runs it; send
  // runs it on outgoing messages so we never put a malformed one on the wire).
  Status validate(std::size_t fd_count) const;

  // ---- Access ----
  MessageKind kind() const noexcept { return kind_; }
  const Header& header() const noexcept { return header_; }
  uint32_t code() const noexcept { return header_.request; }
  bool need_reply() const noexcept { return (header_.flags & kFlagNeedReply) != 0; }
  std::span<const uint8_t> payload() const noexcept { return payload_; }
  std::span<const UniqueFd> fds() const noexcept { return fds_; }
  std::vector<UniqueFd> take_fds() noexcept { return std::exchange(fds_, {}); }
  const char* name() const noexcept;  // "SET_MEM_TABLE", or "unknown"

  // The payload as T; Errc::protocol if its size is not sizeof(T).
  template <FixedPayload T>
  Result<T> as() const {
    if (payload_.size() != sizeof(T)) return size_mismatch(sizeof(T));
    T v;
    std::memcpy(&v, payload_.data(), sizeof(T));  // bytes -> trivially copyable T: no aliasing, any alignment
    return v;
  }
  Result<uint64_t> u64() const { return as<uint64_t>(); }
  // Regions of a memory-table payload (already validated by decode()).
  Result<std::vector<MemoryRegion>> memory_regions() const;
  // Config-space access: header and the `size` bytes after it.
  Result<std::pair<ConfigSpaceHeader, std::vector<uint8_t>>> config_space() const;

  // Header + payload, ready for the wire (the fds travel separately).
  std::vector<uint8_t> encode() const;

 private:
  template <typename E>
  static constexpr uint32_t raw(E e) noexcept { return static_cast<uint32_t>(e); }
  template <typename T>
  static std::vector<uint8_t> bytes_of(const T& p) {
    std::vector<uint8_t> b(sizeof(T));
    std::memcpy(b.data(), &p, sizeof(T));
    return b;
  }
  Error size_mismatch(std::size_t want) const;

  MessageKind kind_;
  Header header_{};
  std::vector<uint8_t> payload_;
  std::vector<UniqueFd> fds_;
};

const char* message_kind_name(MessageKind k) noexcept;

}  // namespace nfv::vhost_user
