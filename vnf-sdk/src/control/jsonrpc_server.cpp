// JsonRpcServer: a non-blocking JSON-RPC 2.0 endpoint on an AF_UNIX stream socket.
//
// Every connection has its own input and output buffer. Input is split on '\n'
// and each line is one request; answers are queued and written without
// blocking. Peers are not trusted: a line over 1 MiB gets an error and the
// connection is closed, a peer that stops reading is dropped once 4 MiB of
// answers are waiting (or nothing could be written for 10 s), and writes use
// MSG_NOSIGNAL so a vanished peer is an EPIPE, not a SIGPIPE.
//
// The EventLoop only reports readability, so pending output is retried from a
// short timer that exists only while some connection has output waiting. A
// connection that is closing (oversized request, peer hung up) leaves the loop
// and is closed once its remaining output is written.
//
// The EventLoop must outlive the server.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <optional>
#include <set>
#include <system_error>

#include "nfv/control/jsonrpc.hpp"
#include "nfv/unix_socket.hpp"

namespace nfv::control {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr size_t kMaxRequestBytes = size_t{1} << 20;
constexpr size_t kMaxPendingOutput = size_t{4} << 20;
constexpr size_t kMaxConnections = 128;
constexpr size_t kReadChunk = size_t{64} * 1024;
constexpr int kMaxNesting = 64;  // arrays/objects; real requests use 3 or 4
constexpr auto kFlushRetry = 10ms;
constexpr auto kOutputStallLimit = 10s;
constexpr auto kAcceptPause = 100ms;

// JSON-RPC 2.0 error codes (section 5.1 of the specification).
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInternalError = -32603;

std::string errno_text(int err) { return std::system_category().message(err); }

Json error_answer(const Json& id, int code, const std::string& message) {
  return Json{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

// mkdir -p with mode 0755 for every directory it creates.
Status make_parent_dirs(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return {};
  const std::string dir = path.substr(0, slash);
  for (size_t at = 1; at <= dir.size(); ++at) {
    if (at != dir.size() && dir[at] != '/') continue;
    const std::string prefix = dir.substr(0, at);
    if (::mkdir(prefix.c_str(), 0755) == 0) {
      ::chmod(prefix.c_str(), 0755);  // exactly 0755, whatever the umask
    } else if (errno != EEXIST) {
      return make_error(Errc::io, "cannot create directory " + prefix + ": " + errno_text(errno));
    }
  }
  return {};
}

// True when `text` nests arrays/objects deeper than `limit`. Checked before
// parsing: a hostile line of 500k '[' would otherwise reach recursive code
// (dump(), handlers) and overflow the stack.
bool nests_deeper_than(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char ch : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (ch == '\\') {
        escaped = true;
      } else if (ch == '"') {
        in_string = false;
      }
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '[' || ch == '{') {
      if (++depth > limit) return true;
    } else if (ch == ']' || ch == '}') {
      --depth;
    }
  }
  return false;
}

bool fill_address(const std::string& path, sockaddr_un& addr) {
  addr = sockaddr_un{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) return false;
  path.copy(addr.sun_path, path.size());
  return true;
}

}  // namespace

struct JsonRpcServer::Impl {
  struct Connection {
    int fd;
    uint64_t serial;  // tells a Reply whether its connection is still this one
    std::string in;
    size_t scanned = 0;  // bytes of `in` known to hold no '\n'
    std::string out;
    size_t out_sent = 0;   // bytes of `out` already written
    bool closing = false;  // out of the loop; closed once `out` is written
    Clock::time_point last_progress;
    size_t pending() const { return out.size() - out_sent; }
  };

  EventLoop* loop = nullptr;
  std::string path;
  int listen_fd = -1;
  dev_t socket_dev = 0;
  ino_t socket_ino = 0;
  std::map<std::string, Handler> methods;
  std::map<std::string, AsyncHandler> async_methods;
  uint64_t next_serial = 1;
  // What a Reply holds on to: reset when the server goes.
  std::shared_ptr<Impl*> self = std::make_shared<Impl*>(this);
  std::map<int, std::unique_ptr<Connection>> connections;
  std::optional<EventLoop::TimerId> flush_timer;
  std::optional<EventLoop::TimerId> accept_timer;
  std::string read_buffer = std::string(kReadChunk, '\0');

  void on_accept();
  void pause_accepting();
  void on_readable(int fd);
  void process_input(Connection& c);
  std::optional<Json> dispatch(const Json& request, const Connection& c);
  void deferred_answer(int fd, uint64_t serial, const Json& answer);
  void queue(Connection& c, const Json& answer);
  bool flush(Connection& c);
  void begin_closing(Connection& c);
  void close_connection(int fd);
  void arm_flush_timer();
  void on_flush_timer();
};

