// Fuzz target: vhost-user message decoding (nfv/vhost_user/message.hpp).
//
// Input: byte 0 selects the fd count (byte % 10: 0..9, 9 is over the limit)
// and the stream (byte / 10 % 4: request, reply, back-end request, back-end
// reply); the rest is the message as it came off the socket (header +
// payload). Fresh eventfds stand in for the received descriptors.
// Invariants (a violation traps):
//   - decode never crashes or reads out of bounds (ASan/UBSan watch);
//   - an accepted message re-encodes to exactly the input bytes, passes
//     validate() again, holds exactly the fds it came with, and its accessors
//     agree with its payload type;
//   - every fd is closed once the result is gone, accepted or rejected.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "nfv/vhost_user/message.hpp"

using namespace nfv::vhost_user;

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::size_t nfds = data[0] % 10;
  const auto kind = static_cast<MessageKind>((data[0] / 10) % 4);
  const std::span<const uint8_t> bytes(data + 1, size - 1);

  std::vector<UniqueFd> fds;
  std::vector<int> numbers;
  for (std::size_t i = 0; i < nfds; ++i) {
    fds.emplace_back(::eventfd(0, EFD_CLOEXEC));
    require(fds.back().valid());
    numbers.push_back(fds.back().get());
  }
  {
    auto r = Message::decode(kind, bytes, std::move(fds));
    if (r.ok()) {
      const Message& m = r.value();
      const std::vector<uint8_t> again = m.encode();
      require(again.size() == bytes.size());
      require(std::equal(again.begin(), again.end(), bytes.begin()));
      require(m.validate(nfds).ok());
      require(m.fds().size() == nfds);
      require(m.header().size == m.payload().size());
      (void)m.name();
      const bool frontend = kind == MessageKind::request || kind == MessageKind::reply;
      if (frontend && m.code() == static_cast<uint32_t>(FrontendRequest::set_mem_table) &&
          kind == MessageKind::request) {
        auto regions = m.memory_regions();
        require(regions.ok());
        require(regions->size() == nfds);
      }
      if (m.payload().size() == 8) require(m.u64().ok());
      (void)m.config_space();
      (void)m.as<VringAddress>();
    } else {
      require(r.error().code == nfv::Errc::protocol);
    }
  }
  for (int fd : numbers) require(::fcntl(fd, F_GETFD) == -1);
  return 0;
}
