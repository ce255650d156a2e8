// JSON-RPC 2.0 over a unix stream socket: the control endpoint of every
// long-running program, and the client nfvctl uses.
//
// Framing: one JSON value per line ('\n' terminated) in each direction; a
// connection may carry any number of requests. Requests larger than 1 MiB,
// malformed JSON, wrong types or unknown methods get the standard JSON-RPC
// error objects (-32700 parse, -32600 invalid request, -32601 method not found,
// -32602 invalid params, -32603 internal) and never take the server down.
// Notifications (no "id") are executed and not answered. Batches are rejected
// with -32600.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "nfv/control/event_loop.hpp"
#include "nfv/result.hpp"

namespace nfv::control {

using Json = nlohmann::json;

// Thrown by a method handler to answer with a JSON-RPC error object.
// (Handlers run on the control thread; exceptions are fine there.)
class RpcError : public std::runtime_error {
 public:
  // Application error codes (JSON-RPC reserves -32768..-32000 for itself).
  static constexpr int kInvalidParams = -32602;
  static constexpr int kNotFound = 1;
  static constexpr int kAlreadyExists = 2;
  static constexpr int kFailed = 3;

  RpcError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

class JsonRpcServer {
 public:
  // Handler: params (object, array or null) -> result. Throw RpcError for an error
  // answer; any other std::exception becomes -32603 with its what().
  using Handler = std::function<Json(const Json& params)>;

  // Binds and listens on `path` (replacing a stale socket file, refusing to
  // replace a live one: Errc::already_exists), chmod `mode`, creates the parent
  // directory if missing, and registers itself with `loop`.
  static Result<std::unique_ptr<JsonRpcServer>> listen(EventLoop& loop, const std::string& path,
                                                       unsigned mode = 0660);
  ~JsonRpcServer();  // closes all connections and unlinks the socket file

  // Registers a method; a second registration of the same name replaces the first.
  void add_method(const std::string& name, Handler handler);

  // The answer to one request, given later: a method whose work takes time
  // (waiting for a child process to exit) keeps its Reply and answers from a
  // later EventLoop callback, so the loop keeps serving everything else. Call
  // result() or error() once, on the loop's thread; later calls are ignored.
  // A Reply never answered sends nothing; one whose connection has closed (or
  // whose server is gone) is dropped. Copies share the one answer.
  class Reply {
   public:
    void result(Json value) const;
    void error(int code, const std::string& message) const;
    // False once answered, or when the connection or the server is gone.
    bool pending() const;

   private:
    friend class JsonRpcServer;
    struct State;
    std::shared_ptr<State> state_;
  };
  using AsyncHandler = std::function<void(const Json& params, Reply reply)>;
  // As add_method, for a handler that answers through `reply` (at once or
  // later). Throwing RpcError (or any exception) before answering answers
  // with that error, as for add_method.
  void add_async_method(const std::string& name, AsyncHandler handler);

  // Built in: "rpc.methods" lists the registered method names.
  const std::string& path() const noexcept;

 private:
  JsonRpcServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Blocking client for tools and tests: one call at a time, with a timeout.
class JsonRpcClient {
 public:
  static Result<JsonRpcClient> connect(const std::string& path,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(5));
  JsonRpcClient(JsonRpcClient&&) noexcept;
  JsonRpcClient& operator=(JsonRpcClient&&) noexcept;
  ~JsonRpcClient();

  // Sends {"jsonrpc":"2.0","id":N,"method":...,"params":...} and waits for the
  // answer. A JSON-RPC error answer becomes Errc::protocol whose message is
  // "<server message> (code N)"; a lost connection is Errc::disconnected.
  Result<Json> call(const std::string& method, const Json& params = Json::object());

 private:
  explicit JsonRpcClient(int fd, std::chrono::milliseconds timeout);
  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  uint64_t next_id_ = 1;
  std::string buffer_;
};

}  // namespace nfv::control