struct JsonRpcServer::Reply::State {
  std::weak_ptr<Impl*> server;
  int fd = -1;
  uint64_t serial = 0;
  Json id;
  bool answered = false;
};

void JsonRpcServer::Impl::on_accept() {
  for (;;) {
    if (connections.size() >= kMaxConnections) {
      spdlog::warn("rpc {}: {} connections open; not accepting more for now", path,
                   connections.size());
      pause_accepting();
      return;
    }
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == EINTR || err == ECONNABORTED) continue;
      spdlog::warn("rpc {}: accept failed: {}", path, errno_text(err));
      pause_accepting();  // EMFILE and friends stay true for a while: do not spin
      return;
    }
    auto conn = std::make_unique<Connection>();
    conn->fd = fd;
    conn->serial = next_serial++;
    connections.emplace(fd, std::move(conn));
    loop->add_fd(fd, [this, fd] { on_readable(fd); });
  }
}

void JsonRpcServer::Impl::pause_accepting() {
  if (accept_timer) return;
  loop->remove_fd(listen_fd);
  accept_timer = loop->add_timer(kAcceptPause, [this] {
    loop->cancel_timer(*accept_timer);
    accept_timer.reset();
    loop->add_fd(listen_fd, [this] { on_accept(); });
  });
}

void JsonRpcServer::Impl::on_readable(int fd) {
  auto it = connections.find(fd);
  if (it == connections.end()) return;
  Connection& c = *it->second;
  const ssize_t n = ::recv(fd, read_buffer.data(), read_buffer.size(), MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    spdlog::debug("rpc {}: connection {} failed: {}", path, fd, errno_text(errno));
    close_connection(fd);
    return;
  }
  if (n == 0) {
    // Peer hung up (or shut down its sending side): answers to complete requests
    // are still delivered; a half-received line is dropped.
    if (!c.in.empty()) spdlog::debug("rpc {}: peer left mid-request on fd {}", path, fd);
    c.in.clear();
    begin_closing(c);
  } else {
    c.in.append(read_buffer.data(), static_cast<size_t>(n));
    process_input(c);
  }
  if (!flush(c)) {
    close_connection(fd);
    return;
  }
  if (c.closing && c.pending() == 0) close_connection(fd);
}

void JsonRpcServer::Impl::process_input(Connection& c) {
  size_t start = 0;
  while (!c.closing) {
    const size_t newline = c.in.find('\n', std::max(start, c.scanned));
    const size_t line_end = newline == std::string::npos ? c.in.size() : newline;
    if (line_end - start > kMaxRequestBytes) {
      queue(c, error_answer(nullptr, kInvalidRequest,
                            "request larger than 1 MiB; the connection is closed"));
      c.in.clear();
      start = c.scanned = 0;
      begin_closing(c);
      return;
    }
    if (newline == std::string::npos) break;
    std::string_view line(c.in.data() + start, newline - start);
    start = newline + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank line

    if (nests_deeper_than(line, kMaxNesting)) {
      queue(c, error_answer(nullptr, kInvalidRequest, "invalid request: nested too deeply"));
      continue;
    }
    Json request = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    std::optional<Json> answer;
    if (request.is_discarded()) {
      answer = error_answer(nullptr, kParseError, "parse error: the line is not valid JSON");
    } else {
      answer = dispatch(request, c);
    }
    if (answer) queue(c, *answer);
  }
  c.in.erase(0, start);
  c.scanned = c.in.size();
}

