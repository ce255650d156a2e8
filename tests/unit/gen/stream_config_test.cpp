// Stream configuration: the --stream form and [[stream]] TOML tables, good
// and bad, with the exact messages a user sees.
#include "stream_config.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace nfvgen;

namespace {

std::string cli_error(std::string_view text) {
  auto r = parse_stream_option(text);
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

std::string toml_error(std::string_view text) {
  auto r = parse_stream_config(text, "gen.toml");
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

}  // namespace

TEST_CASE("--stream: the example from the help text") {
  auto r = parse_stream_option(
      "udp,src=10.0.0.1+1024,dst=10.1.0.1,sport=1000,"
      "dport=2000+16,size=imix,flows=1024,"
      "vlan=100,dmac=02:00:00:00:00:02",
      3);
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  const StreamSpec& s = *r;
  CHECK(s.name == "stream3");
  CHECK(s.id == 3);
  CHECK(s.l3 == L3Proto::ipv4);
  CHECK(s.l4 == L4Proto::udp);
  CHECK(s.src_ip4 == 0x0a000001);
  CHECK(s.src_ip_vary.mode == Vary::increment);
  CHECK(s.src_ip_vary.count == 1024);
  CHECK(s.dst_ip4 == 0x0a010001);
  CHECK(s.dst_ip_vary.mode == Vary::fixed);
  CHECK(s.src_port == 1000);
  CHECK(s.dst_port == 2000);
  CHECK(s.dst_port_vary.count == 16);
  CHECK(s.size.mode == SizeMode::imix);
  CHECK(s.flows == 1024);
  CHECK(s.vlan == 100);
  CHECK(s.dst_mac.to_u64() == 0x020000000002);
  CHECK(StreamTemplate::build(s).ok());
}

TEST_CASE("--stream: IPv6, TCP, random fields, sizes, defaults for flows") {
  auto r = parse_stream_option(
      "tcp,src=2001:db8::1~100,dst=2001:db8::2,sport=5~9,size=100..200,"
      "name=six,id=9,seed=77,ttl=5,pcp=3,vlan=0");
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(r->l3 == L3Proto::ipv6);
  CHECK(r->l4 == L4Proto::tcp);
  CHECK(r->src_ip6[15] == 1);
  CHECK(r->src_ip_vary.mode == Vary::random);
  CHECK(r->src_ip_vary.count == 100);
  CHECK(r->src_port_vary.mode == Vary::random);
  CHECK(r->flows == 100);  // the largest count
  CHECK(r->size.mode == SizeMode::increment);
  CHECK(r->size.min == 100);
  CHECK(r->size.max == 200);
  CHECK(r->name == "six");
  CHECK(r->id == 9);
  CHECK(r->seed == 77);
  CHECK(r->ttl == 5);
  CHECK(r->vlan_pcp == 3);
  auto u = parse_stream_option("size=64-1518");
  REQUIRE(u.ok());
  CHECK(u->size.mode == SizeMode::uniform);
  CHECK(u->flows == 1);
}

TEST_CASE("--stream: bad strings say what is wrong and what is expected") {
  CHECK(cli_error("udp,colour=red") ==
        "--stream: unknown key \"colour\"; expected one of name, id, protocol, "
        "smac, dmac, vlan, "
        "pcp, src, dst, sport, dport, flows, size, seed, udp_checksum, tunnel, teid, qfi, outer_src, outer_dst, ttl");
  CHECK(cli_error("sport=70000") ==
        "--stream: 'sport' is \"70000\"; expected a port 0..65535, "
        "optionally followed by +COUNT (per flow), ~COUNT (random per flow) or ?COUNT (random per packet), COUNT >= 1");
  CHECK(cli_error("dport=1+0").find("'dport' is \"1+0\"") != std::string::npos);
  CHECK(cli_error("src=10.0.0.300").find("'src' is \"10.0.0.300\"; expected an IPv4") !=
        std::string::npos);
  CHECK(cli_error("size=big") ==
        "--stream: 'size' is \"big\"; expected N (60..9000), A-B "
        "(uniform random), A..B (incrementing) or \"imix\"");
  CHECK(cli_error("udp,tcp") ==
        "--stream: the protocol is given twice; "
        "expected one of udp, tcp or protocol=");
  CHECK(cli_error("flows=2,flows=3") == "--stream: 'flows' is given twice; expected each key once");
  CHECK(cli_error("udp,,flows=2").find("item \"\" is not KEY=VALUE") != std::string::npos);
  CHECK(cli_error("smac=01:00:5e:00:00:01").find("expected a unicast MAC") != std::string::npos);
  CHECK(cli_error("src=10.0.0.1,dst=2001:db8::1") ==
        "--stream: 'src' and 'dst' are of different address families; expected "
        "both IPv4 or "
        "both IPv6");
  CHECK(cli_error("src=2001:db8::1").find("only one of 'src' and 'dst'") != std::string::npos);
  CHECK(cli_error("pcp=3").find("'pcp' is given without 'vlan'") != std::string::npos);
  CHECK(cli_error("size=59") == "--stream: stream 'stream0': frame size 59; expected 60..9000");
  CHECK(cli_error("tcp,vlan=5,src=::1,dst=::2,size=70") ==
        "--stream: stream 'stream0': frame size 70 is too short for the 78 "
        "bytes of "
        "Ethernet+VLAN+IPv6+TCP headers; expected a size of at least 78");
}

TEST_CASE("TOML: [[stream]] tables with strings and integers") {
  auto r = parse_stream_config(R"(
[[stream]]
name = "up"
protocol = "udp"
src = "10.0.0.1+1024"
dport = 2000
size = "imix"

[[stream]]
name = "down"
id = 17
protocol = "tcp"
src = "2001:db8::1"
dst = "2001:db8::2~50"
sport = "80+4"
size = 1514
vlan = 200
pcp = 1
flows = 10
)",
                               "gen.toml");
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  REQUIRE(r->size() == 2);
  const StreamSpec& up = (*r)[0];
  CHECK(up.name == "up");
  CHECK(up.id == 0);
  CHECK(up.src_ip_vary.count == 1024);
  CHECK(up.flows == 1024);
  CHECK(up.dst_port == 2000);
  CHECK(up.size.mode == SizeMode::imix);
  const StreamSpec& down = (*r)[1];
  CHECK(down.id == 17);
  CHECK(down.l3 == L3Proto::ipv6);
  CHECK(down.l4 == L4Proto::tcp);
  CHECK(down.dst_ip_vary.mode == Vary::random);
  CHECK(down.src_port == 80);
  CHECK(down.src_port_vary.count == 4);
  CHECK(down.size.min == 1514);
  CHECK(down.vlan == 200);
  CHECK(down.vlan_pcp == 1);
  CHECK(down.flows == 10);
  CHECK(parse_stream_config("", "empty.toml").ok());
}

TEST_CASE("TOML: errors carry FILE:LINE:COLUMN and what is expected") {
  CHECK(toml_error("[[stream]]\nname = \"a\"\ncolour = 1\n") ==
        "gen.toml:3:1: unknown stream key \"colour\"; expected one of name, "
        "id, protocol, smac, "
        "dmac, vlan, pcp, src, dst, sport, dport, flows, size, seed, udp_checksum, tunnel, teid, qfi, outer_src, outer_dst, ttl");
  CHECK(toml_error("[[stream]]\nvlan = 5000\n") ==
        "gen.toml:2:8: 'vlan' is 5000; expected a VLAN id 0..4095");
  CHECK(toml_error("[[stream]]\nsrc = 10\n") ==
        "gen.toml:2:7: 'src' is an integer; expected an IPv4 or IPv6 address, "
        "optionally "
        "followed by +COUNT (per flow), ~COUNT (random per flow) or ?COUNT (random per packet), COUNT >= 1");
  CHECK(toml_error("[[stream]]\nflows = true\n") ==
        "gen.toml:2:9: 'flows' is a boolean; expected an integer 1..16777216");
  CHECK(toml_error("[[stream]]\nsize = \"imax\"\n").rfind("gen.toml:2:8: 'size' is \"imax\"", 0) ==
        0);
  CHECK(toml_error("[port]\nx = 1\n") ==
        "gen.toml:1:2: unknown top-level key \"port\"; expected only "
        "[[stream]] tables");
  CHECK(toml_error("stream = 3\n") ==
        "gen.toml:1:10: 'stream' is an integer; expected [[stream]] tables");
  CHECK(toml_error("[[stream]]\nname = \"a\"\n[[stream]]\nname = \"a\"\n")
            .rfind("gen.toml:3:1: stream 'a' (id 1) has the name or id of "
                   "stream 'a'",
                   0) == 0);
  CHECK(toml_error("[[stream]]\nsport = 65535\n\n[[stream]]\nprotocol = "
                   "\"tcp\"\nsize = 60\n"
                   "src = \"::1\"\ndst = \"::2\"\n")
            .rfind("gen.toml:4:1: stream 'stream1': frame size 60 is too short", 0) == 0);
  CHECK(toml_error("[[stream]\n").rfind("gen.toml:1:", 0) == 0);
}
