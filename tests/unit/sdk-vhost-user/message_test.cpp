// vhost-user codec: every request and reply of the spec's tables encodes,
// decodes and re-encodes to the same bytes, with the fds its rule asks for.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "fd_helpers.hpp"
#include "nfv/vhost_user/message.hpp"

using namespace nfv::vhost_user;

namespace {

template <typename T>
std::vector<uint8_t> bytes(const T& v) {
  std::vector<uint8_t> b(sizeof(T));
  std::memcpy(b.data(), &v, sizeof(T));
  return b;
}

MemoryRegion region(uint64_t gpa, uint64_t size, uint64_t uaddr, uint64_t off) { return {gpa, size, uaddr, off}; }

// A valid payload of `type` and how many regions it holds (for per_region fds).
std::vector<uint8_t> sample(PayloadType type, std::size_t& regions) {
  regions = 0;
  switch (type) {
    case PayloadType::none: return {};
    case PayloadType::u64: return bytes(uint64_t{5});  // vring index 5, fd attached
    case PayloadType::vring_state: return bytes(VringState{1, 256});
    case PayloadType::vring_address: return bytes(VringAddress{1, 0, 0x1000, 0x2000, 0x3000, 0});
    case PayloadType::memory_table: {
      regions = 2;
      std::vector<uint8_t> p(8 + 2 * sizeof(MemoryRegion), 0);
      p[0] = 2;
      const MemoryRegion r[2] = {region(0, 0x100000, 0x7f0000000000, 0),
                                 region(0x100000, 0x200000, 0x7f1000000000, 0x1000)};
      std::memcpy(p.data() + 8, r, sizeof r);
      return p;
    }
    case PayloadType::single_region: return bytes(SingleMemoryRegion{0, region(0x4000, 0x1000, 0x7f2000000000, 0)});
    case PayloadType::log: return bytes(LogDescription{0x2000, 0});
    case PayloadType::iotlb: return bytes(IotlbMessage{0x1000, 0x1000, 0x7f0000001000, 3, 2, {}});
    case PayloadType::config: {
      std::vector<uint8_t> p = bytes(ConfigSpaceHeader{0, 6, 0});
      for (uint8_t b : {0x52, 0x54, 0x00, 0x12, 0x34, 0x56}) p.push_back(b);
      return p;
    }
    case PayloadType::vring_area: return bytes(VringArea{2, 0x1000, 0});
    case PayloadType::inflight: return bytes(InflightDescription{0x3000, 0, 2, 256, {}});
    case PayloadType::device_state: return bytes(DeviceStateTransfer{0, 0});
    case PayloadType::shared_object: {
      SharedObject o{};
      for (int i = 0; i < 16; ++i) o.uuid[i] = static_cast<uint8_t>(i * 7);
      return bytes(o);
    }
    case PayloadType::opaque: return std::vector<uint8_t>(100, 0xab);
  }
  return {};
}

std::size_t fds_for(FdRule rule, std::size_t regions) {
  switch (rule) {
    case FdRule::none: return 0;
    case FdRule::one: return 1;
    case FdRule::per_region: return regions;
    case FdRule::unless_no_fd: return 1;  // the samples never set the no-fd flag
    case FdRule::optional_one: return 1;
  }
  return 0;
}

// Builds, encodes, decodes and re-encodes one message; checks fds arrive.
void round_trip(MessageKind kind, uint32_t code, PayloadType type, FdRule rule, const char* name) {
  std::size_t regions = 0;
  const std::vector<uint8_t> payload = sample(type, regions);
  const std::size_t nfds = fds_for(rule, regions);
  CAPTURE(name);
  CAPTURE(message_kind_name(kind));
  Message m(kind, code, payload);
  REQUIRE(m.validate(nfds).ok());
  const std::vector<uint8_t> wire = m.encode();
  REQUIRE(wire.size() == kHeaderSize + payload.size());

  auto fds = vu_test::make_fds(nfds);
  auto d = Message::decode(kind, wire, std::move(fds.owned));
  REQUIRE_MESSAGE(d.ok(), d.error().message);
  CHECK(d->code() == code);
  CHECK(std::string(d->name()) == name);
  CHECK(d->header().size == payload.size());
  CHECK(std::vector<uint8_t>(d->payload().begin(), d->payload().end()) == payload);
  CHECK(d->encode() == wire);
  REQUIRE(d->fds().size() == nfds);
  for (std::size_t i = 0; i < nfds; ++i) CHECK(d->fds()[i].get() == fds.numbers[i]);
  const bool reply_bit = (wire[4] & kFlagReply) != 0;
  CHECK(reply_bit == (kind == MessageKind::reply || kind == MessageKind::backend_reply));
  // Destroying the message closes its fds.
  { Message gone = std::move(d).value(); }
  CHECK(vu_test::all_closed(fds.numbers));
}

}  // namespace

