// VxlanView (RFC 7348) and GtpuView (TS 29.281), good and malformed.
#include <doctest/doctest.h>

#include <vector>

#include "frames.hpp"
#include "nfv/net/byte_order.hpp"
#include "nfv/net/gtpu.hpp"
#include "nfv/net/vxlan.hpp"

using namespace nfv::net;

namespace {

// A GTP-U header (flags, type, then what `rest` holds after the TEID) with
// its length field filled from the bytes that follow the first 8.
std::vector<uint8_t> gtpu(uint8_t flags, std::initializer_list<uint8_t> rest, uint8_t type = 255) {
  std::vector<uint8_t> g = {flags, type, 0, 0, 0x11, 0x22, 0x33, 0x44};
  g.insert(g.end(), rest);
  store_be16(g.data() + 2, static_cast<uint16_t>(g.size() - 8));
  return g;
}

}  // namespace

TEST_CASE("VxlanView reads the VNI and needs the I flag") {
  std::vector<uint8_t> v = {0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0, 0xaa, 0xbb};
  auto vx = VxlanView::parse(v.data(), v.size());
  REQUIRE(vx);
  CHECK(vx->vni() == 0x123456);
  CHECK(vx->payload_len() == 2);
  CHECK(vx->payload()[0] == 0xaa);

  v[0] = 0xff;  // reserved bits are ignored on receipt
  CHECK(VxlanView::parse(v.data(), v.size()));
  v[0] = 0x00;
  CHECK(VxlanView::parse(v.data(), v.size()).error() == ParseError::bad_flags);
  for (size_t len = 0; len < 8; ++len)
    CHECK(VxlanView::parse(v.data(), len).error() == ParseError::truncated);
}

TEST_CASE("GtpuView reads the mandatory header") {
  auto g = gtpu(0x30, {0x45, 0, 0, 0});
  auto v = GtpuView::parse(g.data(), g.size());
  REQUIRE(v);
  CHECK(v->version() == 1);
  CHECK(v->message_type() == gtpu_msg::g_pdu);
  CHECK(v->is_gpdu());
  CHECK(v->length() == 4);
  CHECK(v->teid() == 0x11223344);
  CHECK_FALSE(v->sequence());
  CHECK_FALSE(v->npdu_number());
  CHECK_FALSE(v->qfi());
  CHECK(v->header_len() == 8);
  CHECK(v->payload_len() == 4);
  CHECK(v->payload()[0] == 0x45);
}

TEST_CASE("GtpuView reads the optional field when any of E, S, PN is set") {
  auto s = gtpu(0x32, {0x01, 0x02, 0x99, 0x85});  // S only: the next type is not looked at
  auto v = GtpuView::parse(s.data(), s.size());
  REQUIRE(v);
  CHECK(v->sequence() == 0x0102);
  CHECK_FALSE(v->npdu_number());
  CHECK(v->header_len() == 12);
  CHECK(v->extension_count() == 0);

  auto pn = gtpu(0x31, {0, 0, 0x99, 0});
  CHECK(GtpuView::parse(pn.data(), pn.size())->npdu_number() == 0x99);
}

TEST_CASE("GtpuView walks extension headers and finds the QFI") {
  // UDP Port extension (0x40, 4 bytes), then a DL PDU Session Container with
  // QFI 5 and RQI set, then a PDCP PDU number (0xc0, 4 bytes), then the T-PDU.
  auto g = gtpu(0x34, {0,    0,    0, 0x40, 1,    0x08, 0x68, 0x85, 1, 0x00,
                       0x45, 0xc0, 1, 0x00, 0x07, 0x00, 0x60, 0,    0, 0});
  auto v = GtpuView::parse(g.data(), g.size());
  REQUIRE(v);
  CHECK(v->has_extensions());
  CHECK(v->extension_count() == 3);
  CHECK(v->has_pdu_session());
  CHECK(v->qfi() == 5);
  CHECK(v->pdu_type() == 0);
  CHECK(v->header_len() == 24);
  CHECK(v->payload_len() == 4);
  CHECK(v->payload()[0] == 0x60);

  // An UL container (PDU type 1) of 8 bytes: QFI in the same place.
  auto ul = gtpu(0x34, {0, 0, 0, 0x85, 2, 0x10, 0x3f, 0, 0, 0, 0, 0});
  auto u = GtpuView::parse(ul.data(), ul.size());
  REQUIRE(u);
  CHECK(u->qfi() == 63);
  CHECK(u->pdu_type() == 1);
  CHECK(u->payload_len() == 0);
}

