// VlanPolicy: a port's 802.1Q membership, as in OVS's vlan_mode.
//
//   access VLAN a   : untagged (or priority-tagged, VID 0) frames enter in VLAN a;
//                     frames tagged with another VID are dropped (counted "vlan");
//                     frames of VLAN a leave untagged.
//   trunk [list]    : frames tagged with a listed VID enter in that VLAN; untagged
//                     and unlisted ones are dropped; listed VLANs leave tagged.
//   neither         : a trunk of every VLAN; untagged frames are VLAN 0 and leave
//                     untagged, tagged frames keep their tag.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <vector>

namespace nfv::sw {

class VlanPolicy {
 public:
  static constexpr int kDrop = -1;

  enum class Egress : uint8_t { skip, untagged, tagged };

  static VlanPolicy trunk_all() { return VlanPolicy{}; }
  static VlanPolicy access(uint16_t vid);
  static VlanPolicy trunk(const std::vector<uint16_t>& vids);
  static VlanPolicy from_config(const std::optional<uint16_t>& vlan,
                                const std::optional<std::vector<uint16_t>>& trunk);

  // The VLAN a frame arriving on this port belongs to, or kDrop.
  // tagged: the frame carries an 802.1Q tag with VID `vid`.
  int ingress(bool tagged, uint16_t vid) const noexcept {
    switch (kind_) {
      case Kind::all: return tagged ? vid : 0;
      case Kind::access: return (!tagged || vid == 0) ? access_vid_ : kDrop;
      case Kind::trunk: return (tagged && vid != 0 && allowed_.test(vid)) ? vid : kDrop;
    }
    return kDrop;
  }

  // How a frame of VLAN `vid` leaves this port.
  Egress egress(uint16_t vid) const noexcept {
    switch (kind_) {
      case Kind::all: return vid == 0 ? Egress::untagged : Egress::tagged;
      case Kind::access: return vid == access_vid_ ? Egress::untagged : Egress::skip;
      case Kind::trunk: return (vid != 0 && allowed_.test(vid)) ? Egress::tagged : Egress::skip;
    }
    return Egress::skip;
  }

 private:
  enum class Kind : uint8_t { all, access, trunk };
  Kind kind_ = Kind::all;
  uint16_t access_vid_ = 0;
  std::bitset<4096> allowed_;
};

}  // namespace nfv::sw
