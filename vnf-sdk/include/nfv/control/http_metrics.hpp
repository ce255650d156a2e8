// Prometheus metrics over HTTP, for any program with a control EventLoop.
//
// MetricsText builds the text exposition format (version 0.0.4): each family
// gets its # HELP and # TYPE lines once, then its samples; label values are
// escaped. MetricsHttpServer answers `GET /metrics` on a loopback TCP address
// with the text a callback renders at that moment; other paths get 404, other
// methods 405. It runs entirely on the EventLoop (never on a packet path):
// one request per connection, at most 16 connections, requests over 8 KiB or
// idle for 5 s are dropped, answers are written without blocking.
//
//   auto server = MetricsHttpServer::listen(loop, "127.0.0.1:9464", [&] { return text(); });
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "nfv/control/event_loop.hpp"
#include "nfv/result.hpp"

namespace nfv::control {

class MetricsText {
 public:
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  // Starts a family: type is "counter" or "gauge". Call once per name, before its samples.
  void family(std::string_view name, std::string_view help, std::string_view type);
  void sample(std::string_view name, Labels labels, double value);
  void sample(std::string_view name, Labels labels, uint64_t value);
  const std::string& text() const noexcept { return out_; }

 private:
  void labels(Labels l);
  std::string out_;
};

class MetricsHttpServer {
 public:
  using Render = std::function<std::string()>;

  // address: "127.0.0.1:PORT", "[::1]:PORT" or "localhost:PORT" (loopback only:
  // the counters are for the host's own Prometheus or a proxy in front of it).
  static Result<std::unique_ptr<MetricsHttpServer>> listen(EventLoop& loop, const std::string& address,
                                                           Render render);
  // Parses and checks an address as listen() would, without binding.
  static Status check_address(std::string_view address);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  uint16_t port() const noexcept;  // the bound port (useful with port 0)

 private:
  MetricsHttpServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nfv::control
