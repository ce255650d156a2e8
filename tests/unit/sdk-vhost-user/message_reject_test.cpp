// vhost-user codec: each malformed message is rejected with Errc::protocol and
// its own message, and every fd that came with it is closed.
#include <doctest/doctest.h>

#include <cstring>
#include <set>
#include <string>

#include "fd_helpers.hpp"
#include "nfv/vhost_user/message.hpp"

using namespace nfv::vhost_user;

namespace {

std::set<std::string> g_seen;  // every rejection text, to prove they differ

std::vector<uint8_t> wire(uint32_t code, uint32_t flags, std::vector<uint8_t> payload, int size_delta = 0) {
  // One allocation and memcpy (vector::insert trips a GCC 12 -Warray-bounds false positive).
  std::vector<uint8_t> w(kHeaderSize + payload.size());
  const uint32_t size = static_cast<uint32_t>(static_cast<int>(payload.size()) + size_delta);
  std::memcpy(w.data(), &code, 4);
  std::memcpy(w.data() + 4, &flags, 4);
  std::memcpy(w.data() + 8, &size, 4);
  if (!payload.empty()) std::memcpy(w.data() + kHeaderSize, payload.data(), payload.size());
  return w;
}

template <typename T>
std::vector<uint8_t> bytes(const T& v) {
  std::vector<uint8_t> b(sizeof(T));
  std::memcpy(b.data(), &v, sizeof(T));
  return b;
}

std::vector<uint8_t> table(std::vector<MemoryRegion> rs, uint32_t claimed) {
  std::vector<uint8_t> p(8, 0);
  std::memcpy(p.data(), &claimed, 4);
  for (const auto& r : rs) {
    const auto b = bytes(r);
    p.insert(p.end(), b.begin(), b.end());
  }
  return p;
}

// Decodes `w` with `nfds` fresh eventfds; expects rejection naming `expect`.
void rejects(MessageKind kind, const std::vector<uint8_t>& w, std::size_t nfds, const std::string& expect) {
  auto fds = vu_test::make_fds(nfds);
  auto r = Message::decode(kind, w, std::move(fds.owned));
  CAPTURE(expect);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == nfv::Errc::protocol);
  CHECK_MESSAGE(r.error().message.find(expect) != std::string::npos, r.error().message);
  CHECK_MESSAGE(vu_test::all_closed(fds.numbers), "fds of a rejected message leaked");
  const bool fresh = g_seen.insert(r.error().message).second;
  const std::string dup = "duplicate rejection text: " + r.error().message;
  CHECK_MESSAGE(fresh, dup);
}

constexpr auto kReq = MessageKind::request;
constexpr auto kRep = MessageKind::reply;
constexpr uint32_t V = kVersion;
const MemoryRegion kR0{0, 0x10000, 0x7f0000000000, 0};
const MemoryRegion kR1{0x10000, 0x10000, 0x7f0000100000, 0};

}  // namespace

TEST_CASE("header rejections") {
  rejects(kReq, {1, 0, 0, 0, 1, 0}, 1, "message truncated");
  rejects(kReq, wire(1, 0x0, {}), 1, "unsupported protocol version 0");
  rejects(kReq, wire(1, 0x2, {}), 1, "unsupported protocol version 2");
  rejects(kReq, wire(1, V | 0x10, {}), 1, "undefined header flag bits 0x10");
  rejects(kReq, wire(0, V, {}), 1, "unknown request code 0");
  rejects(kReq, wire(44, V, {}), 1, "unknown request code 44");
  rejects(MessageKind::backend_request, wire(9, V, {}), 1, "unknown back-end request code 9");
  rejects(kReq, wire(1, V | kFlagReply, {}), 1, "request has the reply flag");
  rejects(kRep, wire(1, V, bytes(uint64_t{1})), 1, "reply lacks the reply flag");
  rejects(kRep, wire(1, V | kFlagReply | kFlagNeedReply, bytes(uint64_t{1})), 1, "reply has need_reply");
  rejects(kReq, wire(26, V, std::vector<uint8_t>(kMaxPayloadSize + 1)), 1, "exceeds the maximum");
  rejects(kReq, wire(2, V, bytes(uint64_t{1}), +1), 1, "announces 9 payload bytes but 8 arrived");
  rejects(kReq, wire(2, V, bytes(uint64_t{1}), -1), 1, "announces 7 payload bytes but 8 arrived");
}

