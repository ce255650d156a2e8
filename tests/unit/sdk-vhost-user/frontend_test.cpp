// vhost-user front-end against the dummy back-end: the exact requests of the
// handshake (order, payloads, fds, need_reply), negotiation without REPLY_ACK
// or without protocol features, caller mistakes refused before anything is
// sent, GET_VRING_BASE / GET_CONFIG answers checked, check_alive().
// Misbehaving back-ends: frontend_fault_test.cpp.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/stat.h>

#include "frontend_helpers.hpp"

using namespace nfv::vhost_user;
using namespace std::chrono_literals;
using namespace vu_test;
using nfv::Errc;

namespace {

ino_t inode_of(int fd) {
  struct stat st {};
  REQUIRE(::fstat(fd, &st) == 0);
  return st.st_ino;
}

DummyConfig config_with_space() {
  DummyConfig c;
  c.vring_base = 77;
  c.config = {1, 2, 3, 4, 5, 6, 7, 8};
  return c;
}

}  // namespace

TEST_CASE("handshake with REPLY_ACK: every request in order, payloads, fds and need_reply") {
  auto rig = make_rig(config_with_space());
  Env env;
  auto opt = full_options();
  opt.protocol_features |= bit(ProtocolFeature::status);  // not offered: must not be negotiated
  auto run = run_handshake(std::move(rig.front), opt, env);
  REQUIRE_MESSAGE(run.status.ok(), run.status.error().message);
  auto& fe = *run.fe;
  CHECK(fe.device_features() == (kVersion1 | kFeatureProtocolFeatures));
  CHECK(fe.protocol_features() ==
        (bit(ProtocolFeature::mq) | bit(ProtocolFeature::reply_ack) | bit(ProtocolFeature::config)));
  CHECK(fe.max_queue_pairs() == 4);
  CHECK(fe.acked_features() == kVersion1);
  CHECK(run.stopped_at == 77);

  // Ring 0 with both fds, to see CALL carry one.
  const VringSetup ring0{0, 1024, kFrontUserBase + 0x4000, kFrontUserBase + 0x8000, kFrontUserBase + 0x9000, 0,
                         env.kick.get(), env.call.get()};
  REQUIRE(fe.setup_vring(ring0).ok());
  auto cfg = fe.get_config(2, 4);
  REQUIRE(cfg.ok());
  CHECK(*cfg == std::vector<uint8_t>{3, 4, 5, 6});
  CHECK(fe.check_alive().ok());

  const auto log = rig.back->requests();
  REQUIRE(log.size() == kStepCount + 6);
  for (std::size_t i = 0; i < kStepCount; ++i) {
    const std::string step = kSteps[i];
    CAPTURE(step);
    CHECK(log[i].code == kStepCodes[i]);
    CHECK((log[i].flags & (kVersionMask | kFlagReply)) == kVersion);
    // SET_* after SET_PROTOCOL_FEATURES ask for an ack; GET_* have their own answer.
    CHECK(log[i].need_reply() == (i >= 5 && i <= 12));
    CHECK(log[i].fd_count == ((i == 6 || i == 11) ? 1u : 0u));
  }
  CHECK(log[3].as<uint64_t>() ==
        (bit(ProtocolFeature::mq) | bit(ProtocolFeature::reply_ack) | bit(ProtocolFeature::config)));
  CHECK(log[5].as<uint64_t>() == (kVersion1 | kFeatureProtocolFeatures));
  const auto table = log[6].as<MemoryTable>();
  CHECK(log[6].payload.size() == kMemoryTableHeaderSize + sizeof(MemoryRegion));
  CHECK(table.num_regions == 1);
  const MemoryRegion want = env.region().region;
  CHECK(std::memcmp(&table.regions[0], &want, sizeof want) == 0);
  CHECK(log[6].fd_inodes.at(0) == inode_of(env.mem.get()));  // the memfd itself went over
  CHECK(log[7].as<uint64_t>() == (1 | kVringNoFdFlag));      // CALL: no fd
  const auto num = log[8].as<VringState>();
  CHECK((num.index == 1 && num.num == 256));
  const auto base = log[9].as<VringState>();
  CHECK((base.index == 1 && base.num == 5));
  const auto addr = log[10].as<VringAddress>();
  CHECK((addr.index == 1 && addr.flags == 0 && addr.log == 0));
  CHECK(addr.descriptor == kFrontUserBase);
  CHECK(addr.available == kFrontUserBase + 0x1000);
  CHECK(addr.used == kFrontUserBase + 0x2000);
  CHECK(log[11].as<uint64_t>() == 1);  // KICK: index 1 with its fd
  const auto en = log[12].as<VringState>();
  CHECK((en.index == 1 && en.num == 1));
  const auto gc = log[13].as<ConfigSpaceHeader>();
  CHECK((gc.offset == 0 && gc.size == 6 && gc.flags == 0));
  CHECK(log[13].payload.size() == sizeof(ConfigSpaceHeader) + 6);
  const auto gb = log[14].as<VringState>();
  CHECK((gb.index == 1 && gb.num == 0));

  // Ring 0: CALL carries the call eventfd, no NOFD flag.
  CHECK(log[15].code == 13);
  CHECK(log[15].as<uint64_t>() == 0);
  CHECK(log[15].fd_count == 1);
  CHECK(log[19].code == 12);
  CHECK(log[19].fd_count == 1);
  CHECK(log[20].code == 24);
}

