#include "vhost_port.hpp"

#include "nfv/unix_socket.hpp"

#include <rte_vhost.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace nfv::sw {

namespace {

constexpr uint32_t kSetMemTable = 5;  // VHOST_USER_SET_MEM_TABLE (vhost-user spec)

// Offloads the bridge does not implement: the peer must send and accept plain
// frames. Feature bits of virtio 1.2 section 5.1.3 (linux/virtio_net.h does not
// compile as C++): CSUM 0, GUEST_CSUM 1, GUEST_TSO4 7, GUEST_TSO6 8, GUEST_ECN 9,
// GUEST_UFO 10, HOST_TSO4 11, HOST_TSO6 12, HOST_ECN 13, HOST_UFO 14.
constexpr uint64_t kDisabledFeatures = (1ULL << 0) | (1ULL << 1) | (0xffULL << 7);

struct Entry {
  std::string path;
  VhostPortState* state = nullptr;
  uint16_t queues = 0;
  std::atomic<bool> bad_memory{false};  // the last SET_MEM_TABLE was refused
};

// The vhost library calls back with a vid only; the registry maps it to a
// port through the socket path. Guarded by `mu` (control and vhost threads).
struct Registry {
  std::mutex mu;
  std::array<Entry, kMaxPorts> entries;
  rte_rcu_qsbr* qsbr = nullptr;
};
Registry& registry() {
  static Registry r;  // first use is vhost_ports_init, before any socket exists
  return r;
}

Entry* entry_of(int vid) {
  char path[PATH_MAX];
  if (rte_vhost_get_ifname(vid, path, sizeof path) != 0) return nullptr;
  for (Entry& e : registry().entries)
    if (e.state && e.path == path) return &e;
  return nullptr;
}

// Every region must lie inside its file: mapping past the end is allowed, the
// first access there is a SIGBUS.
rte_vhost_msg_result check_memory_table(int vid, void* msg) {
  uint32_t request;
  std::memcpy(&request, msg, sizeof request);  // the message starts with its request code
  if (request != kSetMemTable) return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
  std::lock_guard lock(registry().mu);
  Entry* e = entry_of(vid);
  if (!e) return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
  rte_vhost_memory* mem = nullptr;
  if (rte_vhost_get_mem_table(vid, &mem) != 0 || !mem) return RTE_VHOST_MSG_RESULT_ERR;
  bool ok = true;
  for (uint32_t i = 0; i < mem->nregions && ok; ++i) {
    const rte_vhost_mem_region& r = mem->regions[i];
    struct stat st{};
    const long page = sysconf(_SC_PAGESIZE);
    if (fstat(r.fd, &st) != 0) {
      ok = false;
    } else {
      const uint64_t file_end = (static_cast<uint64_t>(st.st_size) + page - 1) / page * page;
      ok = r.mmap_size <= file_end;
      if (!ok)
        spdlog::warn("vhost-user {}: memory region {} maps {} bytes of a {}-byte file: connection refused",
                     e->path, i, r.mmap_size, st.st_size);
    }
  }
  std::free(mem);
  e->bad_memory.store(!ok);
  if (!ok) {
    e->state->refused.fetch_add(1);
    return RTE_VHOST_MSG_RESULT_ERR;
  }
  return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

const rte_vhost_user_extern_ops kExternOps = {nullptr, check_memory_table};

int on_new_connection(int vid) {
  rte_vhost_extern_callback_register(vid, &kExternOps, nullptr);
  return 0;
}

int on_new_device(int vid) {
  std::lock_guard lock(registry().mu);
  Entry* e = entry_of(vid);
  if (!e) return -1;
  if (e->bad_memory.load()) {
    spdlog::warn("vhost-user {}: device with a refused memory table stays down", e->path);
    return -1;
  }
  const uint16_t nvrings = rte_vhost_get_vring_num(vid);
  if (nvrings / 2 > e->queues)
    spdlog::warn("vhost-user {}: peer has {} queue pairs, the port polls {} (set queues = {})", e->path,
                 nvrings / 2, e->queues, nvrings / 2);
  for (uint16_t q = 0; q < kMaxQueues; ++q) {
    uint16_t burst = 0;
    if (q < e->queues && 2 * q + 1 < nvrings) {
      rte_vhost_vring rx{}, tx{};
      if (rte_vhost_get_vhost_vring(vid, 2 * q, &rx) == 0 && rte_vhost_get_vhost_vring(vid, 2 * q + 1, &tx) == 0)
        burst = std::min<uint16_t>({kBurst, rx.size, tx.size});
      // The switch polls: the guest need not kick it.
      rte_vhost_enable_guest_notification(vid, 2 * q, 0);
      rte_vhost_enable_guest_notification(vid, 2 * q + 1, 0);
    }
    e->state->burst[q].store(burst, std::memory_order_relaxed);
  }
  e->state->connections.fetch_add(1);
  // release: PMDs that see the vid see the burst caps.
  e->state->vid.store(vid, std::memory_order_release);
  spdlog::info("vhost-user {}: device ready ({} queue pairs)", e->path, nvrings / 2);
  return 0;
}

void on_destroy_device(int vid) {
  VhostPortState* state = nullptr;
  std::string path;
  {
    std::lock_guard lock(registry().mu);
    if (Entry* e = entry_of(vid)) state = e->state, path = e->path;
  }
  if (!state || state->vid.load() != vid) return;
  state->vid.store(-1, std::memory_order_release);
  // Wait until no PMD is inside a burst that loaded the old vid.
  rte_rcu_qsbr_synchronize(registry().qsbr, RTE_QSBR_THRID_INVALID);
  spdlog::info("vhost-user {}: device gone", path);
}

int on_vring_state_changed(int, uint16_t, int) { return 0; }

const rte_vhost_device_ops kDeviceOps = {
    .new_device = on_new_device,
    .destroy_device = on_destroy_device,
    .vring_state_changed = on_vring_state_changed,
    .features_changed = nullptr,
    .new_connection = on_new_connection,
    .destroy_connection = nullptr,
    .guest_notified = nullptr,
    .reserved = {nullptr},
};

}  // namespace

void vhost_ports_init(rte_rcu_qsbr* qsbr) { registry().qsbr = qsbr; }

Status vhost_port_open(const PortConfig& cfg, VhostPortState* state) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(cfg.path).parent_path(), ec);
  if (cfg.mode == VhostMode::server) {
    // A stale file left by a process that died is replaced; a live socket never is.
    if (Status st = reclaim_unix_socket_path(cfg.path); !st) return st;
  }
  Entry* slot = nullptr;
  {
    std::lock_guard lock(registry().mu);
    for (Entry& e : registry().entries)
      if (!e.state) {
        slot = &e;
        break;
      }
    if (!slot) return make_error(Errc::resource, "too many vhost-user ports");
    slot->path = cfg.path;
    slot->queues = cfg.queues;
    slot->bad_memory.store(false);
    slot->state = state;
  }
  state->vid.store(-1);
  bool registered = false;
  auto undo = [&](const std::string& what) -> Error {
    if (registered) rte_vhost_driver_unregister(cfg.path.c_str());
    std::lock_guard lock(registry().mu);
    slot->state = nullptr;
    slot->path.clear();
    return make_error(Errc::resource, fmt::format("vhost-user {}: {}", cfg.path, what));
  };
  const uint64_t flags = cfg.mode == VhostMode::client ? RTE_VHOST_USER_CLIENT : 0;  // clients reconnect
  if (rte_vhost_driver_register(cfg.path.c_str(), flags) != 0) return undo("cannot register the socket");
  registered = true;
  if (rte_vhost_driver_disable_features(cfg.path.c_str(), kDisabledFeatures) != 0)
    return undo("cannot set the feature set");
  if (rte_vhost_driver_callback_register(cfg.path.c_str(), &kDeviceOps) != 0)
    return undo("cannot register callbacks");
  if (rte_vhost_driver_start(cfg.path.c_str()) != 0) return undo("cannot start (see the log above)");
  return {};
}

void vhost_port_close(const std::string& path) {
  // The library refuses while its thread is busy with the connection: retry briefly.
  for (int i = 0; i < 500 && rte_vhost_driver_unregister(path.c_str()) == -EBUSY; ++i) usleep(2000);
  std::lock_guard lock(registry().mu);
  for (Entry& e : registry().entries)
    if (e.state && e.path == path) {
      e.state->vid.store(-1);
      e.state = nullptr;
      e.path.clear();
    }
}

}  // namespace nfv::sw
