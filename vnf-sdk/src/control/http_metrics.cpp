// MetricsText and MetricsHttpServer (see nfv/control/http_metrics.hpp).
#include "nfv/control/http_metrics.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <system_error>

namespace nfv::control {

// --- MetricsText -------------------------------------------------------------

void MetricsText::family(std::string_view name, std::string_view help, std::string_view type) {
  out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void MetricsText::labels(Labels l) {
  if (l.size() == 0) return;
  out_ += '{';
  bool first = true;
  for (const auto& [k, v] : l) {
    if (!first) out_ += ',';
    first = false;
    out_.append(k).append("=\"");
    for (char c : v) {
      if (c == '\\') out_ += "\\\\";
      else if (c == '"') out_ += "\\\"";
      else if (c == '\n') out_ += "\\n";
      else out_ += c;
    }
    out_ += '"';
  }
  out_ += '}';
}

void MetricsText::sample(std::string_view name, Labels l, uint64_t value) {
  out_.append(name);
  labels(l);
  out_.append(" ").append(std::to_string(value)).append("\n");
}

void MetricsText::sample(std::string_view name, Labels l, double value) {
  out_.append(name);
  labels(l);
  char buf[64];
  if (std::isnan(value)) std::snprintf(buf, sizeof buf, "NaN");
  else if (std::isinf(value)) std::snprintf(buf, sizeof buf, value > 0 ? "+Inf" : "-Inf");
  else std::snprintf(buf, sizeof buf, "%.17g", value);
  out_.append(" ").append(buf).append("\n");
}

// --- MetricsHttpServer -------------------------------------------------------

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxConnections = 16;
constexpr size_t kMaxRequest = 8192;
constexpr auto kIdleLimit = std::chrono::seconds(5);
constexpr auto kTimerPeriod = std::chrono::milliseconds(20);

std::string errno_text(int err) { return std::system_category().message(err); }

struct Address {
  sockaddr_storage ss{};
  socklen_t len = 0;
};

Result<Address> parse_address(std::string_view text) {
  constexpr std::string_view kExpected = "expected 127.0.0.1:PORT, [::1]:PORT or localhost:PORT (loopback only)";
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return make_error(Errc::invalid_argument, "metrics address '" + std::string(text) + "' has no port; " + std::string(kExpected));
  std::string host(text.substr(0, colon));
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || p != port_text.data() + port_text.size() || port > 65535 || port_text.empty())
    return make_error(Errc::invalid_argument, "metrics port '" + std::string(port_text) + "' is not a number in 0..65535; " + std::string(kExpected));
  Address a;
  if (host == "localhost") host = "127.0.0.1";
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&a.ss);  // sockaddr_storage fits and aligns every family
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &s6->sin6_addr) != 1 ||
        !IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
      return make_error(Errc::invalid_argument, "metrics host '" + host + "' is not a loopback address; " + std::string(kExpected));
    a.len = sizeof(sockaddr_in6);
    return a;
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(&a.ss);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &s4->sin_addr) != 1 || (ntohl(s4->sin_addr.s_addr) >> 24) != 127)
    return make_error(Errc::invalid_argument, "metrics host '" + host + "' is not a loopback address; " + std::string(kExpected));
  a.len = sizeof(sockaddr_in);
  return a;
}

std::string http_answer(int code, std::string_view reason, std::string_view type, const std::string& body) {
  std::string r = "HTTP/1.1 " + std::to_string(code) + " " + std::string(reason) + "\r\n";
  r += "Content-Type: " + std::string(type) + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  return r + body;
}

}  // namespace

struct MetricsHttpServer::Impl {
  struct Conn {
    std::string in, out;
    size_t sent = 0;
    bool answered = false;
    Clock::time_point since = Clock::now();
  };
  EventLoop* loop = nullptr;
  int fd = -1;
  uint16_t port = 0;
  Render render;
  std::map<int, Conn> conns;
  EventLoop::TimerId timer = 0;
  bool timer_on = false;

  void close_conn(int c) {
    if (!conns.count(c)) return;
    if (!conns[c].answered) loop->remove_fd(c);
    ::close(c);
    conns.erase(c);
  }

  void update_timer() {
    if (!conns.empty() && !timer_on) {
      timer = loop->add_timer(kTimerPeriod, [this] { on_timer(); });
      timer_on = true;
    } else if (conns.empty() && timer_on) {
      loop->cancel_timer(timer);
      timer_on = false;
    }
  }

