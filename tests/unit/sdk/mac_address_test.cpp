// MacAddress: parsing, formatting and the integer form.
#include "nfv/mac_address.hpp"

#include <doctest/doctest.h>

using nfv::MacAddress;

TEST_CASE("MacAddress parses colon and dash separated addresses") {
  auto mac = MacAddress::parse("52:54:00:12:34:56");
  REQUIRE(mac.has_value());
  CHECK(mac->bytes == std::array<uint8_t, 6>{0x52, 0x54, 0x00, 0x12, 0x34, 0x56});
  CHECK(mac->to_string() == "52:54:00:12:34:56");

  auto dashed = MacAddress::parse("52-54-00-12-34-56");
  REQUIRE(dashed.has_value());
  CHECK(*dashed == *mac);

  auto upper = MacAddress::parse("AA:bb:Cc:DD:ee:FF");
  REQUIRE(upper.has_value());
  CHECK(upper->to_string() == "aa:bb:cc:dd:ee:ff");  // always printed in lower case
}

TEST_CASE("MacAddress rejects malformed text") {
  const char* bad[] = {
      "",
      "52:54:00:12:34",        // five groups
      "52:54:00:12:34:56:78",  // seven groups
      "52:54:00:12:34:5",      // short last group
      "52:54:00:12:34:567",    // long last group
      "5:54:00:12:34:567",     // right length, wrong grouping
      "52:54:00:12:34:5g",     // not hex
      "525400123456",          // no separators
      "52.54.00.12.34.56",     // wrong separator
      "52 54 00 12 34 56",     // spaces
      " 52:54:00:12:34:56",    // leading space
      "52:54:00:12:34:56 ",    // trailing space
      "52:54:00:12:34:56\n",   // trailing newline
      "0x52:54:00:12:34:5",    // prefix
      "-52:54:00:12:34:5",     // sign
      "52::54:00:12:34:56",    // empty group
  };
  for (const char* text : bad) {
    CAPTURE(text);
    CHECK_FALSE(MacAddress::parse(text).has_value());
  }
  // Embedded NUL: the length is right but the content is not.
  CHECK_FALSE(MacAddress::parse(std::string_view("52:54:00:12:34\0"
                                                 "56",
                                                 17))
                  .has_value());
}

TEST_CASE("MacAddress round trips through text, bytes and integers") {
  const char* texts[] = {"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01",
                         "01:00:5e:00:00:fb", "de:ad:be:ef:00:01"};
  for (const char* text : texts) {
    CAPTURE(text);
    auto mac = MacAddress::parse(text);
    REQUIRE(mac.has_value());
    CHECK(mac->to_string() == text);
    CHECK(MacAddress::from_u64(mac->to_u64()) == *mac);
    CHECK(MacAddress::from_bytes(mac->bytes.data()) == *mac);
  }
  CHECK(MacAddress::parse("52:54:00:12:34:56")->to_u64() == 0x525400123456ULL);
  CHECK(MacAddress::from_u64(0x525400123456ULL).to_string() == "52:54:00:12:34:56");
  // Bits above 48 are ignored.
  CHECK(MacAddress::from_u64(0xffff'0000'0000'0001ULL).to_string() == "00:00:00:00:00:01");
}

TEST_CASE("MacAddress classification") {
  const auto broadcast = *MacAddress::parse("ff:ff:ff:ff:ff:ff");
  const auto multicast = *MacAddress::parse("01:00:5e:00:00:fb");
  const auto unicast = *MacAddress::parse("02:00:00:00:00:01");
  const MacAddress zero{};

  CHECK(broadcast.is_broadcast());
  CHECK(broadcast.is_multicast());
  CHECK(multicast.is_multicast());
  CHECK_FALSE(multicast.is_broadcast());
  CHECK_FALSE(unicast.is_multicast());
  CHECK_FALSE(unicast.is_zero());
  CHECK(zero.is_zero());
  CHECK_FALSE(zero.is_multicast());
  CHECK(unicast != multicast);
}
