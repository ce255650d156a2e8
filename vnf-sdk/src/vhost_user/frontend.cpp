// VhostUserFrontend: the front-end handshake (see frontend.hpp for the sequence).
//
// Every error names the step ("vhost-user SET_VRING_ADDR: ...") and, where the
// caller can do something, says what. Any failure after a request went on the
// wire poisons the front-end (failed_): a late answer to the failed request
// would otherwise be read as the answer to the next one. Caller mistakes that
// are caught before anything is sent (invalid_argument, unsupported) do not.
#include "nfv/vhost_user/frontend.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <bit>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace nfv::vhost_user {

namespace {

// virtio 1.2 2.7 "Split Virtqueues": Queue Size is a power of two up to 32768;
// descriptor table aligned to 16, available ring to 2, used ring to 4.
constexpr uint32_t kMaxRingSize = 32768;
// virtio 1.2 5.1.4: max_virtqueue_pairs is a le16, so no device has more.
constexpr uint64_t kMaxQueuePairs = 0xffff;

const char* step_name(FrontendRequest code) noexcept {
  auto s = frontend_request_spec(static_cast<uint32_t>(code));
  return s ? s->name : "unknown";
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

Error step_error(FrontendRequest code, Errc errc, const std::string& what) {
  return make_error(errc, std::string("vhost-user ") + step_name(code) + ": " + what);
}

// The channel and codec start their messages with "vhost-user: "; we replace
// that prefix by one naming the step.
// send() refusing a malformed message says "refusing to send: vhost-user: ...".
std::string detail(const std::string& m) {
  for (std::string_view p : {"refusing to send: vhost-user: ", "vhost-user: "}) {
    if (m.starts_with(p)) return m.substr(p.size());
  }
  return m;
}

// Restates a channel error in terms of the step that failed. `sending`: the
// error came from send() rather than receive().
Error step_failure(FrontendRequest code, const Error& e, bool sending, std::chrono::milliseconds timeout) {
  const std::string ms = std::to_string(timeout.count()) + " ms";
  const std::string d = detail(e.message);
  switch (e.code) {
    case Errc::timeout:
      if (sending)
        return step_error(code, Errc::timeout,
                          "back-end did not take the request within " + ms + " (its socket stays full); it is stuck: "
                          "close the connection and reconnect");
      // The channel says more only when an answer stalled half-way.
      return step_error(code, Errc::timeout,
                        "no answer within " + ms + (d.starts_with("no message") ? "" : " (" + d + ")") +
                            "; the back-end is stuck or ignores this request: close the connection and reconnect");
    case Errc::disconnected:
      return step_error(code, Errc::disconnected,
                        "back-end closed the connection" +
                            (d == "peer closed the connection" ? std::string() : " (" + d + ")") + "; reconnect");
    case Errc::protocol:
      return step_error(code, Errc::protocol,
                        "malformed answer: " + d + "; the back-end broke the protocol: reconnect");
    default:
      return step_error(code, e.code, d);
  }
}

Status check_ring_index(FrontendRequest code, uint32_t index) {
  // SET_VRING_KICK/CALL carry the index in bits 0-7 of a u64 (bit 8 is NOFD).
  if (index > kVringIndexMask)
    return step_error(code, Errc::invalid_argument,
                      "ring index " + std::to_string(index) + " is out of range; vhost-user addresses rings 0..255");
  return {};
}

}  // namespace

Error VhostUserFrontend::fail(Error e) {
  failed_ = true;
  return e;
}

Status VhostUserFrontend::usable(FrontendRequest code) const {
  if (failed_ || channel_.broken() || channel_.fd() < 0)
    return step_error(code, Errc::disconnected,
                      "not sent: an earlier request on this connection failed and the back-end's state is unknown; "
                      "close this front-end and reconnect");
  return {};
}

Result<Message> VhostUserFrontend::receive_reply(FrontendRequest code) {
  auto r = channel_.receive(MessageKind::reply, options_.reply_timeout);
  if (!r) return fail(step_failure(code, r.error(), false, options_.reply_timeout));
  if (r->code() != static_cast<uint32_t>(code))
    return fail(step_error(code, Errc::protocol,
                           std::string("back-end answered with a ") + r->name() + " reply (code " +
                               std::to_string(r->code()) + "); the stream is out of step: reconnect"));
  return r;
}

Status VhostUserFrontend::send_acked(FrontendRequest code, Message msg, std::span<const int> fds) {
  if (auto s = usable(code); !s) return s;
  const bool ack = has(ProtocolFeature::reply_ack);
  msg.set_need_reply(ack);
  if (auto s = channel_.send(msg, fds, options_.reply_timeout); !s) {
    // invalid_argument: send() refused the message before writing anything.
    Error e = step_failure(code, s.error(), true, options_.reply_timeout);
    return e.code == Errc::invalid_argument ? std::move(e) : fail(std::move(e));
  }
  if (!ack) return {};
  auto r = receive_reply(code);
  if (!r) return std::move(r).error();
  auto v = r->u64();  // decode() checked the reply is a u64; still, never trust
  if (!v) return fail(step_failure(code, v.error(), false, options_.reply_timeout));
  if (*v != 0)
    return fail(step_error(code, Errc::protocol,
                           "back-end answered " + std::to_string(*v) +
                               " (failure); its log says why: fix that, then reconnect"));
  return {};
}

Result<Message> VhostUserFrontend::call(FrontendRequest code, const Message& msg) {
  if (auto s = usable(code); !s) return std::move(s).error();
  if (auto s = channel_.send(msg, {}, options_.reply_timeout); !s) {
    Error e = step_failure(code, s.error(), true, options_.reply_timeout);
    return e.code == Errc::invalid_argument ? std::move(e) : fail(std::move(e));
  }
  return receive_reply(code);
}

Result<uint64_t> VhostUserFrontend::call_u64(FrontendRequest code) {
  auto r = call(code, Message::request(code));
  if (!r) return std::move(r).error();
  auto v = r->u64();
  if (!v) return fail(step_failure(code, v.error(), false, options_.reply_timeout));
  return *v;
}

Result<VhostUserFrontend> VhostUserFrontend::start(UnixChannel channel, const FrontendOptions& options) {
  using R = FrontendRequest;
  VhostUserFrontend fe(std::move(channel), options);
  if (auto s = fe.send_acked(R::set_owner, Message::request(R::set_owner)); !s) return std::move(s).error();
  auto features = fe.call_u64(R::get_features);
  if (!features) return std::move(features).error();
  fe.device_features_ = *features;
  if ((fe.device_features_ & kFeatureProtocolFeatures) == 0) return fe;

  auto offered = fe.call_u64(R::get_protocol_features);
  if (!offered) return std::move(offered).error();
  const uint64_t negotiated = options.protocol_features & *offered;
  // Sent before protocol_features_ is set, so without need_reply: REPLY_ACK is
  // not in force until the back-end has processed this very message.
  if (auto s = fe.send_acked(R::set_protocol_features, Message::request(R::set_protocol_features, negotiated)); !s)
    return std::move(s).error();
  fe.protocol_features_ = negotiated;

  if (fe.has(ProtocolFeature::mq)) {
    auto pairs = fe.call_u64(R::get_queue_num);
    if (!pairs) return std::move(pairs).error();
    if (*pairs == 0 || *pairs > kMaxQueuePairs)
      return step_error(R::get_queue_num, Errc::protocol,
                        "back-end reports " + std::to_string(*pairs) +
                            " queue pairs; a device has 1..65535: the back-end is broken, reconnect");
    fe.max_queue_pairs_ = static_cast<uint32_t>(*pairs);
  }
  return fe;
}

Status VhostUserFrontend::set_features(uint64_t features) {
  using R = FrontendRequest;
  if (const uint64_t extra = features & ~device_features_; extra != 0)
    return step_error(R::set_features, Errc::invalid_argument,
                      "feature bits " + hex(extra) + " were not offered (the back-end offers " + hex(device_features_) +
                          "); ask only for a subset of device_features()");
  // VHOST_USER_F_PROTOCOL_FEATURES is a vhost-user bit, not a device feature:
  // acking it keeps protocol features (and SET_VRING_ENABLE) in force.
  const uint64_t wire = features | (device_features_ & kFeatureProtocolFeatures);
  if (auto s = send_acked(R::set_features, Message::request(R::set_features, wire)); !s) return s;
  acked_features_ = features & ~kFeatureProtocolFeatures;
  return {};
}

Status VhostUserFrontend::set_mem_table(std::span<const SharedMemory> regions) {
  using R = FrontendRequest;
  if (regions.empty() || regions.size() > kMaxMemoryRegions)
    return step_error(R::set_mem_table, Errc::invalid_argument,
                      std::to_string(regions.size()) + " regions given; the table holds 1..8 (merge adjacent ones)");
  MemoryRegion table[kMaxMemoryRegions];
  int fds[kMaxMemoryRegions];
  for (std::size_t i = 0; i < regions.size(); ++i) {
    if (regions[i].fd < 0)
      return step_error(R::set_mem_table, Errc::invalid_argument,
                        "region " + std::to_string(i) +
                            " has no fd; every region must be shareable memory (memfd, hugetlbfs file)");
    table[i] = regions[i].region;
    fds[i] = regions[i].fd;
  }
  // Sizes, wrap-around and overlaps are checked by send() (Message::validate).
  return send_acked(R::set_mem_table, Message::memory_table({table, regions.size()}), {fds, regions.size()});
}

Status VhostUserFrontend::setup_vring(const VringSetup& ring) {
  using R = FrontendRequest;
  // Check everything before sending anything: a half-configured ring cannot be undone.
  if (auto s = check_ring_index(R::set_vring_num, ring.index); !s) return s;
  if (ring.size == 0 || ring.size > kMaxRingSize || !std::has_single_bit(ring.size))
    return step_error(R::set_vring_num, Errc::invalid_argument,
                      "ring size " + std::to_string(ring.size) + " is not a power of two in 1..32768 (virtio 1.2 2.7)");
  if (ring.desc_addr % 16 != 0 || ring.avail_addr % 2 != 0 || ring.used_addr % 4 != 0)
    return step_error(R::set_vring_addr, Errc::invalid_argument,
                      "ring " + std::to_string(ring.index) + " areas misaligned (desc " + hex(ring.desc_addr) +
                          ", avail " + hex(ring.avail_addr) + ", used " + hex(ring.used_addr) +
                          "); virtio 1.2 2.7 wants 16, 2 and 4 byte alignment");

  const auto fd_u64 = [&](int fd) { return uint64_t{ring.index} | (fd < 0 ? kVringNoFdFlag : 0); };
  const auto fd_span = [](const int& fd) { return fd < 0 ? std::span<const int>{} : std::span<const int>{&fd, 1}; };

  if (auto s = send_acked(R::set_vring_call, Message::request(R::set_vring_call, fd_u64(ring.call_fd)),
                          fd_span(ring.call_fd));
      !s)
    return s;
  if (auto s = send_acked(R::set_vring_num, Message::request(R::set_vring_num, VringState{ring.index, ring.size}));
      !s)
    return s;
  if (auto s = send_acked(R::set_vring_base, Message::request(R::set_vring_base, VringState{ring.index, ring.base}));
      !s)
    return s;
  const VringAddress addr{ring.index, 0, ring.desc_addr, ring.used_addr, ring.avail_addr, 0};
  if (auto s = send_acked(R::set_vring_addr, Message::request(R::set_vring_addr, addr)); !s) return s;
  return send_acked(R::set_vring_kick, Message::request(R::set_vring_kick, fd_u64(ring.kick_fd)),
                    fd_span(ring.kick_fd));
}

Status VhostUserFrontend::enable_vring(uint32_t index, bool enable) {
  using R = FrontendRequest;
  if (auto s = check_ring_index(R::set_vring_enable, index); !s) return s;
  // Without VHOST_USER_F_PROTOCOL_FEATURES rings are enabled by SET_VRING_KICK
  // and SET_VRING_ENABLE must not be sent (spec: "Ring states").
  if ((device_features_ & kFeatureProtocolFeatures) == 0) return usable(R::set_vring_enable);
  return send_acked(R::set_vring_enable, Message::request(R::set_vring_enable, VringState{index, enable ? 1u : 0u}));
}

Result<uint16_t> VhostUserFrontend::stop_vring(uint32_t index) {
  using R = FrontendRequest;
  if (auto s = check_ring_index(R::get_vring_base, index); !s) return std::move(s).error();
  auto r = call(R::get_vring_base, Message::request(R::get_vring_base, VringState{index, 0}));
  if (!r) return std::move(r).error();
  auto st = r->as<VringState>();
  if (!st) return fail(step_failure(R::get_vring_base, st.error(), false, options_.reply_timeout));
  if (st->index != index)
    return fail(step_error(R::get_vring_base, Errc::protocol,
                           "asked for ring " + std::to_string(index) + ", back-end answered for ring " +
                               std::to_string(st->index) + "; the stream is out of step: reconnect"));
  if (st->num > 0xffff)
    return fail(step_error(R::get_vring_base, Errc::protocol,
                           "back-end reports avail index " + std::to_string(st->num) +
                               ", a split ring's index is 16 bits: the back-end is broken, reconnect"));
  return static_cast<uint16_t>(st->num);
}

Result<std::vector<uint8_t>> VhostUserFrontend::get_config(uint32_t offset, uint32_t size) {
  using R = FrontendRequest;
  if (!has(ProtocolFeature::config))
    return step_error(R::get_config, Errc::unsupported,
                      "the CONFIG protocol feature (bit 9) was not negotiated; put it in "
                      "FrontendOptions::protocol_features, or use a back-end that offers it");
  if (size == 0 || size > kMaxConfigSize || offset > kMaxConfigSize - size)
    return step_error(R::get_config, Errc::invalid_argument,
                      std::to_string(size) + " bytes at offset " + std::to_string(offset) +
                          " do not fit the 256-byte config space (size must be 1..256)");
  const std::vector<uint8_t> zeros(size);
  auto r = call(R::get_config, Message::config(MessageKind::request, R::get_config, offset, 0, zeros));
  if (!r) return std::move(r).error();
  // Spec: "the back-end uses zero length of payload to indicate an error".
  if (r->payload().empty())
    return fail(step_error(R::get_config, Errc::protocol,
                           "back-end could not read its config space (empty answer); its log says why"));
  auto cs = r->config_space();
  if (!cs) return fail(step_failure(R::get_config, cs.error(), false, options_.reply_timeout));
  if (cs->first.offset != offset || cs->first.size != size)
    return fail(step_error(R::get_config, Errc::protocol,
                           "asked for " + std::to_string(size) + " bytes at " + std::to_string(offset) +
                               ", back-end answered " + std::to_string(cs->first.size) + " bytes at " +
                               std::to_string(cs->first.offset) + ": the back-end is broken, reconnect"));
  return std::move(cs->second);
}

Status VhostUserFrontend::check_alive() {
  const auto gone = [](const std::string& why) {
    return make_error(Errc::disconnected, "vhost-user: " + why + "; reconnect");
  };
  if (failed_ || channel_.broken()) return gone("an earlier request on this connection failed");
  if (channel_.fd() < 0) return gone("this front-end has no socket (moved from)");
  pollfd p{channel_.fd(), POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return make_error(Errc::io, std::string("vhost-user: poll: ") + std::strerror(errno));
  if (r == 0) return {};
  if (p.revents & POLLNVAL) return fail(gone("the socket is closed"));
  uint8_t head[kHeaderSize];
  const ssize_t n = ::recv(channel_.fd(), head, sizeof head, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return fail(gone("back-end closed the connection"));
  if (n < 0) {
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) return {};  // spurious wake-up
    if (err == ECONNRESET) return fail(gone("back-end reset the connection"));
    return fail(make_error(Errc::io, std::string("vhost-user: checking the socket: ") + std::strerror(err)));
  }
  std::string what = "back-end sent " + std::to_string(n) + "+ bytes nobody asked for";
  if (static_cast<std::size_t>(n) >= sizeof(uint32_t)) {
    uint32_t code;
    std::memcpy(&code, head, sizeof code);  // the header's first u32 is the request code
    const auto spec = frontend_request_spec(code);
    what += std::string(" (a message with code ") + std::to_string(code) + (spec ? std::string(", ") + spec->name : "") + ")";
  }
  return fail(make_error(Errc::protocol, "vhost-user: " + what +
                                             "; the main socket only carries answers, the back-end broke the "
                                             "protocol: reconnect"));
}

}  // namespace nfv::vhost_user
