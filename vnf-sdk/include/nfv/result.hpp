// Result<T>: the control path's error-or-value type (C++20 has no std::expected).
//
// Setup code returns Result<T>; the hot path never does (it counts and drops).
// An Error carries a code a caller can branch on and a message written for the
// person who has to fix the problem ("what happened, what to do").
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace nfv {

enum class Errc {
  invalid_argument,  // the caller passed something malformed
  not_found,         // a named thing does not exist
  already_exists,    // a name or resource is taken
  io,                // a system call failed; message has errno text
  protocol,          // a peer broke a protocol (vhost-user, JSON-RPC...)
  unsupported,       // valid request this build/platform cannot serve
  resource,          // out of memory, ports, queues, hugepages
  timeout,
  disconnected,      // the peer went away; callers may reconnect
};

const char* errc_name(Errc c) noexcept;

struct Error {
  Errc code;
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}      // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success carries nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : err_(std::move(e)), failed_(true) {}  // NOLINT
  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  const Error& error() const& { return err_; }
  Error&& error() && { return std::move(err_); }

 private:
  Error err_{};
  bool failed_ = false;
};

using Status = Result<void>;

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace nfv
