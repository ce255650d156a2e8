// virtio-net config layout (5.1.4) and the offered feature set: the bytes a
// driver reads at each field offset, reads past the end, and the features
// the SDK's guest driver needs.
#include "devices/virtio_net_config.hpp"

#include <doctest/doctest.h>

using namespace nfv::vmm;
namespace virtio = nfv::virtio;

TEST_CASE("virtio-net config bytes at the spec's offsets") {
  VirtioNetConfig cfg;
  cfg.mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  cfg.status = VIRTIO_NET_S_LINK_UP;
  cfg.max_virtqueue_pairs = 4;
  cfg.mtu = 9000;
  uint8_t b[12];
  read_net_config(cfg, 0, b);
  CHECK(b[0] == 0x52);
  CHECK(b[5] == 0x56);
  CHECK((b[6] | b[7] << 8) == 1);
  CHECK((b[8] | b[9] << 8) == 4);
  CHECK((b[10] | b[11] << 8) == 9000);
  uint8_t tail[4] = {0xff, 0xff, 0xff, 0xff};
  read_net_config(cfg, 10, tail);  // two bytes of mtu, then past the end
  CHECK(tail[0] == (9000 & 0xff));
  CHECK(tail[2] == 0);
  read_net_config(cfg, UINT32_MAX, tail);
  CHECK(tail[3] == 0);
}

TEST_CASE("offered features") {
  CHECK((kVirtioNetOfferedFeatures & virtio::feature_bit(virtio::VIRTIO_F_VERSION_1)) != 0);
  CHECK((kVirtioNetOfferedFeatures & virtio::feature_bit(virtio::VIRTIO_NET_F_MAC)) != 0);
  CHECK((kVirtioNetOfferedFeatures & virtio::feature_bit(virtio::VIRTIO_NET_F_MRG_RXBUF)) != 0);
  CHECK((kVirtioNetOfferedFeatures & virtio::feature_bit(virtio::VIRTIO_NET_F_CTRL_VQ)) == 0);  // no control queue model
  CHECK(kVirtioNetConfigSize == 12);
}