TEST_CASE("payload size rejections") {
  rejects(kReq, wire(2, V, {1, 2, 3, 4}), 1, "SET_FEATURES payload is 4 bytes, expected 8");
  rejects(kReq, wire(1, V, bytes(uint64_t{0})), 0, "GET_FEATURES payload is 8 bytes, expected 0");
  rejects(kReq, wire(9, V, std::vector<uint8_t>(39)), 0, "SET_VRING_ADDR payload is 39 bytes, expected 40");
  rejects(kRep, wire(11, V | kFlagReply, {0, 0, 0, 0}), 0, "GET_VRING_BASE reply payload is 4 bytes");
  rejects(kRep, wire(2, V | kFlagReply, {}), 0, "SET_FEATURES reply payload is 0 bytes");
}

TEST_CASE("memory table rejections") {
  rejects(kReq, wire(5, V, {1, 0, 0, 0}), 1, "shorter than its 8-byte header");
  rejects(kReq, wire(5, V, table({}, 0)), 1, "memory table has 0 regions");
  rejects(kReq, wire(5, V, table({kR0, kR1, kR0, kR1, kR0, kR1, kR0, kR1, kR0}, 9)), 8, "9 regions, at most 8");
  rejects(kReq, wire(5, V, table({kR0}, 2)), 2, "but 2 regions need 72");
  rejects(kReq, wire(5, V, table({{0, 0, 0x7f0000000000, 0}}, 1)), 1, "region 0 has size 0");
  rejects(kReq, wire(5, V, table({kR0, {~0ull - 0xfff, 0x2000, 0x7f0000200000, 0}}, 2)), 2,
          "region 1: guest address 0xfffffffffffff000 + size 0x2000 wraps");
  rejects(kReq, wire(5, V, table({{0, 0x2000, ~0ull - 0xfff, 0}}, 1)), 1, "user address");
  rejects(kReq, wire(5, V, table({{0, 0x2000, 0x1000, ~0ull}}, 1)), 1, "mmap offset");
  rejects(kReq, wire(5, V, table({kR0, {0xffff, 0x10, 0x7f0000900000, 0}}, 2)), 2,
          "regions 0 and 1 overlap in guest-physical space");
  rejects(kReq, wire(5, V, table({kR0, {0x10000, 0x10, 0x7f000000fff0, 0}}, 2)), 2,
          "regions 0 and 1 overlap in user-address space");
  rejects(kReq, wire(37, V, bytes(SingleMemoryRegion{0, {0x1000, 0, 0x1000, 0}})), 1, "ADD_MEM_REG region has size 0");
}

TEST_CASE("fd count rejections") {
  rejects(kReq, wire(5, V, table({kR0, kR1}, 2)), 1, "SET_MEM_TABLE carries 1 fds, expected 2");
  rejects(kReq, wire(5, V, table({kR0, kR1}, 2)), 3, "SET_MEM_TABLE carries 3 fds, expected 2");
  rejects(kReq, wire(12, V, bytes(uint64_t{0})), 0, "SET_VRING_KICK carries 0 fds, expected 1");
  rejects(kReq, wire(13, V, bytes(uint64_t{kVringNoFdFlag})), 1, "expected 0 (the no-fd flag 0x100 is set)");
  rejects(kReq, wire(14, V, bytes(uint64_t{0x200})), 1, "u64 0x200 sets reserved bits above bit 8");
  rejects(kReq, wire(1, V, {}), 2, "GET_FEATURES carries 2 fds, expected 0");
  rejects(kReq, wire(38, V, bytes(SingleMemoryRegion{0, kR0})), 2, "expected 0 or 1");
  rejects(kRep, wire(28, V | kFlagReply, {}), 0, "POSTCOPY_ADVISE reply carries 0 fds");
  rejects(kReq, wire(3, V, {}), 9, "carries 9 fds, at most 8");
}

TEST_CASE("config space rejections") {
  rejects(kReq, wire(25, V, {0, 0, 0, 0}), 0, "shorter than the 12-byte config header");
  auto big = bytes(ConfigSpaceHeader{0, 257, 0});
  big.resize(12 + 257);
  rejects(kReq, wire(25, V, big), 0, "config access of 257 bytes exceeds");
  auto odd = bytes(ConfigSpaceHeader{0, 6, 0});
  odd.resize(12 + 4);
  rejects(kReq, wire(25, V, odd), 0, "config header says 6 bytes but 4 follow");
}

TEST_CASE("send-side validation refuses malformed messages") {
  // validate() is what UnixChannel::send runs; no fd is involved here.
  CHECK_FALSE(Message::memory_table({}).validate(0).ok());
  CHECK_FALSE(Message::request(FrontendRequest::set_vring_kick, uint64_t{1}).validate(0).ok());
  CHECK(Message::request(FrontendRequest::set_vring_kick, uint64_t{1}).validate(1).ok());
  std::vector<uint8_t> too_big(300);
  CHECK_FALSE(Message::config(kReq, FrontendRequest::set_config, 0, 0, too_big).validate(0).ok());
}
