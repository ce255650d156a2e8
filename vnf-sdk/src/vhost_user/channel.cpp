// vhost-user socket transport (see channel.hpp).
#include "nfv/vhost_user/channel.hpp"

#include "nfv/unix_socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <thread>

namespace nfv::vhost_user {

namespace {

using Clock = std::chrono::steady_clock;

// Room for more than kMaxFds so that "too many" is seen as a count, not only
// as MSG_CTRUNC (the kernel closes whatever does not fit in this buffer).
constexpr std::size_t kFdRoom = 32;

Error sys_error(Errc code, const std::string& what, int err) {
  return make_error(code, "vhost-user: " + what + ": " + std::strerror(err));
}

Error broken_error() {
  return make_error(Errc::disconnected,
                    "vhost-user: channel closed after an earlier error left the stream out of step; reconnect");
}

// Milliseconds left until `deadline`, rounded up, for poll(); 0 if past.
int poll_ms(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

// Waits for `events` on fd until deadline: 1 ready, 0 timed out, -1 error (errno).
int wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, poll_ms(deadline));
    if (r < 0 && errno == EINTR) continue;
    return r;
  }
}

bool fill_address(const std::string& path, sockaddr_un& a) {
  if (path.empty() || path.size() >= sizeof a.sun_path) return false;
  std::memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  return true;
}

Error bad_path(const std::string& path) {
  return make_error(Errc::invalid_argument, "vhost-user: socket path '" + path + "' is empty or longer than " +
                                                std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
}

}  // namespace

UnixChannel::UnixChannel(UniqueFd socket) : socket_(std::move(socket)) {
  const int fl = ::fcntl(socket_.get(), F_GETFL);
  if (fl >= 0) ::fcntl(socket_.get(), F_SETFL, fl | O_NONBLOCK);
}

Status UnixChannel::send(const Message& msg, std::span<const int> fds, std::chrono::milliseconds timeout) {
  if (broken_) return broken_error();
  if (auto s = msg.validate(fds.size()); !s)
    return make_error(Errc::invalid_argument, "refusing to send: " + s.error().message);
  const std::vector<uint8_t> bytes = msg.encode();
  const auto deadline = Clock::now() + timeout;

  std::size_t sent = 0;
  while (sent < bytes.size()) {
    iovec iov{const_cast<uint8_t*>(bytes.data() + sent), bytes.size() - sent};  // sendmsg does not write it
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * kMaxFds)> control{};
    if (sent == 0 && !fds.empty()) {  // fds ride on the first byte of the message
      mh.msg_control = control.data();
      mh.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    const ssize_t r = ::sendmsg(socket_.get(), &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r > 0) {
      sent += static_cast<std::size_t>(r);
      continue;
    }
    const int err = errno;
    if (r < 0 && err == EINTR) continue;
    if (r < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
      const int w = wait_for(socket_.get(), POLLOUT, deadline);
      if (w > 0) continue;
      broken_ = sent > 0;
      if (w == 0)
        return make_error(Errc::timeout, std::string("vhost-user: peer did not accept ") + msg.name() + " within " +
                                             std::to_string(timeout.count()) + " ms");
      return sys_error(Errc::io, "poll", errno);
    }
    broken_ = true;
    if (err == EPIPE || err == ECONNRESET || err == ENOTCONN)
      return sys_error(Errc::disconnected, std::string("sending ") + msg.name(), err);
    return sys_error(Errc::io, std::string("sending ") + msg.name(), err);
  }
  return {};
}

Status UnixChannel::read_exact(uint8_t* buf, std::size_t n, Clock::time_point deadline, std::vector<UniqueFd>& fds,
                               std::size_t already_read, std::size_t total, std::size_t& got) {
  got = 0;
  while (got < n) {
    iovec iov{buf + got, n - got};
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * kFdRoom)> control;
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.data();
    mh.msg_controllen = control.size();
    const ssize_t r = ::recvmsg(socket_.get(), &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    const int err = errno;
    if (r >= 0) {
      // Own every received fd before looking at anything else, so that any
      // error below closes them.
      for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);  // CMSG_DATA may be unaligned for int
          fds.emplace_back(fd);
        }
      }
      if ((mh.msg_flags & MSG_CTRUNC) || fds.size() > kMaxFds)
        return make_error(Errc::protocol, "vhost-user: peer sent " + std::string(mh.msg_flags & MSG_CTRUNC ? "over " : "") +
                                              std::to_string(fds.size()) + " fds with one message, at most 8 are allowed");
      if (r == 0) {
        if (already_read + got == 0) return make_error(Errc::disconnected, "vhost-user: peer closed the connection");
        return make_error(Errc::disconnected, "vhost-user: peer closed the connection mid-message, after " +
                                                  std::to_string(already_read + got) + " of " +
                                                  std::to_string(total) + " bytes");
      }
      got += static_cast<std::size_t>(r);
      continue;
    }
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      const int w = wait_for(socket_.get(), POLLIN, deadline);
      if (w > 0) continue;
      if (w < 0) return sys_error(Errc::io, "poll", errno);
      if (already_read + got == 0) return make_error(Errc::timeout, "vhost-user: no message from peer in time");
      return make_error(Errc::timeout, "vhost-user: peer stalled mid-message, after " +
                                           std::to_string(already_read + got) + " of " + std::to_string(total) +
                                           " bytes");
    }
    if (err == ECONNRESET) return sys_error(Errc::disconnected, "receiving", err);
    return sys_error(Errc::io, "receiving", err);
  }
  return {};
}

