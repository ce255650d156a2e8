#include <doctest/doctest.h>

#include "vlan.hpp"

using nfv::sw::VlanPolicy;
using E = VlanPolicy::Egress;

TEST_CASE("vlan: a port without VLAN config trunks every VLAN") {
  auto p = VlanPolicy::from_config(std::nullopt, std::nullopt);
  CHECK(p.ingress(false, 0) == 0);
  CHECK(p.ingress(true, 42) == 42);
  CHECK(p.egress(0) == E::untagged);
  CHECK(p.egress(42) == E::tagged);
}

TEST_CASE("vlan: access port") {
  auto p = VlanPolicy::from_config(uint16_t{10}, std::nullopt);
  CHECK(p.ingress(false, 0) == 10);
  CHECK(p.ingress(true, 0) == 10);  // priority tag
  CHECK(p.ingress(true, 10) == VlanPolicy::kDrop);
  CHECK(p.ingress(true, 20) == VlanPolicy::kDrop);
  CHECK(p.egress(10) == E::untagged);
  CHECK(p.egress(20) == E::skip);
  CHECK(p.egress(0) == E::skip);
}

TEST_CASE("vlan: trunk with an allowed list") {
  auto p = VlanPolicy::from_config(std::nullopt, std::vector<uint16_t>{10, 20});
  CHECK(p.ingress(true, 10) == 10);
  CHECK(p.ingress(true, 20) == 20);
  CHECK(p.ingress(true, 30) == VlanPolicy::kDrop);
  CHECK(p.ingress(false, 0) == VlanPolicy::kDrop);
  CHECK(p.ingress(true, 0) == VlanPolicy::kDrop);
  CHECK(p.egress(10) == E::tagged);
  CHECK(p.egress(30) == E::skip);
  CHECK(p.egress(0) == E::skip);
}

TEST_CASE("vlan: frames never cross between access VLANs") {
  auto a10 = VlanPolicy::access(10), a20 = VlanPolicy::access(20);
  const int vid = a10.ingress(false, 0);
  CHECK(a20.egress(static_cast<uint16_t>(vid)) == E::skip);
  CHECK(a10.egress(static_cast<uint16_t>(vid)) == E::untagged);
}
