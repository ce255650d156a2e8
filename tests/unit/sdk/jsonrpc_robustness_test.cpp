// JSON-RPC server: socket-file handling (stale, live, not a socket, mode,
// parent directories, cleanup) and peers that misbehave (hang up mid-line,
// send garbage, never read their answers).
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>

#include "rpc_harness.hpp"

using nfv::Errc;
using nfv::control::EventLoop;
using nfv::control::Json;
using nfv::control::JsonRpcClient;
using nfv::control::JsonRpcServer;
using namespace nfv::test;

namespace {

// Leaves a socket file behind with nobody listening, as a crashed server does.
void make_stale_socket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  // Safe cast: sockaddr_un is an address type bind() accepts.
  REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  ::close(fd);
}

unsigned file_mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("a stale socket file is replaced") {
  TempDir dir;
  const std::string path = dir.file("stale.sock");
  make_stale_socket(path);
  REQUIRE(exists(path));
  CHECK(JsonRpcClient::connect(path, 100ms).error().code == Errc::disconnected);

  EventLoop loop;
  auto server = JsonRpcServer::listen(loop, path);
  REQUIRE_MESSAGE(server.ok(), server.error().message);
  RawConnection raw(path);
  REQUIRE(raw.connected());
  REQUIRE(raw.send("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rpc.methods\"}\n"));
  loop.run_once(100ms);  // accept
  loop.run_once(100ms);  // read and answer
  auto answer = raw.read_json(500ms);
  REQUIRE(answer.has_value());
  CHECK((*answer)["result"] == Json::array({"rpc.methods"}));
}

TEST_CASE("a live socket is not taken over") {
  TempDir dir;
  const std::string path = dir.file("live.sock");
  EventLoop loop;
  auto first = JsonRpcServer::listen(loop, path);
  REQUIRE(first.ok());

  EventLoop other_loop;
  auto second = JsonRpcServer::listen(other_loop, path);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code == Errc::already_exists);
  CHECK(second.error().message.find(path) != std::string::npos);

  // The first server still owns the file, and removes it when destroyed.
  CHECK(exists(path));
  first.value().reset();
  CHECK_FALSE(exists(path));
}

TEST_CASE("a path that is not a socket is left alone") {
  TempDir dir;
  const std::string path = dir.file("config.toml");
  std::ofstream(path) << "precious = true\n";
  EventLoop loop;
  auto server = JsonRpcServer::listen(loop, path);
  REQUIRE_FALSE(server.ok());
  CHECK(server.error().code == Errc::already_exists);
  std::ifstream in(path);
  std::string content;
  std::getline(in, content);
  CHECK(content == "precious = true");
}

TEST_CASE("parent directories are created and the mode is applied") {
  TempDir dir;
  const std::string path = dir.file("run/nfv/ctl.sock");
  EventLoop loop;
  {
    auto server = JsonRpcServer::listen(loop, path);
    REQUIRE_MESSAGE(server.ok(), server.error().message);
    CHECK((*server)->path() == path);
    CHECK(file_mode(dir.file("run")) == 0755);
    CHECK(file_mode(dir.file("run/nfv")) == 0755);
    CHECK(file_mode(path) == 0660);
  }
  CHECK_FALSE(exists(path));
  auto strict = JsonRpcServer::listen(loop, path, 0600);
  REQUIRE(strict.ok());
  CHECK(file_mode(path) == 0600);
}

TEST_CASE("bad socket paths are refused with a reason") {
  EventLoop loop;
  auto empty = JsonRpcServer::listen(loop, "");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().code == Errc::invalid_argument);
  auto too_long = JsonRpcServer::listen(loop, "/tmp/" + std::string(150, 'x'));
  REQUIRE_FALSE(too_long.ok());
  CHECK(too_long.error().code == Errc::invalid_argument);

  TempDir dir;
  std::ofstream(dir.file("file")) << "x";
  auto under_file = JsonRpcServer::listen(loop, dir.file("file/ctl.sock"));
  REQUIRE_FALSE(under_file.ok());
  CHECK(under_file.error().code == Errc::io);
}