TEST_CASE("every front-end request and its reply round-trip") {
  int count = 0;
  for (uint32_t code = kFirstFrontendRequest; code <= kLastFrontendRequest; ++code) {
    const auto spec = frontend_request_spec(code);
    REQUIRE(spec.has_value());
    round_trip(MessageKind::request, code, spec->request, spec->request_fds, spec->name);
    round_trip(MessageKind::reply, code, spec->reply, spec->reply_fds, spec->name);
    ++count;
  }
  CHECK(count == 43);
  CHECK_FALSE(frontend_request_spec(0).has_value());
  CHECK_FALSE(frontend_request_spec(kLastFrontendRequest + 1).has_value());
}

TEST_CASE("every back-end request and its reply round-trip") {
  for (uint32_t code = kFirstBackendRequest; code <= kLastBackendRequest; ++code) {
    const auto spec = backend_request_spec(code);
    REQUIRE(spec.has_value());
    round_trip(MessageKind::backend_request, code, spec->request, spec->request_fds, spec->name);
    round_trip(MessageKind::backend_reply, code, spec->reply, spec->reply_fds, spec->name);
  }
  CHECK_FALSE(backend_request_spec(kLastBackendRequest + 1).has_value());
}

TEST_CASE("typed builders and accessors") {
  SUBCASE("u64 request with need_reply") {
    auto m = Message::request(FrontendRequest::set_features, uint64_t{0x140000000});
    m.set_need_reply();
    const auto wire = m.encode();
    CHECK(wire == std::vector<uint8_t>{2, 0, 0, 0, 0x9, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x40, 1, 0, 0, 0});
    auto d = Message::decode(MessageKind::request, wire, {});
    REQUIRE(d.ok());
    CHECK(d->need_reply());
    CHECK(*d->u64() == 0x140000000);
    CHECK_FALSE(d->as<VringAddress>().ok());  // wrong size for the accessor
  }
  SUBCASE("vring address") {
    const VringAddress a{3, 1, 0x10000, 0x20000, 0x30000, 0x40000};
    auto d = Message::decode(MessageKind::request, Message::request(FrontendRequest::set_vring_addr, a).encode(), {});
    REQUIRE(d.ok());
    const auto b = d->as<VringAddress>();
    REQUIRE(b.ok());
    CHECK(b->index == 3);
    CHECK(b->flags == 1);
    CHECK(b->descriptor == 0x10000);
    CHECK(b->used == 0x20000);
    CHECK(b->available == 0x30000);
    CHECK(b->log == 0x40000);
  }
  SUBCASE("memory table with eight regions") {
    std::vector<MemoryRegion> rs;
    for (uint64_t i = 0; i < 8; ++i) rs.push_back(region(i << 30, 1 << 20, 0x7f0000000000 + (i << 30), i * 4096));
    const auto m = Message::memory_table(rs);
    CHECK(m.header().size == 8 + 8 * 32);
    auto fds = vu_test::make_fds(8);
    auto d = Message::decode(MessageKind::request, m.encode(), std::move(fds.owned));
    REQUIRE_MESSAGE(d.ok(), d.error().message);
    const auto got = d->memory_regions();
    REQUIRE(got.ok());
    REQUIRE(got->size() == 8);
    CHECK((*got)[7].guest_phys_addr == 7ull << 30);
    CHECK((*got)[7].mmap_offset == 7 * 4096);
    auto taken = d->take_fds();
    CHECK(taken.size() == 8);
    CHECK(d->fds().empty());
  }
  SUBCASE("config space") {
    const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
    const auto m = Message::config(MessageKind::reply, FrontendRequest::get_config, 0, 0, mac);
    auto d = Message::decode(MessageKind::reply, m.encode(), {});
    REQUIRE(d.ok());
    const auto c = d->config_space();
    REQUIRE(c.ok());
    CHECK(c->first.size == 6);
    CHECK(c->second == std::vector<uint8_t>(mac, mac + 6));
    // A zero-length GET_CONFIG reply is the spec's error indication.
    CHECK(Message::decode(MessageKind::reply, Message(MessageKind::reply, 24).encode(), {}).ok());
  }
  SUBCASE("vring fd with the no-fd flag needs no fd") {
    const auto m = Message::request(FrontendRequest::set_vring_call, uint64_t{kVringNoFdFlag | 1});
    CHECK(m.validate(0).ok());
    CHECK_FALSE(m.validate(1).ok());
    CHECK(Message::decode(MessageKind::request, m.encode(), {}).ok());
  }
  SUBCASE("a u64 ack answers any request") {
    const auto m = Message::reply(FrontendRequest::set_mem_table, uint64_t{0});
    CHECK(Message::decode(MessageKind::reply, m.encode(), {}).ok());
  }
}

TEST_CASE("UniqueFd closes, moves and releases") {
  const int a = vu_test::make_eventfd();
  {
    UniqueFd f(a);
    UniqueFd g(std::move(f));
    CHECK_FALSE(f.valid());
    CHECK(g.get() == a);
  }
  CHECK_FALSE(vu_test::fd_is_open(a));
  const int b = vu_test::make_eventfd();
  UniqueFd h(b);
  CHECK(h.release() == b);
  CHECK(vu_test::fd_is_open(b));
  ::close(b);
}
