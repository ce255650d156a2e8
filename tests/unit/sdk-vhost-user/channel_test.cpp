// vhost-user channel: real fds cross a socketpair and work; messages are
// reassembled from byte-by-byte writes; too many fds and rejected messages
// leak nothing; timeouts, hang-ups, connect and listen behave.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <optional>
#include <cstring>
#include <string>
#include <thread>

#include "fd_helpers.hpp"
#include "nfv/vhost_user/channel.hpp"

using namespace nfv::vhost_user;
using namespace std::chrono_literals;
using nfv::Errc;

namespace {

// A UnixChannel on one end, the raw socket on the other (to misbehave with).
struct RawPair {
  UniqueFd raw;
  UnixChannel chan{UniqueFd()};
};
RawPair raw_pair() {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  return RawPair{UniqueFd(sv[0]), UnixChannel(UniqueFd(sv[1]))};
}

// sendmsg() of `data` with `fds` attached.
void raw_send(int sock, const uint8_t* data, std::size_t n, const std::vector<int>& fds = {}) {
  iovec iov{const_cast<uint8_t*>(data), n};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    mh.msg_control = control.data();
    mh.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  REQUIRE(::sendmsg(sock, &mh, MSG_NOSIGNAL) == static_cast<ssize_t>(n));
}

std::string temp_socket_path(const char* tag) {
  return "/tmp/nfv-vu-test-" + std::to_string(::getpid()) + "-" + tag + ".sock";
}

}  // namespace

TEST_CASE("SET_MEM_TABLE passes a memfd that maps the same memory") {
  auto pair = unix_channel_pair();
  REQUIRE(pair.ok());
  auto& [front, back] = *pair;
  UniqueFd mem(vu_test::make_memfd(1 << 20));
  REQUIRE(mem.valid());
  REQUIRE(::pwrite(mem.get(), "vhost", 5, 4096) == 5);

  const MemoryRegion r{0, 1 << 20, 0x7f0000000000, 0};
  const int fds[] = {mem.get()};
  REQUIRE(front.send(Message::memory_table({&r, 1}), fds).ok());
  auto m = back.receive(MessageKind::request, 1s);
  REQUIRE_MESSAGE(m.ok(), m.error().message);
  REQUIRE(m->fds().size() == 1);
  const int got = m->fds()[0].get();
  CHECK(got != mem.get());
  CHECK((::fcntl(got, F_GETFD) & FD_CLOEXEC) != 0);  // MSG_CMSG_CLOEXEC
  void* p = ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, got, 0);
  REQUIRE(p != MAP_FAILED);
  CHECK(std::memcmp(static_cast<char*>(p) + 4096, "vhost", 5) == 0);
  static_cast<char*>(p)[0] = 'x';  // and writes show through the sender's fd
  char c = 0;
  CHECK(::pread(mem.get(), &c, 1, 0) == 1);
  CHECK(c == 'x');
  ::munmap(p, 1 << 20);
  CHECK((*m->memory_regions())[0].memory_size == 1 << 20);
}

TEST_CASE("kick and call eventfds arrive in order and signal") {
  auto pair = unix_channel_pair();
  REQUIRE(pair.ok());
  auto& [front, back] = *pair;
  UniqueFd kick(vu_test::make_eventfd()), call(vu_test::make_eventfd());
  const int k[] = {kick.get()};
  const int c[] = {call.get()};
  REQUIRE(front.send(Message::request(FrontendRequest::set_vring_kick, uint64_t{0}), k).ok());
  REQUIRE(front.send(Message::request(FrontendRequest::set_vring_call, uint64_t{0}), c).ok());
  REQUIRE(front.send(Message::request(FrontendRequest::set_vring_err, uint64_t{kVringNoFdFlag})).ok());
  auto mk = back.receive(MessageKind::request, 1s);
  auto mc = back.receive(MessageKind::request, 1s);
  auto me = back.receive(MessageKind::request, 1s);
  REQUIRE((mk.ok() && mc.ok() && me.ok()));
  CHECK(me->fds().empty());
  uint64_t v = 7;
  REQUIRE(::write(mk->fds()[0].get(), &v, 8) == 8);  // back-end end of kick
  uint64_t out = 0;
  REQUIRE(::read(kick.get(), &out, 8) == 8);
  CHECK(out == 7);
  v = 9;
  REQUIRE(::write(call.get(), &v, 8) == 8);  // front-end signals, back-end reads
  REQUIRE(::read(mc->fds()[0].get(), &out, 8) == 8);
  CHECK(out == 9);
}