TEST_CASE("GtpuView refuses malformed headers") {
  SUBCASE("version") {
    auto g = gtpu(0x50, {});
    CHECK(GtpuView::parse(g.data(), g.size()).error() == ParseError::bad_version);
    g[0] = 0x10;  // version 0 (GTPv0)
    CHECK(GtpuView::parse(g.data(), g.size()).error() == ParseError::bad_version);
  }
  SUBCASE("GTP' (PT = 0)") {
    auto g = gtpu(0x20, {});
    CHECK(GtpuView::parse(g.data(), g.size()).error() == ParseError::unsupported);
  }
  SUBCASE("length larger than the datagram") {
    auto g = gtpu(0x30, {1, 2, 3, 4});
    store_be16(g.data() + 2, 5);
    CHECK(GtpuView::parse(g.data(), g.size()).error() == ParseError::truncated);
    store_be16(g.data() + 2, 0xffff);
    CHECK(GtpuView::parse(g.data(), g.size()).error() == ParseError::truncated);
  }
  SUBCASE("length shorter than the datagram: the rest is not payload") {
    auto g = gtpu(0x30, {1, 2, 3, 4});
    store_be16(g.data() + 2, 2);
    CHECK(GtpuView::parse(g.data(), g.size())->payload_len() == 2);
  }
  SUBCASE("length too small for the optional field") {
    auto g = gtpu(0x32, {0, 1, 0, 0});
    store_be16(g.data() + 2, 3);
    CHECK(GtpuView::parse(g.data(), g.size()).error() == ParseError::bad_length);
  }
  SUBCASE("length too small for an extension header") {
    auto g = gtpu(0x34, {0, 0, 0, 0x85, 1, 0, 9, 0});
    store_be16(g.data() + 2, 7);  // the container needs 4 bytes after the optional 4
    CHECK(GtpuView::parse(g.data(), g.size()).error() == ParseError::bad_length);
    store_be16(g.data() + 2, 4);  // E set but not a byte left for the extension
    CHECK(GtpuView::parse(g.data(), g.size()).error() == ParseError::bad_length);
  }
  SUBCASE("an extension header of length 0") {
    auto g = gtpu(0x34, {0, 0, 0, 0x85, 0, 0, 9, 0});
    CHECK(GtpuView::parse(g.data(), g.size()).error() == ParseError::bad_header_length);
  }
  SUBCASE("too many extension headers") {
    std::vector<uint8_t> chain = {0, 0, 0, 0x40};
    for (int i = 0; i < 9; ++i) chain.insert(chain.end(), {1, 0, 0, uint8_t(i < 8 ? 0x40 : 0)});
    auto g = gtpu(0x34, {});
    g.insert(g.end(), chain.begin(), chain.end());
    store_be16(g.data() + 2, static_cast<uint16_t>(chain.size()));
    CHECK(GtpuView::parse(g.data(), g.size()).error() == ParseError::too_many_headers);
    g[g.size() - 4 - 1] = 0;  // end the chain after 8
    auto v = GtpuView::parse(g.data(), g.size());
    REQUIRE(v);
    CHECK(v->extension_count() == 8);
    CHECK(v->payload_len() == 4);
  }
  SUBCASE("every prefix of a header with extensions") {
    auto g = gtpu(0x36, {0, 7, 0, 0x85, 1, 0x10, 0x09, 0, 0x45, 0, 0, 0});
    REQUIRE(GtpuView::parse(g.data(), g.size()));
    for (size_t len = 0; len < g.size(); ++len) {
      std::vector<uint8_t> prefix(g.begin(), g.begin() + static_cast<long>(len));
      CHECK(GtpuView::parse(prefix.data(), prefix.size()).error() == ParseError::truncated);
    }
  }
}

TEST_CASE("GtpuView reads signalling messages") {
  auto frames = test::good_frames();
  const auto& f = frames.back().bytes;  // gtpu-echo-request
  REQUIRE(frames.back().name == "gtpu-echo-request");
  auto v = GtpuView::parse(f.data() + 14 + 20 + 8, 12);
  REQUIRE(v);
  CHECK(v->message_type() == gtpu_msg::echo_request);
  CHECK_FALSE(v->is_gpdu());
  CHECK(v->sequence() == 1);
  CHECK(v->teid() == 0);
  CHECK(v->payload_len() == 0);
}
