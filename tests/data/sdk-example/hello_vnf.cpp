// A VNF built out of tree against the installed SDK (tests/integration/test_sdk_install.py):
//   c++ -std=c++20 hello_vnf.cpp $(pkg-config --cflags --libs nfv-sdk) -o hello-vnf
// It counts what it sees and reflects it (MAC swap). With --self-test it
// exercises the SDK without a back-end: a pool in a shared region, a packet
// built and parsed, a Batch, and prints "self-test ok".
#include <nfv/net/packet_info.hpp>
#include <nfv/packet_memory.hpp>
#include <nfv/run.hpp>

#include <cstdio>
#include <cstring>
#include <string>

struct Reflector final {
  void process(nfv::Batch& batch, nfv::Emitter& out) noexcept {
    for (nfv::Packet* p : batch) {
      if (p->length() < 14) {
        out.drop(p);
        continue;
      }
      uint8_t mac[6];
      std::memcpy(mac, p->data(), 6);
      std::memcpy(p->data(), p->data() + 6, 6);
      std::memcpy(p->data() + 6, mac, 6);
      out.emit(p->input_port, p);
    }
    seen += batch.count;
  }
  nfv::control::Json stats() const { return {{"seen", seen.load()}}; }
  nfv::Counter seen;
};

static int self_test() {
  auto mem = nfv::PacketMemory::create(4 << 20, nfv::Hugepages::never);
  if (!mem) return std::printf("memory: %s\n", mem.error().message.c_str()), 1;
  auto pool = (*mem)->create_pool({.count = 64});
  if (!pool) return std::printf("pool: %s\n", pool.error().message.c_str()), 1;
  nfv::Packet* p = (*pool)->alloc();
  const uint8_t frame[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06};
  std::memcpy(p->append(sizeof frame), frame, sizeof frame);
  nfv::net::PacketInfo info = nfv::net::parse_packet(p->data(), p->length());
  nfv::Batch b;
  b.push(p);
  nfv::PacketPool::free_bulk(b.packets, b.count);
  if ((*pool)->available() != 64 || info.ether_type != 0x0806) return std::printf("self-test failed\n"), 1;
  std::printf("self-test ok\n");
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--self-test") return self_test();
  if (argc < 2) return std::fprintf(stderr, "usage: hello-vnf --self-test | hello-vnf vhost-user:PATH...\n"), 2;
  nfv::RunOptions o;
  o.name = "hello-vnf";
  for (int i = 1; i < argc; ++i) o.ports.push_back(argv[i]);
  return nfv::run(o, [](unsigned) { return Reflector{}; });
}
