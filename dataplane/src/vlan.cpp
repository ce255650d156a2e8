#include "vlan.hpp"

namespace nfv::sw {

VlanPolicy VlanPolicy::access(uint16_t vid) {
  VlanPolicy p;
  p.kind_ = Kind::access;
  p.access_vid_ = vid & 0xfff;
  return p;
}

VlanPolicy VlanPolicy::trunk(const std::vector<uint16_t>& vids) {
  VlanPolicy p;
  p.kind_ = Kind::trunk;
  for (uint16_t v : vids)
    if (v > 0 && v < 4095) p.allowed_.set(v);
  return p;
}

VlanPolicy VlanPolicy::from_config(const std::optional<uint16_t>& vlan,
                                   const std::optional<std::vector<uint16_t>>& trunk_vids) {
  if (vlan) return access(*vlan);
  if (trunk_vids) return trunk(*trunk_vids);
  return trunk_all();
}

}  // namespace nfv::sw
