// vhost-user socket transport: AF_UNIX stream sockets with SCM_RIGHTS fds.
//
// Source: QEMU docs/interop/vhost-user.rst, "Introduction" (messages on a Unix
// domain socket, fds in the ancillary data), "Communication" (which messages
// carry fds; a front-end that cannot send a full message or gets a wrong
// reply closes the connection) and "Back-end communication" (at most 8 fds per
// message).
//
// UnixChannel owns one connected socket:
//   - send() writes header + payload; the fds ride on the first sendmsg(), so
//     they are attached to the message's first byte, as the spec recommends.
//     Outgoing messages are validated first: we never send a malformed one.
//   - receive() reads exactly one message: the 12-byte header (checked before
//     any payload is read), then `size` payload bytes, however the peer split
//     its writes. Fds are received with MSG_CMSG_CLOEXEC and owned at once; more
//     than 8 fds, or a truncated control message, is a protocol error and all of
//     them are closed. Every wait is a poll() bounded by the caller's timeout.
//   - EOF or ECONNRESET -> Errc::disconnected (callers may reconnect).
//   - After an error that leaves the byte stream out of step (a bad header, a
//     timeout or hang-up mid-message, a partial send) the channel is broken:
//     later calls fail with Errc::disconnected and the owner must reconnect.
//
// UnixListener binds/listens/accepts (server mode); connect_unix() connects
// (client mode), retrying while the socket does not exist yet or refuses.
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <utility>

#include "nfv/result.hpp"
#include "nfv/vhost_user/message.hpp"

namespace nfv::vhost_user {

inline constexpr std::chrono::milliseconds kDefaultSendTimeout{5000};

class UnixChannel {
 public:
  // Takes a connected AF_UNIX stream socket and makes it non-blocking.
  explicit UnixChannel(UniqueFd socket);

  // Sends `msg` with `fds` (borrowed: the caller keeps its descriptors).
  // Errc::invalid_argument if msg/fds break the spec, Errc::timeout if the
  // peer does not drain the socket in time, Errc::disconnected if it is gone.
  Status send(const Message& msg, std::span<const int> fds = {},
              std::chrono::milliseconds timeout = kDefaultSendTimeout);

  // Receives one message of `kind`, waiting at most `timeout` in total.
  Result<Message> receive(MessageKind kind, std::chrono::milliseconds timeout);

  int fd() const noexcept { return socket_.get(); }
  bool broken() const noexcept { return broken_; }

 private:
  // Reads exactly n bytes (fds appended to `fds`); `got` says how far it came.
  Status read_exact(uint8_t* buf, std::size_t n, std::chrono::steady_clock::time_point deadline,
                    std::vector<UniqueFd>& fds, std::size_t already_read, std::size_t total, std::size_t& got);

  UniqueFd socket_;
  bool broken_ = false;
};

// A connected pair (socketpair), e.g. for the SET_BACKEND_REQ_FD channel whose
// second end is sent to the back-end, or for tests.
Result<std::pair<UnixChannel, UnixChannel>> unix_channel_pair();

// Connects to `path`, retrying every 10 ms while it is missing or refusing
// (a back-end still starting) until `timeout`; then Errc::timeout.
Result<UnixChannel> connect_unix(const std::string& path, std::chrono::milliseconds timeout);

class UnixListener {
 public:
  // Binds and listens on `path`. A stale socket file (nobody listening) is
  // replaced; a live one gives Errc::already_exists.
  static Result<UnixListener> listen(const std::string& path);

  UnixListener(UnixListener&& o) noexcept : socket_(std::move(o.socket_)), path_(std::exchange(o.path_, {})) {}
  UnixListener& operator=(UnixListener&&) = delete;
  ~UnixListener();  // closes and unlinks the socket file

  // Waits at most `timeout` for one connection.
  Result<UnixChannel> accept(std::chrono::milliseconds timeout);

  const std::string& path() const noexcept { return path_; }
  int fd() const noexcept { return socket_.get(); }

 private:
  UnixListener(UniqueFd s, std::string path) : socket_(std::move(s)), path_(std::move(path)) {}
  UniqueFd socket_;
  std::string path_;
};

}  // namespace nfv::vhost_user
