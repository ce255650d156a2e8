// Frames from pcap files: scapy_good.pcap and scapy_malformed.pcap were made
// by scapy (tests/data/pcaps/make_scapy_pcaps.py), an implementation that
// shares nothing with nfv/net; builder_frames.pcap holds test::good_frames()
// as PacketBuilder wrote them (set NFV_WRITE_PCAPS=1 to rewrite it after a
// deliberate builder change; `tshark -r builder_frames.pcap -V` decodes it).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "frames.hpp"
#include "nfv/net/byte_order.hpp"
#include "nfv/net/checksum.hpp"
#include "nfv/net/packet_info.hpp"
#include "nfv/net/tcp.hpp"
#include "pcap_file.hpp"

using namespace nfv::net;

namespace {

const std::string kPcapDir = std::string(NFV_TEST_DATA) + "/pcaps/";

// Checks the IPv4 header checksum and the L4 checksum of one parsed layer.
void check_checksums(const test::Frame& f, const PacketInfo& info) {
  if (!info.has_l4() || (info.flags & packet_flag::fragment)) return;
  const uint8_t* l3 = f.data() + info.l3_offset;
  const uint8_t* l4 = f.data() + info.l4_offset;
  const size_t l3_hdr = info.l4_offset - info.l3_offset;
  if (info.l3_type == L3Type::ipv4) {
    CHECK(internet_checksum(l3, size_t{l3[0] & 0xfu} * 4) == 0);
    const size_t len = load_be16(l3 + 2) - l3_hdr;
    if (info.ip_protocol == ip_proto::icmp) {
      CHECK(internet_checksum(l4, len) == 0);
    } else if (info.ip_protocol == ip_proto::tcp || load_be16(l4 + 6) != 0) {
      CHECK(l4_checksum_ipv4(l4, len, info.src_ip4(), info.dst_ip4(), info.ip_protocol) == 0);
    }
  } else if (info.l3_type == L3Type::ipv6) {
    const size_t len = 40 + load_be16(l3 + 4) - l3_hdr;
    CHECK(l4_checksum_ipv6(l4, len, l3 + 8, l3 + 24, info.ip_protocol) == 0);
  }
}

}  // namespace

TEST_CASE("pcap reader and writer round-trip") {
  const std::string path = "/tmp/nfv-sdk-net-pcap-test-" + std::to_string(::getpid()) + ".pcap";
  auto frames = test::good_frames();
  std::vector<std::vector<uint8_t>> bytes;
  for (auto& f : frames) bytes.push_back(f.bytes);
  REQUIRE(test::write_pcap(path, bytes));
  auto back = test::read_pcap(path);
  std::remove(path.c_str());
  REQUIRE(back);
  CHECK(back->link_type == 1);
  CHECK(back->frames == bytes);
  CHECK_FALSE(test::read_pcap(kPcapDir + "does-not-exist.pcap"));
}

TEST_CASE("builder_frames.pcap holds what PacketBuilder writes today") {
  const std::string path = kPcapDir + "builder_frames.pcap";
  auto frames = test::good_frames();
  std::vector<std::vector<uint8_t>> bytes;
  for (auto& f : frames) bytes.push_back(f.bytes);
  if (const char* w = std::getenv("NFV_WRITE_PCAPS"); w && std::string(w) == "1") {
    REQUIRE(test::write_pcap(path, bytes));
  }
  auto file = test::read_pcap(path);
  REQUIRE(file);
  REQUIRE(file->frames.size() == frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    CAPTURE(frames[i].name);
    CHECK(file->frames[i] == frames[i].bytes);
    PacketInfo info = parse_packet(file->frames[i].data(), file->frames[i].size());
    CHECK(info.ok());
    check_checksums(file->frames[i], info);
  }
}