Result<Message> UnixChannel::receive(MessageKind kind, std::chrono::milliseconds timeout) {
  if (broken_) return broken_error();
  const auto deadline = Clock::now() + timeout;
  std::vector<UniqueFd> fds;  // owns received fds; closed on every error path
  std::vector<uint8_t> bytes(kHeaderSize);

  std::size_t progress = 0;
  if (auto s = read_exact(bytes.data(), kHeaderSize, deadline, fds, 0, kHeaderSize, progress); !s) {
    // A timeout before the first byte leaves the stream in step; anything else does not.
    broken_ = !(s.error().code == Errc::timeout && progress == 0);
    return std::move(s).error();
  }
  const Header h = Message::parse_header(std::span<const uint8_t, kHeaderSize>(bytes.data(), kHeaderSize));
  if (auto s = Message::check_header(kind, h); !s) {
    broken_ = true;  // the payload length cannot be trusted: we cannot skip to the next message
    return std::move(s).error();
  }
  bytes.resize(kHeaderSize + h.size);
  if (h.size > 0) {
    if (auto s = read_exact(bytes.data() + kHeaderSize, h.size, deadline, fds, kHeaderSize, bytes.size(), progress);
        !s) {
      broken_ = true;
      return std::move(s).error();
    }
  }
  // The message was read whole, so the stream stays in step even if it is rejected.
  return Message::decode(kind, bytes, std::move(fds));
}

Result<std::pair<UnixChannel, UnixChannel>> unix_channel_pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return sys_error(Errc::io, "socketpair", errno);
  return std::pair{UnixChannel(UniqueFd(sv[0])), UnixChannel(UniqueFd(sv[1]))};
}

Result<UnixChannel> connect_unix(const std::string& path, std::chrono::milliseconds timeout) {
  sockaddr_un addr;
  if (!fill_address(path, addr)) return bad_path(path);
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s.valid()) return sys_error(Errc::io, "socket", errno);
    if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0)  // sockaddr_un is a sockaddr
      return UnixChannel(std::move(s));
    const int err = errno;
    // Missing or refusing: the back-end may still be starting. EAGAIN: its backlog is full.
    if (err != ENOENT && err != ECONNREFUSED && err != EAGAIN && err != EINTR)
      return sys_error(Errc::io, "connecting to " + path, err);
    if (Clock::now() >= deadline)
      return sys_error(Errc::timeout, "no vhost-user back-end accepted on " + path + " within " +
                                          std::to_string(timeout.count()) + " ms (last error)", err);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Result<UnixListener> UnixListener::listen(const std::string& path) {
  sockaddr_un addr;
  if (!fill_address(path, addr)) return bad_path(path);
  auto fd = listen_unix_socket(path, 0660, 16);
  if (!fd) return std::move(fd).error();
  UniqueFd s(*fd);
  return UnixListener(std::move(s), path);
}

UnixListener::~UnixListener() {
  if (socket_.valid() && !path_.empty()) ::unlink(path_.c_str());
}

Result<UnixChannel> UnixListener::accept(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const int fd = ::accept4(socket_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) return UnixChannel(UniqueFd(fd));
    const int err = errno;
    if (err == EINTR || err == ECONNABORTED) continue;
    if (err != EAGAIN && err != EWOULDBLOCK) return sys_error(Errc::io, "accepting on " + path_, err);
    const int w = wait_for(socket_.get(), POLLIN, deadline);
    if (w == 0)
      return make_error(Errc::timeout, "vhost-user: nobody connected to " + path_ + " within " +
                                           std::to_string(timeout.count()) + " ms");
    if (w < 0) return sys_error(Errc::io, "poll", errno);
  }
}

}  // namespace nfv::vhost_user