TEST_CASE("a message written byte by byte is reassembled, fds on the first byte") {
  auto [raw, chan] = raw_pair();
  UniqueFd ev(vu_test::make_eventfd());
  const auto wire = Message::request(FrontendRequest::set_vring_call, uint64_t{3}).encode();
  std::thread writer([&, fd = raw.get()] {
    raw_send(fd, wire.data(), 1, {ev.get()});
    for (std::size_t i = 1; i < wire.size(); ++i) {
      std::this_thread::sleep_for(1ms);
      raw_send(fd, wire.data() + i, 1);
    }
  });
  auto m = chan.receive(MessageKind::request, 5s);
  writer.join();
  REQUIRE_MESSAGE(m.ok(), m.error().message);
  CHECK(*m->u64() == 3);
  CHECK(m->fds().size() == 1);
}

TEST_CASE("more than 8 fds: protocol error, all closed") {
  for (std::size_t n : {9u, 40u}) {  // 40 overflows the control buffer (MSG_CTRUNC)
    CAPTURE(n);
    auto [raw, chan] = raw_pair();
    std::vector<int> fds;
    for (std::size_t i = 0; i < n; ++i) fds.push_back(vu_test::make_eventfd());
    const auto wire = Message::request(FrontendRequest::set_owner).encode();
    raw_send(raw.get(), wire.data(), wire.size(), fds);
    for (int fd : fds) ::close(fd);  // only the in-flight copies remain
    const std::size_t before = vu_test::count_open_fds();
    auto m = chan.receive(MessageKind::request, 1s);
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().code == Errc::protocol);
    CHECK(m.error().message.find("at most 8") != std::string::npos);
    CHECK(vu_test::count_open_fds() == before);
  }
}

TEST_CASE("fds of a rejected message are closed; the stream stays usable if it was read whole") {
  auto [raw, chan] = raw_pair();
  std::vector<int> fds{vu_test::make_eventfd(), vu_test::make_eventfd()};
  // GET_FEATURES with two fds: well-formed bytes, wrong fd count.
  const auto bad = Message::request(FrontendRequest::get_features).encode();
  raw_send(raw.get(), bad.data(), bad.size(), fds);
  const auto good = Message::request(FrontendRequest::set_owner).encode();
  raw_send(raw.get(), good.data(), good.size());
  for (int fd : fds) ::close(fd);
  const std::size_t before = vu_test::count_open_fds();
  auto m = chan.receive(MessageKind::request, 1s);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code == Errc::protocol);
  CHECK(vu_test::count_open_fds() == before);
  CHECK_FALSE(chan.broken());
  auto next = chan.receive(MessageKind::request, 1s);
  REQUIRE(next.ok());
  CHECK(next->code() == 3);
}

TEST_CASE("a bad header closes its fds and breaks the channel") {
  auto [raw, chan] = raw_pair();
  const int fd = vu_test::make_eventfd();
  const uint32_t hdr[3] = {999, 1, 8};
  raw_send(raw.get(), reinterpret_cast<const uint8_t*>(hdr), sizeof hdr, {fd});  // u32[3] viewed as bytes
  ::close(fd);
  const std::size_t before = vu_test::count_open_fds();
  auto m = chan.receive(MessageKind::request, 1s);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().message.find("unknown request code 999") != std::string::npos);
  CHECK(vu_test::count_open_fds() == before);
  CHECK(chan.broken());
  CHECK(chan.receive(MessageKind::request, 10ms).error().code == Errc::disconnected);
}

TEST_CASE("timeouts") {
  SUBCASE("nothing arrives: timeout, channel still usable") {
    auto [raw, chan] = raw_pair();
    const auto t0 = std::chrono::steady_clock::now();
    auto m = chan.receive(MessageKind::request, 50ms);
    CHECK(std::chrono::steady_clock::now() - t0 >= 45ms);
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().code == Errc::timeout);
    CHECK_FALSE(chan.broken());
    const auto w = Message::request(FrontendRequest::set_owner).encode();
    raw_send(raw.get(), w.data(), w.size());
    CHECK(chan.receive(MessageKind::request, 1s).ok());
  }
  SUBCASE("peer stalls mid-message: timeout, channel broken") {
    auto [raw, chan] = raw_pair();
    const auto w = Message::request(FrontendRequest::set_features, uint64_t{1}).encode();
    raw_send(raw.get(), w.data(), 14);
    auto m = chan.receive(MessageKind::request, 50ms);
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().code == Errc::timeout);
    CHECK(m.error().message.find("after 14 of 20 bytes") != std::string::npos);
    CHECK(chan.broken());
  }
  SUBCASE("peer does not drain: send times out") {
    auto [raw, chan] = raw_pair();
    const std::vector<uint8_t> blob(4000, 1);
    const Message big(MessageKind::request, 26, blob);  // CREATE_CRYPTO_SESSION: opaque payload
    nfv::Status s;
    for (int i = 0; i < 10000 && s.ok(); ++i) s = chan.send(big, {}, 20ms);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == Errc::timeout);
  }
}