TEST_CASE("without REPLY_ACK no request asks for a reply") {
  auto rig = make_rig(config_with_space());  // offers REPLY_ACK; we do not want it
  Env env;
  auto opt = full_options();
  opt.protocol_features &= ~bit(ProtocolFeature::reply_ack);
  auto run = run_handshake(std::move(rig.front), opt, env);
  REQUIRE_MESSAGE(run.status.ok(), run.status.error().message);
  CHECK_FALSE(run.fe->has(ProtocolFeature::reply_ack));
  const auto log = rig.back->requests();
  REQUIRE(log.size() == kStepCount);
  for (std::size_t i = 0; i < kStepCount; ++i) {
    const std::string step = kSteps[i];
    CAPTURE(step);
    CHECK(log[i].code == kStepCodes[i]);
    CHECK_FALSE(log[i].need_reply());
  }
  CHECK(log[3].as<uint64_t>() == (bit(ProtocolFeature::mq) | bit(ProtocolFeature::config)));
  CHECK(run.fe->check_alive().ok());
}

TEST_CASE("back-end without protocol features: no GET_PROTOCOL_FEATURES, no GET_QUEUE_NUM, enable is a no-op") {
  DummyConfig cfg;
  cfg.features = kVersion1 | (uint64_t{1} << 5);
  auto rig = make_rig(cfg);
  Env env;
  auto run = run_handshake(std::move(rig.front), full_options(), env);
  REQUIRE_MESSAGE(run.status.ok(), run.status.error().message);
  auto& fe = *run.fe;
  CHECK(fe.protocol_features() == 0);
  CHECK(fe.max_queue_pairs() == 1);
  CHECK(fe.enable_vring(1, false).ok());
  auto c = fe.get_config(0, 4);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().code == Errc::unsupported);
  CHECK(names_step(c.error(), "GET_CONFIG"));
  CHECK(rig.back->codes() == std::vector<uint32_t>{3, 1, 2, 5, 13, 8, 10, 9, 12, 11});
  CHECK(rig.back->requests()[2].as<uint64_t>() == kVersion1);  // no PROTOCOL_FEATURES bit
}