std::optional<Json> JsonRpcServer::Impl::dispatch(const Json& request, const Connection& c) {
  if (request.is_array()) {
    return error_answer(nullptr, kInvalidRequest,
                        "batch requests are not supported; send one request per line");
  }
  if (!request.is_object()) {
    return error_answer(nullptr, kInvalidRequest, "invalid request: expected a JSON object");
  }
  const auto id_it = request.find("id");
  const bool is_notification = id_it == request.end();
  Json id = nullptr;
  if (!is_notification) {
    if (!id_it->is_string() && !id_it->is_number() && !id_it->is_null()) {
      return error_answer(nullptr, kInvalidRequest,
                          "invalid request: \"id\" must be a string, a number or null");
    }
    id = *id_it;
  }
  const auto version = request.find("jsonrpc");
  if (version == request.end() || *version != "2.0") {
    return error_answer(id, kInvalidRequest, "invalid request: \"jsonrpc\" must be \"2.0\"");
  }
  const auto method = request.find("method");
  if (method == request.end() || !method->is_string()) {
    return error_answer(id, kInvalidRequest, "invalid request: \"method\" must be a string");
  }
  static const Json kNoParams = nullptr;
  const Json* params = &kNoParams;
  if (const auto p = request.find("params"); p != request.end()) {
    if (!p->is_object() && !p->is_array()) {
      return error_answer(id, kInvalidRequest,
                          "invalid request: \"params\" must be an object or an array");
    }
    params = &*p;
  }

  const std::string& name = method->get_ref<const std::string&>();
  if (const auto async_it = async_methods.find(name); async_it != async_methods.end()) {
    const AsyncHandler handler = async_it->second;  // a copy, as below
    Reply reply;
    reply.state_ = std::make_shared<Reply::State>();
    reply.state_->server = self;
    reply.state_->fd = c.fd;
    reply.state_->serial = c.serial;
    reply.state_->id = id;
    reply.state_->answered = is_notification;  // a notification is never answered
    try {
      handler(*params, reply);
      return std::nullopt;
    } catch (const RpcError& e) {
      if (!reply.pending()) return std::nullopt;
      reply.state_->answered = true;
      return error_answer(id, e.code(), e.what());
    } catch (const std::exception& e) {
      spdlog::warn("rpc {}: method '{}' failed: {}", path, name, e.what());
      if (!reply.pending()) return std::nullopt;
      reply.state_->answered = true;
      return error_answer(id, kInternalError, e.what());
    } catch (...) {
      if (!reply.pending()) return std::nullopt;
      reply.state_->answered = true;
      return error_answer(id, kInternalError, "internal error in method '" + name + "'");
    }
  }
  const auto handler_it = methods.find(name);
  if (handler_it == methods.end()) {
    if (is_notification) return std::nullopt;
    return error_answer(id, kMethodNotFound,
                        "method '" + name + "' not found; 'rpc.methods' lists the methods");
  }
  // A copy: the handler may register or replace methods while it runs.
  const Handler handler = handler_it->second;
  std::optional<Json> answer;
  try {
    Json result = handler(*params);
    answer = Json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
  } catch (const RpcError& e) {
    answer = error_answer(id, e.code(), e.what());
  } catch (const std::exception& e) {
    spdlog::warn("rpc {}: method '{}' failed: {}", path, name, e.what());
    answer = error_answer(id, kInternalError, e.what());
  } catch (...) {
    spdlog::warn("rpc {}: method '{}' threw a non-standard exception", path, name);
    answer = error_answer(id, kInternalError, "internal error in method '" + name + "'");
  }
  if (is_notification) return std::nullopt;
  return answer;
}

// A Reply's answer: queued on its connection if that is still open (and still
// the same connection: fds are reused), written from the flush timer. Never
// flushes or closes here, so a handler answering at once, from inside
// dispatch(), leaves the connection in place.
void JsonRpcServer::Impl::deferred_answer(int fd, uint64_t serial, const Json& answer) {
  const auto it = connections.find(fd);
  if (it == connections.end() || it->second->serial != serial) {
    spdlog::debug("rpc {}: dropping an answer: its connection has closed", path);
    return;
  }
  queue(*it->second, answer);
  arm_flush_timer();
}

void JsonRpcServer::Impl::queue(Connection& c, const Json& answer) {
  if (c.pending() == 0) {
    c.out.clear();
    c.out_sent = 0;
    c.last_progress = Clock::now();
  }
  // `replace`: a handler's string with invalid UTF-8 must not make dump() throw.
  c.out += answer.dump(-1, ' ', false, Json::error_handler_t::replace);
  c.out += '\n';
}