TEST_CASE("scapy_good.pcap: every frame parses as scapy built it") {
  auto file = test::read_pcap(kPcapDir + "scapy_good.pcap");
  REQUIRE(file);
  REQUIRE(file->frames.size() == 12);
  std::vector<PacketInfo> infos;
  for (size_t i = 0; i < file->frames.size(); ++i) {
    CAPTURE(i);
    const auto& f = file->frames[i];
    infos.push_back(parse_packet(f.data(), f.size()));
    REQUIRE(infos.back().ok());
    check_checksums(f, infos.back());
    if (infos.back().inner_offset != PacketInfo::kAbsent) {
      PacketInfo inner = parse_inner(f.data(), f.size(), infos.back());
      REQUIRE(inner.ok());
      check_checksums(f, inner);
    }
  }
  const auto& F = file->frames;
  const auto inner = [&](size_t i) { return parse_inner(F[i].data(), F[i].size(), infos[i]); };

  CHECK(infos[0].src_ip4() == ipv4_address(10, 0, 0, 1));
  CHECK(infos[0].dst_port == 5678);
  CHECK(infos[0].payload_offset == 42);
  CHECK(std::string(F[0].begin() + 42, F[0].begin() + 47) == "hello");

  CHECK(infos[1].vlan_ids[0] == 100);
  CHECK(infos[1].dst_port == 443);
  auto tcp = TcpView::parse(F[1].data() + infos[1].l4_offset, F[1].size() - infos[1].l4_offset);
  REQUIRE(tcp);
  CHECK(tcp->has_flags(tcp_flag::syn));
  CHECK(tcp->mss() == 1460);
  CHECK(tcp->find_option(tcp_option::window_scale)[2] == 7);
  CHECK(tcp->find_option(tcp_option::timestamps).size() == 10);

  CHECK(load_be16(F[2].data() + 12) == ether_type::qinq);
  CHECK(infos[2].vlan_count == 2);
  CHECK(infos[2].vlan_ids[0] == 200);
  CHECK(infos[2].vlan_ids[1] == 300);
  CHECK(infos[2].ip_protocol == ip_proto::icmpv6);
  CHECK(infos[2].src_port == icmpv6_type::echo_request);

  CHECK(infos[3].l3_type == L3Type::arp);
  CHECK(infos[3].src_ip4() == ipv4_address(10, 0, 0, 1));

  CHECK(infos[4].flags == packet_flag::ip_options);
  CHECK(infos[4].ip_protocol == ip_proto::icmp);

  CHECK(infos[5].ip_protocol == ip_proto::udp);
  CHECK(infos[5].l4_offset == 14 + 40 + 8 + 8 + 24 + 8);
  CHECK(infos[5].flags == (packet_flag::ipv6_extensions | packet_flag::fragment));
  CHECK(infos[5].dst_port == 53);

  CHECK(infos[6].flags ==
        (packet_flag::ipv6_extensions | packet_flag::fragment | packet_flag::later_fragment));
  CHECK(infos[6].ip_protocol == ip_proto::tcp);
  CHECK_FALSE(infos[6].has_l4());
  CHECK(infos[7].flags == (packet_flag::fragment | packet_flag::later_fragment));
  CHECK(infos[7].ip_protocol == ip_proto::udp);

  CHECK(infos[8].tunnel_type == TunnelType::vxlan);
  CHECK(infos[8].tunnel_id == 5000);
  CHECK(inner(8).src_ip4() == ipv4_address(172, 16, 0, 1));
  CHECK(inner(8).dst_port == 9);

  CHECK(infos[9].tunnel_type == TunnelType::gtpu);
  CHECK(infos[9].tunnel_id == 0x1234);
  CHECK(infos[9].qfi == 5);
  CHECK((infos[9].flags & packet_flag::gtpu_pdu_session) != 0);
  CHECK(inner(9).dst_ip4() == ipv4_address(8, 8, 8, 8));
  CHECK(inner(9).src_port == 30000);

  CHECK(infos[10].l3_type == L3Type::ipv6);
  CHECK(infos[10].tunnel_id == 0xabcdef01);
  auto gtp = GtpuView::parse(F[10].data() + infos[10].tunnel_offset,
                             F[10].size() - infos[10].tunnel_offset);
  REQUIRE(gtp);
  CHECK(gtp->sequence() == 42);
  CHECK(inner(10).l3_type == L3Type::ipv6);
  CHECK(inner(10).dst_port == 2000);

  CHECK(infos[11].ip_protocol == ip_proto::tcp);
  CHECK(infos[11].l4_offset == 14 + 40 + 24);
  CHECK(infos[11].dst_port == 2222);
}

TEST_CASE("scapy_malformed.pcap: every frame is refused for its reason") {
  auto file = test::read_pcap(kPcapDir + "scapy_malformed.pcap");
  REQUIRE(file);
  const ParseError expected[] = {
      ParseError::bad_header_length,  // IPv4 IHL 4
      ParseError::truncated,          // IPv4 total length 1000
      ParseError::bad_version,        // EtherType IPv4, version 5
      ParseError::bad_header_length,  // TCP data offset 3
      ParseError::bad_order,          // Hop-by-Hop after Destination Options
      ParseError::too_many_headers,   // nine Destination Options headers
      ParseError::bad_length,         // UDP length 4
      ParseError::truncated,          // GTP-U length 500
      ParseError::bad_header_length,  // GTP-U extension of length 0
      ParseError::bad_flags,          // VXLAN without the I flag
      ParseError::too_many_headers,   // three VLAN tags
      ParseError::bad_option,         // TCP MSS option longer than the options
  };
  REQUIRE(file->frames.size() == std::size(expected));
  for (size_t i = 0; i < file->frames.size(); ++i) {
    CAPTURE(i);
    const auto& f = file->frames[i];
    CHECK(parse_packet(f.data(), f.size()).error == expected[i]);
  }
}