TEST_CASE("partial writes: many large messages through small socket buffers") {
  auto [raw, chan] = raw_pair();
  int small = 4096;
  ::setsockopt(chan.fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  ::setsockopt(raw.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  UnixChannel reader(std::move(raw));
  constexpr int kCount = 200;
  int received = 0;
  std::thread t([&] {
    for (int i = 0; i < kCount; ++i) {
      auto m = reader.receive(MessageKind::request, 5s);
      if (!m.ok() || m->payload().size() != 4000 || m->payload()[3999] != static_cast<uint8_t>(i)) return;
      ++received;
    }
  });
  for (int i = 0; i < kCount; ++i) {
    std::vector<uint8_t> blob(4000, static_cast<uint8_t>(i));
    REQUIRE(chan.send(Message(MessageKind::request, 26, blob), {}, 5s).ok());
  }
  t.join();
  CHECK(received == kCount);
}

TEST_CASE("hang-ups") {
  SUBCASE("at a message boundary") {
    auto [raw, chan] = raw_pair();
    raw.reset();
    auto m = chan.receive(MessageKind::request, 1s);
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().code == Errc::disconnected);
  }
  SUBCASE("mid-message, with fds in flight") {
    auto [raw, chan] = raw_pair();
    const int fd = vu_test::make_eventfd();
    const auto w = Message::request(FrontendRequest::set_vring_addr, VringAddress{}).encode();
    raw_send(raw.get(), w.data(), 30, {fd});
    ::close(fd);
    raw.reset();
    const std::size_t before = vu_test::count_open_fds();
    auto m = chan.receive(MessageKind::request, 1s);
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().code == Errc::disconnected);
    CHECK(m.error().message.find("mid-message, after 30 of 52 bytes") != std::string::npos);
    CHECK(vu_test::count_open_fds() == before);
  }
  SUBCASE("send to a closed peer") {
    auto [raw, chan] = raw_pair();
    raw.reset();
    auto s = chan.send(Message::request(FrontendRequest::set_owner));
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == Errc::disconnected);
  }
}

TEST_CASE("send refuses messages that break the spec") {
  auto pair = unix_channel_pair();
  REQUIRE(pair.ok());
  std::vector<int> nine(9, 0);
  auto s = pair->first.send(Message::request(FrontendRequest::set_owner), nine);
  CHECK(s.error().code == Errc::invalid_argument);
  s = pair->first.send(Message::request(FrontendRequest::set_vring_kick, uint64_t{0}));
  CHECK(s.error().code == Errc::invalid_argument);
  CHECK_FALSE(pair->first.broken());
}

TEST_CASE("listen, connect, accept") {
  const std::string path = temp_socket_path("lca");
  SUBCASE("connect retries until the listener appears; messages flow both ways") {
    std::optional<nfv::Result<UnixChannel>> client;
    std::thread t([&] { client.emplace(connect_unix(path, 2s)); });
    std::this_thread::sleep_for(50ms);
    auto l = UnixListener::listen(path);
    REQUIRE_MESSAGE(l.ok(), l.error().message);
    auto server = l->accept(2s);
    t.join();
    REQUIRE(server.ok());
    REQUIRE((client && client->ok()));
    auto& front = client->value();
    REQUIRE(front.send(Message::request(FrontendRequest::get_features)).ok());
    auto req = server->receive(MessageKind::request, 1s);
    REQUIRE(req.ok());
    REQUIRE(server->send(Message::reply(FrontendRequest::get_features, uint64_t{1} << 32)).ok());
    auto rep = front.receive(MessageKind::reply, 1s);
    REQUIRE(rep.ok());
    CHECK(*rep->u64() == uint64_t{1} << 32);
  }
  SUBCASE("timeouts and errors") {
    auto c = connect_unix(path, 50ms);
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == Errc::timeout);
    auto l = UnixListener::listen(path);
    REQUIRE(l.ok());
    auto a = l->accept(30ms);
    CHECK(a.error().code == Errc::timeout);
    auto again = UnixListener::listen(path);
    CHECK(again.error().code == Errc::already_exists);
    CHECK(UnixListener::listen(std::string(200, 'x')).error().code == Errc::invalid_argument);
  }
  SUBCASE("a stale socket file is replaced, and removed on destruction") {
    {
      UniqueFd s(::socket(AF_UNIX, SOCK_STREAM, 0));
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::memcpy(a.sun_path, path.c_str(), path.size());
      REQUIRE(::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);  // sockaddr_un is a sockaddr
    }  // closed without unlink: stale
    {
      auto l = UnixListener::listen(path);
      REQUIRE_MESSAGE(l.ok(), l.error().message);
    }
    CHECK(::access(path.c_str(), F_OK) != 0);
  }
  ::unlink(path.c_str());
}