  void on_accept() {
    for (;;) {
      const int c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c < 0) break;
      if (conns.size() >= kMaxConnections) {
        ::close(c);
        continue;
      }
      conns[c] = Conn{};
      loop->add_fd(c, [this, c] { on_readable(c); });
    }
    update_timer();
  }

  void on_readable(int c) {
    Conn& k = conns[c];
    char buf[4096];
    const ssize_t n = ::recv(c, buf, sizeof buf, 0);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      return close_conn(c), update_timer();
    }
    k.in.append(buf, static_cast<size_t>(n));
    if (k.in.size() > kMaxRequest) {
      k.out = http_answer(431, "Request Header Fields Too Large", "text/plain", "request too large\n");
    } else if (k.in.find("\r\n\r\n") != std::string::npos || k.in.find("\n\n") != std::string::npos) {
      k.out = answer(k.in);
    } else {
      return;
    }
    k.answered = true;
    loop->remove_fd(c);  // nothing more is read; the rest is written from the timer
    flush(c);
    update_timer();
  }

  std::string answer(const std::string& request) {
    const size_t sp1 = request.find(' ');
    const size_t sp2 = sp1 == std::string::npos ? sp1 : request.find(' ', sp1 + 1);
    if (sp2 == std::string::npos) return http_answer(400, "Bad Request", "text/plain", "malformed request line\n");
    const std::string method = request.substr(0, sp1);
    std::string path = request.substr(sp1 + 1, sp2 - sp1 - 1);
    path = path.substr(0, path.find('?'));
    if (path != "/metrics") return http_answer(404, "Not Found", "text/plain", "only /metrics is served here\n");
    if (method != "GET" && method != "HEAD")
      return http_answer(405, "Method Not Allowed", "text/plain", "use GET\n");
    std::string body = render();
    std::string r = http_answer(200, "OK", "text/plain; version=0.0.4; charset=utf-8", body);
    if (method == "HEAD") r.resize(r.size() - body.size());
    return r;
  }

  void flush(int c) {
    Conn& k = conns[c];
    while (k.sent < k.out.size()) {
      const ssize_t n = ::send(c, k.out.data() + k.sent, k.out.size() - k.sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        return close_conn(c);
      }
      k.sent += static_cast<size_t>(n);
    }
    close_conn(c);
  }

  void on_timer() {
    const auto now = Clock::now();
    std::vector<int> fds;
    for (auto& [c, k] : conns) fds.push_back(c);
    for (int c : fds) {
      if (now - conns[c].since > kIdleLimit) close_conn(c);
      else if (conns[c].answered) flush(c);
    }
    update_timer();
  }
};

MetricsHttpServer::MetricsHttpServer() : impl_(std::make_unique<Impl>()) {}

MetricsHttpServer::~MetricsHttpServer() {
  if (!impl_) return;
  std::vector<int> fds;
  for (auto& [c, k] : impl_->conns) fds.push_back(c);
  for (int c : fds) impl_->close_conn(c);
  impl_->update_timer();
  if (impl_->fd >= 0) {
    impl_->loop->remove_fd(impl_->fd);
    ::close(impl_->fd);
  }
}

uint16_t MetricsHttpServer::port() const noexcept { return impl_->port; }

Status MetricsHttpServer::check_address(std::string_view address) {
  auto a = parse_address(address);
  if (!a) return std::move(a).error();
  return {};
}

Result<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::listen(EventLoop& loop, const std::string& address,
                                                                     Render render) {
  auto a = parse_address(address);
  if (!a) return std::move(a).error();
  const int fd = ::socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::io, "metrics socket: " + errno_text(errno));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // sockaddr_storage holds any address family; bind reads a->len bytes of it.
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a->ss), a->len) != 0 || ::listen(fd, 16) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error(err == EADDRINUSE ? Errc::already_exists : Errc::io,
                      "metrics endpoint " + address + ": " + errno_text(err) +
                          (err == EADDRINUSE ? "; choose another port" : ""));
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  std::unique_ptr<MetricsHttpServer> s(new MetricsHttpServer());
  s->impl_->loop = &loop;
  s->impl_->fd = fd;
  s->impl_->render = std::move(render);
  s->impl_->port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                     : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  Impl* impl = s->impl_.get();
  loop.add_fd(fd, [impl] { impl->on_accept(); });
  return s;
}

}  // namespace nfv::control
