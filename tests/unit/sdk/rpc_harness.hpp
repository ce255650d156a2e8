// Test helpers for the JSON-RPC tests: a private temp directory, a server whose
// EventLoop runs on a background thread, and a raw socket peer that can send
// arbitrary bytes (garbage, half lines, oversized requests).
#pragma once

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "nfv/control/event_loop.hpp"
#include "nfv/control/jsonrpc.hpp"

namespace nfv::test {

using namespace std::chrono_literals;

// A fresh directory under /tmp, removed with everything in it.
struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/nfv-rpc-test-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    path = made != nullptr ? made : "/tmp";
  }
  ~TempDir() {
    std::error_code ignored;
    if (path != "/tmp") std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path + "/" + name; }
};

// A server listening in a temp dir. Register methods with server->add_method()
// before start(); after start() only the loop thread touches loop and server.
struct RunningServer {
  TempDir dir;
  control::EventLoop loop;
  std::unique_ptr<control::JsonRpcServer> server;
  std::thread thread;

  RunningServer() {
    auto listening = control::JsonRpcServer::listen(loop, dir.file("rpc.sock"));
    if (listening) server = std::move(listening).value();
  }
  ~RunningServer() {
    loop.stop();
    if (thread.joinable()) thread.join();
  }
  void start() {
    thread = std::thread([this] { loop.run(); });
  }
  const std::string& path() const { return server->path(); }
};

// A client socket that writes raw bytes and reads lines, with timeouts.
class RawConnection {
 public:
  explicit RawConnection(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    // Safe cast: sockaddr_un is an address type connect() accepts.
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) close();
  }
  ~RawConnection() { close(); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Writes everything it can; false once the server has closed the connection.
  bool send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // The next '\n'-terminated line (without '\n'); nullopt on timeout, EOF or error.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = 2s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      if (!fill(deadline)) return std::nullopt;
    }
  }

  std::optional<control::Json> read_json(std::chrono::milliseconds timeout = 2s) {
    auto line = read_line(timeout);
    if (!line) return std::nullopt;
    return control::Json::parse(*line, nullptr, false);
  }

  // True when the server closes the connection within `timeout` (unread data is discarded).
  bool closed_by_peer(std::chrono::milliseconds timeout = 2s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!fill(deadline)) return eof_;
      buffer_.clear();
    }
    return false;
  }

  // True when nothing arrives within `timeout`.
  bool silent_for(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    return buffer_.empty() && ::poll(&p, 1, static_cast<int>(timeout.count())) == 0;
  }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) <= 0) return false;
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      eof_ = true;  // EOF or ECONNRESET: either way the server is gone
      return false;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool eof_ = false;
  std::string buffer_;
};

// Answer helpers.
inline int error_code(const control::Json& answer) {
  return answer.at("error").at("code").get<int>();
}

}  // namespace nfv::test
