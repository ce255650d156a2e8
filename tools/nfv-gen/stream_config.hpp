// Stream configuration: StreamSpecs from a TOML file or from one
// command-line string. Both front ends share one key table and one value
// grammar, so a key means the same thing and fails with the same words.
//
// TOML: an array of [[stream]] tables (nothing else at the top level):
//
//   [[stream]]
//   name = "up"              # default "stream<N>" (N: 0-based position)
//   id = 1                   # signature stream id, default N; unique
//   protocol = "udp"
//   src = "10.0.0.1+1024"    # keys and values as below; integers may be
//   dport = 2000             # written as TOML integers or as strings
//   size = "imix"
//
// Errors read "FILE:LINE:COLUMN: what; expected what".
//
// Command line: `--stream "udp,src=10.0.0.1+1024,dst=10.1.0.1,sport=1000,
// dport=2000+16,size=imix,flows=1024,vlan=100,dmac=02:00:00:00:00:02"`
//
//   stream := item ("," item)*
//   item   := "udp" | "tcp" | "gtpu" | KEY "=" VALUE   (no spaces; each key once)
//
// Keys and values (both front ends):
//   name      text without ','                      id     0..65535
//   protocol  udp | tcp (default udp)              ttl    1..255 (default 64)
//   smac      source MAC, default 02:00:00:00:00:01
//   dmac      destination MAC, default 02:00:00:00:00:02
//   vlan      VLAN id 0..4095 (default: untagged)  pcp    0..7 (needs vlan)
//   src, dst  ADDR[+COUNT|~COUNT|?COUNT]: an IPv4 or IPv6 address (both the
//             same family; default 10.0.0.1 and 10.1.0.1); +COUNT: COUNT
//             values from ADDR by increments per flow; ~COUNT: a random one of
//             them per flow; ?COUNT: a random one for every packet (seeded)
//   sport, dport  PORT[+COUNT|~COUNT|?COUNT], PORT 0..65535 (default 1024)
//   flows     1..16777216; default: the largest per-flow COUNT (1 if none)
//   udp_checksum  on | off (or 1/0, TOML true/false; default on): off sends
//             UDP checksum 0 (IPv4 only, RFC 768)
//   tunnel    "gtpu" (CLI: the bare item gtpu): the packet above goes inside
//             IPv4/UDP 2152/GTP-U G-PDU; default size 128 then
//   teid      TEID[+COUNT|~COUNT|?COUNT] 0..2^32-1 (default 1), GTP-U only
//   qfi       0..63: a PDU Session Container (UL) with this QFI, GTP-U only
//   outer_src, outer_dst  IPv4 tunnel end points (default 192.168.0.1/.2)
//   size      N | A-B | A..B | imix: fixed N bytes without FCS (60..9000,
//             default 64); A-B uniform random in [A,B]; A..B incrementing
//             A, A+1, ..B; imix 64/570/1518 (with FCS) at 7:4:1
//   seed      0..2^64-1: for random fields and sizes (default 1, or --seed)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "nfv/result.hpp"
#include "stream.hpp"

namespace nfvgen {

// One stream from the command-line form; `index` gives the default name
// ("stream<index>") and id.
nfv::Result<StreamSpec> parse_stream_option(std::string_view text, uint16_t index = 0);

// Every [[stream]] of a TOML document; `source_name` prefixes the messages.
nfv::Result<std::vector<StreamSpec>> parse_stream_config(std::string_view toml_text,
                                                         const std::string& source_name);

}  // namespace nfvgen
