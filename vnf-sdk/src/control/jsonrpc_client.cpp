// JsonRpcClient: blocking JSON-RPC 2.0 calls over a unix stream socket.
//
// The socket is non-blocking and every wait goes through poll(2) against one
// deadline per call, so a silent or slow server costs at most the timeout.
// Answers carrying another id (late answers to an earlier call that timed out)
// are skipped; an error answer with a null id is the server rejecting the
// request as a whole (unparsable, too large) and is returned as the answer.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <system_error>
#include <utility>

#include "nfv/control/jsonrpc.hpp"

namespace nfv::control {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxAnswerBytes = size_t{64} << 20;  // far above any real answer

std::string errno_text(int err) { return std::system_category().message(err); }

// Milliseconds left until `deadline`, rounded up, for poll().
int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return 0;
  return static_cast<int>(std::min<int64_t>(left.count(), INT32_MAX));
}

// Waits for `events` on `fd`; false when the deadline passed first.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return true;  // let the following read/write report the error
  }
}

bool is_disconnect(int err) { return err == EPIPE || err == ECONNRESET || err == ENOTCONN; }

Error transfer_error(const char* what, int err) {
  if (is_disconnect(err)) {
    return make_error(Errc::disconnected, std::string("the server closed the connection (") + what +
                                              ": " + errno_text(err) + ")");
  }
  return make_error(Errc::io, std::string(what) + " failed: " + errno_text(err));
}

// Turns one answer line into the call's outcome; nullopt when it answers another call.
std::optional<Result<Json>> interpret_answer(std::string_view line, uint64_t id) {
  Json answer = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded() || !answer.is_object()) {
    return Result<Json>(make_error(Errc::protocol, "the server's answer is not a JSON object"));
  }
  const auto id_it = answer.find("id");
  const bool ours =
      id_it != answer.end() && id_it->is_number_unsigned() && id_it->get<uint64_t>() == id;
  const bool unattributed = id_it == answer.end() || id_it->is_null();
  if (!ours && !(unattributed && answer.contains("error"))) return std::nullopt;

  if (const auto err = answer.find("error"); err != answer.end()) {
    if (!err->is_object()) {
      return Result<Json>(make_error(Errc::protocol, "the server's error answer is malformed"));
    }
    const auto msg = err->find("message");
    const auto code = err->find("code");
    std::string text = msg != err->end() && msg->is_string() ? msg->get<std::string>()
                                                             : std::string("unspecified error");
    if (code != err->end() && code->is_number_integer()) {
      text += " (code " + std::to_string(code->get<int64_t>()) + ")";
    }
    return Result<Json>(make_error(Errc::protocol, std::move(text)));
  }
  const auto result = answer.find("result");
  if (result == answer.end()) {
    return Result<Json>(make_error(Errc::protocol, "the server's answer has no result"));
  }
  return Result<Json>(std::move(*result));
}

}  // namespace

Result<JsonRpcClient> JsonRpcClient::connect(const std::string& path,
                                             std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return make_error(Errc::invalid_argument,
                      "socket path '" + path + "' is empty or longer than " +
                          std::to_string(sizeof addr.sun_path - 1) + " bytes");
  }
  path.copy(addr.sun_path, path.size());

  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::io, "cannot create a unix socket: " + errno_text(errno));
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    // Safe cast: sockaddr_un is one of the address types connect() accepts.
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) break;
    const int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN && Clock::now() < deadline) {
      // The server's accept backlog is full; a unix connect() must simply be retried.
      ::poll(nullptr, 0, std::min(10, remaining_ms(deadline)));
      continue;
    }
    ::close(fd);
    const std::string text = "cannot connect to " + path + ": ";
    if (err == EAGAIN) return make_error(Errc::timeout, text + "the server accepts no connections");
    if (err == ENOENT) return make_error(Errc::not_found, text + errno_text(err));
    if (err == ECONNREFUSED) return make_error(Errc::disconnected, text + errno_text(err));
    return make_error(Errc::io, text + errno_text(err));
  }
  return JsonRpcClient(fd, timeout);
}

JsonRpcClient::JsonRpcClient(int fd, std::chrono::milliseconds timeout)
    : fd_(fd), timeout_(timeout) {}

JsonRpcClient::JsonRpcClient(JsonRpcClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      timeout_(other.timeout_),
      next_id_(other.next_id_),
      buffer_(std::move(other.buffer_)) {}

JsonRpcClient& JsonRpcClient::operator=(JsonRpcClient&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    timeout_ = other.timeout_;
    next_id_ = other.next_id_;
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

JsonRpcClient::~JsonRpcClient() {
  if (fd_ >= 0) ::close(fd_);
}

Result<Json> JsonRpcClient::call(const std::string& method, const Json& params) {
  if (fd_ < 0) return make_error(Errc::disconnected, "not connected");
  const uint64_t id = next_id_++;
  Json request{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null()) request["params"] = params;  // JSON-RPC: params absent, never null
  std::string line = request.dump(-1, ' ', false, Json::error_handler_t::replace);
  line += '\n';
  const auto deadline = Clock::now() + timeout_;

  std::optional<Error> send_failure;
  for (size_t sent = 0; sent < line.size();) {
    const ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_for(fd_, POLLOUT, deadline)) {
        if (sent > 0) {  // half a request is on the wire: nothing sent later would parse
          ::close(fd_);
          fd_ = -1;
        }
        return make_error(Errc::timeout, "timed out sending '" + method + "' to the server");
      }
      continue;
    }
    send_failure = transfer_error("send", errno);
    break;
  }

  for (;;) {
    size_t start = 0;
    for (size_t nl; (nl = buffer_.find('\n', start)) != std::string::npos;) {
      std::string_view answer_line(buffer_.data() + start, nl - start);
      start = nl + 1;
      if (answer_line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      if (auto outcome = interpret_answer(answer_line, id)) {
        buffer_.erase(0, start);
        return std::move(*outcome);
      }
    }
    buffer_.erase(0, start);
    if (buffer_.size() > kMaxAnswerBytes) {
      return make_error(Errc::protocol, "the server's answer exceeds 64 MiB");
    }
    // After a failed send, only an answer that is already waiting can explain why.
    const auto wait_until = send_failure ? Clock::now() : deadline;
    if (!wait_for(fd_, POLLIN, wait_until)) {
      if (send_failure) return std::move(*send_failure);
      return make_error(Errc::timeout, "no answer to '" + method + "' within " +
                                           std::to_string(timeout_.count()) + " ms");
    }
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
    } else if (n == 0) {
      if (send_failure) return std::move(*send_failure);
      return make_error(Errc::disconnected, "the server closed the connection");
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      if (send_failure) return std::move(*send_failure);
      return transfer_error("receive", errno);
    }
  }
}

}  // namespace nfv::control