bool JsonRpcServer::Impl::flush(Connection& c) {
  while (c.pending() > 0) {
    const ssize_t n =
        ::send(c.fd, c.out.data() + c.out_sent, c.pending(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.out_sent += static_cast<size_t>(n);
      c.last_progress = Clock::now();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    spdlog::debug("rpc {}: write to fd {} failed: {}", path, c.fd, errno_text(errno));
    return false;
  }
  if (c.pending() == 0) {
    c.out.clear();
    c.out_sent = 0;
    return true;
  }
  if (c.pending() > kMaxPendingOutput) {
    spdlog::warn("rpc {}: dropping connection {}: peer does not read its answers", path, c.fd);
    return false;
  }
  if (Clock::now() - c.last_progress > kOutputStallLimit) {
    spdlog::warn("rpc {}: dropping connection {}: no answer bytes accepted for {} s", path, c.fd,
                 std::chrono::duration_cast<std::chrono::seconds>(kOutputStallLimit).count());
    return false;
  }
  if (c.out_sent > kMaxRequestBytes) {  // keep the buffer from growing by its sent prefix
    c.out.erase(0, c.out_sent);
    c.out_sent = 0;
  }
  arm_flush_timer();
  return true;
}

// Stops reading; the caller closes the connection once its output is written.
void JsonRpcServer::Impl::begin_closing(Connection& c) {
  c.closing = true;
  loop->remove_fd(c.fd);
}

void JsonRpcServer::Impl::close_connection(int fd) {
  loop->remove_fd(fd);
  ::close(fd);
  connections.erase(fd);
}

void JsonRpcServer::Impl::arm_flush_timer() {
  if (flush_timer) return;
  flush_timer = loop->add_timer(kFlushRetry, [this] { on_flush_timer(); });
}

void JsonRpcServer::Impl::on_flush_timer() {
  std::vector<int> failed;
  bool waiting = false;
  for (auto& [fd, conn] : connections) {
    if (conn->pending() == 0) continue;
    if (!flush(*conn) || (conn->closing && conn->pending() == 0)) {
      failed.push_back(fd);
    } else if (conn->pending() > 0) {
      waiting = true;
    }
  }
  for (int fd : failed) close_connection(fd);
  if (!waiting && flush_timer) {
    loop->cancel_timer(*flush_timer);
    flush_timer.reset();
  }
}

void JsonRpcServer::Reply::result(Json value) const {
  if (!pending()) return;
  state_->answered = true;
  (*state_->server.lock())->deferred_answer(
      state_->fd, state_->serial, Json{{"jsonrpc", "2.0"}, {"id", state_->id}, {"result", std::move(value)}});
}

void JsonRpcServer::Reply::error(int code, const std::string& message) const {
  if (!pending()) return;
  state_->answered = true;
  (*state_->server.lock())->deferred_answer(state_->fd, state_->serial, error_answer(state_->id, code, message));
}

bool JsonRpcServer::Reply::pending() const {
  if (!state_ || state_->answered) return false;
  const auto server = state_->server.lock();
  if (!server) return false;
  const auto it = (*server)->connections.find(state_->fd);
  return it != (*server)->connections.end() && it->second->serial == state_->serial;
}

JsonRpcServer::JsonRpcServer() : impl_(std::make_unique<Impl>()) {}

Result<std::unique_ptr<JsonRpcServer>> JsonRpcServer::listen(EventLoop& loop,
                                                             const std::string& path,
                                                             unsigned mode) {
  sockaddr_un addr{};
  if (!fill_address(path, addr)) {
    return make_error(Errc::invalid_argument, "socket path '" + path +
                                                  "' is empty or longer than " +
                                                  std::to_string(sizeof addr.sun_path - 1) +
                                                  " bytes; choose a shorter one");
  }
  if (Status st = make_parent_dirs(path); !st) return Error(st.error());

  auto listening = listen_unix_socket(path, mode, SOMAXCONN);
  if (!listening) return std::move(listening).error();
  const int fd = *listening;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error(Errc::io, "cannot stat " + path + ": " + errno_text(err));
  }

  std::unique_ptr<JsonRpcServer> server(new JsonRpcServer());
  Impl& im = *server->impl_;
  im.loop = &loop;
  im.path = path;
  im.listen_fd = fd;
  im.socket_dev = st.st_dev;
  im.socket_ino = st.st_ino;
  im.methods["rpc.methods"] = [&im](const Json&) {
    std::set<std::string> names;
    for (const auto& [name, handler] : im.methods) names.insert(name);
    for (const auto& [name, handler] : im.async_methods) names.insert(name);
    return Json(names);
  };
  loop.add_fd(fd, [&im] { im.on_accept(); });
  return server;
}

JsonRpcServer::~JsonRpcServer() {
  Impl& im = *impl_;
  if (im.flush_timer) im.loop->cancel_timer(*im.flush_timer);
  if (im.accept_timer) im.loop->cancel_timer(*im.accept_timer);
  for (auto& [fd, conn] : im.connections) {
    im.loop->remove_fd(fd);
    ::close(fd);
  }
  im.connections.clear();
  im.loop->remove_fd(im.listen_fd);
  ::close(im.listen_fd);
  // Only remove the file if it is still ours (not replaced by another server).
  struct stat st {};
  if (::lstat(im.path.c_str(), &st) == 0 && st.st_dev == im.socket_dev &&
      st.st_ino == im.socket_ino) {
    ::unlink(im.path.c_str());
  }
}

void JsonRpcServer::add_method(const std::string& name, Handler handler) {
  impl_->async_methods.erase(name);
  impl_->methods[name] = std::move(handler);
}

void JsonRpcServer::add_async_method(const std::string& name, AsyncHandler handler) {
  impl_->methods.erase(name);
  impl_->async_methods[name] = std::move(handler);
}

const std::string& JsonRpcServer::path() const noexcept { return impl_->path; }

}  // namespace nfv::control