TEST_CASE("peers that hang up mid-request or send garbage do not hurt the server") {
  RunningServer s;
  REQUIRE(s.server);
  s.server->add_method("ping", [](const Json&) { return Json("pong"); });
  s.start();

  for (int i = 0; i < 5; ++i) {
    RawConnection half(s.path());
    REQUIRE(half.connected());
    REQUIRE(half.send("{\"jsonrpc\":\"2.0\",\"id\":1,\"meth"));
  }  // each closes mid-line
  {
    RawConnection gone(s.path());  // asks, then leaves before the answer
    REQUIRE(gone.send("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n"));
  }
  {
    RawConnection binary(s.path());
    std::string junk;
    for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 131) & 0xff));
    binary.send(junk + "\n\xff\xfe\n");
    auto answer = binary.read_json();
    REQUIRE(answer.has_value());
    CHECK(error_code(*answer) == -32700);
  }
  {
    RawConnection deep(s.path());  // valid JSON, but deep enough to overflow recursive code
    const std::string nested = std::string(300000, '[') + std::string(300000, ']');
    REQUIRE(deep.send("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":" + nested +
                      "}\n" + nested + "\n"));
    for (int i = 0; i < 2; ++i) {
      auto answer = deep.read_json();
      REQUIRE(answer.has_value());
      CHECK(error_code(*answer) == -32600);
    }
    // Brackets inside strings do not count.
    REQUIRE(deep.send("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\",\"params\":[\"" +
                      std::string(1000, '[') + "\\\"\"]}\n"));
    auto answer = deep.read_json();
    REQUIRE(answer.has_value());
    CHECK((*answer)["result"] == "pong");
  }
  {
    RawConnection shut(s.path());  // half-close: the answer still arrives
    REQUIRE(shut.send("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n"));
    ::shutdown(shut.fd(), SHUT_WR);
    auto answer = shut.read_json();
    REQUIRE(answer.has_value());
    CHECK((*answer)["result"] == "pong");
    CHECK(shut.closed_by_peer());
  }
  auto client = JsonRpcClient::connect(s.path(), 2s);
  REQUIRE(client.ok());
  auto pong = client->call("ping");
  REQUIRE(pong.ok());
  CHECK(*pong == "pong");
}

TEST_CASE("a peer that never reads is dropped without blocking the others") {
  RunningServer s;
  REQUIRE(s.server);
  s.server->add_method("big",
                       [](const Json&) { return Json(std::string(size_t{512} * 1024, 'b')); });
  s.server->add_method("ping", [](const Json&) { return Json("pong"); });
  s.start();

  RawConnection hog(s.path());
  REQUIRE(hog.connected());
  std::string requests;
  for (int i = 0; i < 20; ++i) {  // 10 MiB of answers, more than the server keeps for a peer
    requests += "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(i) + ",\"method\":\"big\"}\n";
  }
  REQUIRE(hog.send(requests));

  // Generous: under ASan on a loaded 2-core machine, producing the hog's
  // 10 MiB takes seconds; what matters is that the answer comes at all.
  auto client = JsonRpcClient::connect(s.path(), 15s);
  REQUIRE(client.ok());
  auto pong = client->call("ping");
  REQUIRE(pong.ok());
  CHECK(*pong == "pong");
  CHECK(hog.closed_by_peer());
}

TEST_CASE("a slow reader still gets a large answer in full") {
  RunningServer s;
  REQUIRE(s.server);
  s.server->add_method("big", [](const Json&) { return Json(std::string(3 << 20, 'b')); });
  s.start();
  RawConnection slow(s.path());
  REQUIRE(slow.send("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"big\"}\n"));
  std::this_thread::sleep_for(50ms);  // the server fills the socket and must wait for us
  auto answer = slow.read_json(5s);
  REQUIRE(answer.has_value());
  CHECK((*answer)["result"].get_ref<const std::string&>().size() == (3u << 20));
}