TEST_CASE("protocol features without MQ: no GET_QUEUE_NUM, one queue pair") {
  DummyConfig cfg;
  cfg.protocol_features = bit(ProtocolFeature::reply_ack);
  auto rig = make_rig(cfg);
  auto fe = VhostUserFrontend::start(std::move(rig.front), full_options());
  REQUIRE(fe.ok());
  CHECK(fe->max_queue_pairs() == 1);
  CHECK(fe->protocol_features() == bit(ProtocolFeature::reply_ack));
  CHECK(fe->enable_vring(0, true).ok());  // protocol features on: sent, acked
  CHECK(rig.back->codes() == std::vector<uint32_t>{3, 1, 15, 16, 18});
}

TEST_CASE("GET_QUEUE_NUM answers outside 1..65535 are protocol errors") {
  for (uint64_t n : {uint64_t{0}, uint64_t{0x10000}, ~uint64_t{0}}) {
    CAPTURE(n);
    DummyConfig cfg;
    cfg.queue_num = n;
    auto rig = make_rig(cfg);
    auto fe = VhostUserFrontend::start(std::move(rig.front), full_options());
    REQUIRE_FALSE(fe.ok());
    CHECK(fe.error().code == Errc::protocol);
    CHECK(names_step(fe.error(), "GET_QUEUE_NUM"));
  }
  DummyConfig cfg;
  cfg.queue_num = 0xffff;
  auto rig = make_rig(cfg);
  auto fe = VhostUserFrontend::start(std::move(rig.front), full_options());
  REQUIRE(fe.ok());
  CHECK(fe->max_queue_pairs() == 0xffff);
}

TEST_CASE("caller mistakes: invalid_argument, nothing sent, front-end still usable") {
  auto rig = make_rig();
  Env env;
  auto started = VhostUserFrontend::start(std::move(rig.front), full_options());
  REQUIRE(started.ok());
  auto& fe = *started;
  const std::size_t sent = rig.back->requests().size();
  const auto refused = [&](const nfv::Status& s, const char* step) {
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == Errc::invalid_argument);
    CHECK_MESSAGE(names_step(s.error(), step), s.error().message);
  };

  refused(fe.set_features(kVersion1 | (uint64_t{1} << 5)), "SET_FEATURES");
  CHECK(fe.acked_features() == 0);
  refused(fe.set_mem_table({}), "SET_MEM_TABLE");
  std::vector<SharedMemory> nine(9, env.region());
  refused(fe.set_mem_table(nine), "SET_MEM_TABLE");
  SharedMemory no_fd = env.region();
  no_fd.fd = -1;
  refused(fe.set_mem_table({&no_fd, 1}), "SET_MEM_TABLE");
  const SharedMemory overlapping[] = {env.region(), env.region()};
  refused(fe.set_mem_table(overlapping), "SET_MEM_TABLE");
  CHECK(fe.set_mem_table(overlapping).error().message ==
        "vhost-user SET_MEM_TABLE: memory regions 0 and 1 overlap in guest-physical space");

  for (uint32_t size : {0u, 3u, 100u, 65536u}) {
    VringSetup r = env.ring();
    r.size = size;
    refused(fe.setup_vring(r), "SET_VRING_NUM");
  }
  VringSetup r = env.ring();
  r.index = 256;
  refused(fe.setup_vring(r), "SET_VRING_NUM");
  r = env.ring();
  r.desc_addr += 8;
  refused(fe.setup_vring(r), "SET_VRING_ADDR");
  refused(fe.enable_vring(300, true), "SET_VRING_ENABLE");
  auto st = fe.stop_vring(256);
  refused(st.ok() ? nfv::Status{} : nfv::Status{st.error()}, "GET_VRING_BASE");
  auto c = fe.get_config(250, 7);
  refused(c.ok() ? nfv::Status{} : nfv::Status{c.error()}, "GET_CONFIG");

  CHECK(rig.back->requests().size() == sent);
  CHECK(fe.set_features(kVersion1).ok());  // not poisoned
  const SharedMemory one = env.region();
  CHECK(fe.set_mem_table({&one, 1}).ok());
  VringSetup big = env.ring();
  big.size = 32768;
  CHECK(fe.setup_vring(big).ok());
}

