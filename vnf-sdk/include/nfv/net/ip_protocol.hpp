// IP protocol / IPv6 Next Header numbers (IANA "Assigned Internet Protocol
// Numbers") that the SDK's parsers and builders know by name.
#pragma once

#include <cstdint>

namespace nfv::net::ip_proto {

inline constexpr uint8_t hop_by_hop = 0;  // IPv6 Hop-by-Hop Options, RFC 8200 §4.3
inline constexpr uint8_t icmp = 1;        // RFC 792
inline constexpr uint8_t tcp = 6;         // RFC 9293
inline constexpr uint8_t udp = 17;        // RFC 768
inline constexpr uint8_t routing = 43;    // IPv6 Routing header, RFC 8200 §4.4
inline constexpr uint8_t fragment = 44;   // IPv6 Fragment header, RFC 8200 §4.5
inline constexpr uint8_t esp = 50;        // RFC 4303
inline constexpr uint8_t ah = 51;         // RFC 4302
inline constexpr uint8_t icmpv6 = 58;     // RFC 4443
inline constexpr uint8_t no_next = 59;    // IPv6 No Next Header, RFC 8200 §4.7
inline constexpr uint8_t dest_opts = 60;  // IPv6 Destination Options, RFC 8200 §4.6

}  // namespace nfv::net::ip_proto