TEST_CASE("GET_VRING_BASE: the answer must be for the ring asked about") {
  SUBCASE("index mismatch") {
    DummyConfig cfg;
    cfg.vring_index_skew = 1;
    auto rig = make_rig(cfg);
    auto fe = VhostUserFrontend::start(std::move(rig.front), full_options());
    REQUIRE(fe.ok());
    auto b = fe->stop_vring(2);
    REQUIRE_FALSE(b.ok());
    CHECK(b.error().code == Errc::protocol);
    CHECK(names_step(b.error(), "GET_VRING_BASE"));
    CHECK(b.error().message.find("ring 3") != std::string::npos);
    CHECK(fe->check_alive().error().code == Errc::disconnected);  // poisoned
  }
  SUBCASE("index beyond 16 bits") {
    DummyConfig cfg;
    cfg.vring_base = 0x10000;
    auto rig = make_rig(cfg);
    auto fe = VhostUserFrontend::start(std::move(rig.front), full_options());
    REQUIRE(fe.ok());
    auto b = fe->stop_vring(0);
    REQUIRE_FALSE(b.ok());
    CHECK(b.error().code == Errc::protocol);
  }
}

TEST_CASE("GET_CONFIG: reads the back-end's config space; a shifted answer is refused") {
  SUBCASE("data") {
    auto rig = make_rig(config_with_space());
    auto fe = VhostUserFrontend::start(std::move(rig.front), full_options());
    REQUIRE(fe.ok());
    auto c = fe->get_config(6, 4);  // past the back-end's 8 bytes: zeros
    REQUIRE(c.ok());
    CHECK(*c == std::vector<uint8_t>{7, 8, 0, 0});
    CHECK(fe->get_config(0, 256).ok());
  }
  SUBCASE("not negotiated by us") {
    auto rig = make_rig(config_with_space());
    auto opt = full_options();
    opt.protocol_features &= ~bit(ProtocolFeature::config);
    auto fe = VhostUserFrontend::start(std::move(rig.front), opt);
    REQUIRE(fe.ok());
    CHECK(fe->get_config(0, 4).error().code == Errc::unsupported);
    CHECK(fe->check_alive().ok());
  }
  SUBCASE("offset mismatch") {
    DummyConfig cfg = config_with_space();
    cfg.config_offset_skew = 4;
    auto rig = make_rig(cfg);
    auto fe = VhostUserFrontend::start(std::move(rig.front), full_options());
    REQUIRE(fe.ok());
    auto c = fe->get_config(0, 4);
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == Errc::protocol);
    CHECK(names_step(c.error(), "GET_CONFIG"));
  }
}

TEST_CASE("check_alive: quiet is fine, EOF is disconnected, unsolicited data is a protocol error") {
  SUBCASE("EOF") {
    auto rig = make_rig();
    auto fe = VhostUserFrontend::start(std::move(rig.front), full_options());
    REQUIRE(fe.ok());
    CHECK(fe->check_alive().ok());
    rig.back->stop();  // closes the back-end's socket
    auto s = fe->check_alive();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == Errc::disconnected);
    CHECK(s.error().message.find("closed") != std::string::npos);
    // and the next request is refused without touching the socket
    CHECK(fe->set_features(kVersion1).error().code == Errc::disconnected);
  }
  SUBCASE("unsolicited message") {
    DummyConfig cfg;
    cfg.fault = {Fault::unsolicited, std::nullopt, FrontendRequest::get_queue_num};
    auto rig = make_rig(cfg);
    auto fe = VhostUserFrontend::start(std::move(rig.front), full_options());
    REQUIRE(fe.ok());
    pollfd p{fe->fd(), POLLIN, 0};
    REQUIRE(::poll(&p, 1, 2000) == 1);  // the extra message is on its way right after the answer
    auto s = fe->check_alive();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == Errc::protocol);
    CHECK_MESSAGE(s.error().message.find("GET_STATUS") != std::string::npos, s.error().message);
  }
}
