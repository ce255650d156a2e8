// VirtioNetDevice (see the header).
#include "virtio_net.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "nfv/virtio/net.hpp"
#include "nfv/virtio/ring.hpp"

namespace nfv::vmm {
namespace {
using namespace std::chrono_literals;
using virtio::feature_bit;

// Features that live in the VMM's device model, not in the rings: not sent to the back-end.
// The control queue and the pair count are the VMM's too (the back-end learns the pairs
// through VHOST_USER_PROTOCOL_F_MQ and SET_VRING_ENABLE, as with QEMU).
constexpr uint64_t kLocalFeatures = feature_bit(virtio::VIRTIO_NET_F_MAC) | feature_bit(virtio::VIRTIO_NET_F_STATUS) |
                                    feature_bit(virtio::VIRTIO_NET_F_CTRL_VQ) | feature_bit(virtio::VIRTIO_NET_F_MQ);
constexpr uint64_t kMultiqueue = feature_bit(virtio::VIRTIO_NET_F_CTRL_VQ) | feature_bit(virtio::VIRTIO_NET_F_MQ);
constexpr uint64_t kOffered = feature_bit(virtio::VIRTIO_F_VERSION_1) | feature_bit(virtio::VIRTIO_F_EVENT_IDX) |
                              feature_bit(virtio::VIRTIO_NET_F_MRG_RXBUF) | kLocalFeatures;
}  // namespace

VirtioNetDevice::VirtioNetDevice(const Wiring& w, const NetSpec& spec, unsigned index)
    : w_(w),
      spec_(spec),
      index_(index),
      pairs_(std::clamp<uint16_t>(spec.queues, 1, kMaxQueuePairs)) {
  config_.mac = spec.mac.bytes;
  config_.status = 0;
  config_.max_virtqueue_pairs = pairs_;
}

Result<std::unique_ptr<VirtioNetDevice>> VirtioNetDevice::create(const Wiring& w, const NetSpec& spec,
                                                                 unsigned index) {
  std::unique_ptr<VirtioNetDevice> d(new VirtioNetDevice(w, spec, index));
  if (auto s = d->wire(); !s) return std::move(s).error();
  d->thread_ = std::thread([p = d.get()] { p->worker(); });
  return d;
}

Status VirtioNetDevice::wire() {
  bar_ = guest::kMmioBase + index_ * kBarSpacing;
  auto t = VirtioPciDevice::create(*this, w_.memory, *this, bar_);
  if (!t) return std::move(t).error();
  transport_ = std::move(*t);
  if (auto slot = w_.pci.add_device(transport_.get()); !slot) return std::move(slot).error();
  if (auto s = w_.mmio.add(bar_, virtio_bar::size, transport_.get(), fmt::format("virtio-net {}", index_)); !s) {
    return s;
  }
  wake_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  for (uint16_t q = 0; q < data_queues(); ++q) {
    kick_fds_.emplace_back(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    call_fds_.emplace_back(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!kick_fds_.back().valid() || !call_fds_.back().valid() || !wake_fd_.valid()) {
      return make_error(Errc::io, std::string("eventfd: ") + std::strerror(errno));
    }
    // The driver writes the 16-bit queue index to the queue's notify address (4.1.4.4).
    if (auto s = w_.vm.add_ioeventfd(transport_->notify_address(q), 2, kick_fds_.back().get(), false); !s) return s;
    if (auto s = w_.vm.assign_irqfd(call_fds_.back().get(), irq_gsi(q)); !s) return s;
  }
  transport_->set_msix_changed_callback([this](uint16_t) { update_irq_routes(); });
  return {};
}

VirtioNetDevice::~VirtioNetDevice() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(wake_fd_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  w_.mmio.remove(transport_.get());
}

guest::DeviceInfo VirtioNetDevice::boot_info() const {
  guest::DeviceInfo d{};
  d.virtio_type = kVirtioNetDeviceType;
  for (const PciDeviceInfo& p : w_.pci.devices()) {
    if (p.bar0_address == bar_) d.pci_bdf = p.bdf();
  }
  d.msix_vectors = transport_->msix_size();
  d.bar_gpa = bar_;
  d.bar_size = virtio_bar::size;
  d.common_offset = virtio_bar::common;
  d.notify_offset = virtio_bar::notify;
  d.notify_multiplier = virtio_bar::notify_off_multiplier;
  d.isr_offset = virtio_bar::isr;
  d.device_offset = virtio_bar::device;
  d.msix_table_offset = virtio_bar::msix_table;
  return d;
}

uint64_t VirtioNetDevice::device_features() const { return kOffered | (pairs_ > 1 ? kMultiqueue : 0); }

void VirtioNetDevice::config_read(uint32_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  read_net_config(config_, offset, data);
}

void VirtioNetDevice::config_write(uint32_t, std::span<const uint8_t>) {
  // virtio-net's configuration is read-only for the driver (5.1.4); the transport counts nothing here.
}

Status VirtioNetDevice::activate(uint64_t driver_features, std::span<const VirtqueueConfig> queues) {
  update_irq_routes();
  ctrl_.reset();
  const bool mq = (driver_features & kMultiqueue) == kMultiqueue;
  {
    std::lock_guard lock(mu_);
    driver_features_ = driver_features;
    queues_.clear();
    for (const VirtqueueConfig& q : queues) {
      if (pairs_ > 1 && q.index == ctrl_index()) {
        // Only with MQ and CTRL_VQ both negotiated is queue 2Q the control queue (5.1.2).
        if (mq) {
          ctrl_.configure(q.size, q.desc_gpa, q.avail_gpa, q.used_gpa,
                          (driver_features & feature_bit(virtio::VIRTIO_F_EVENT_IDX)) != 0);
        }
        continue;
      }
      // Without MQ only receiveq1 and transmitq1 exist for the driver.
      if (!mq && q.index >= 2) continue;
      queues_.push_back(q);
    }
    active_pairs_ = 1;
    ++enables_gen_;
    want_active_ = true;
    ++generation_;
  }
  cv_.notify_all();
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(wake_fd_.get(), &one, sizeof one);
  return {};
}

void VirtioNetDevice::reset() {
  ctrl_.reset();
  {
    std::lock_guard lock(mu_);
    want_active_ = false;
    active_pairs_ = 1;
    ++generation_;
  }
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(wake_fd_.get(), &one, sizeof one);
}

void VirtioNetDevice::memory_changed() {
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(wake_fd_.get(), &one, sizeof one);
}

void VirtioNetDevice::notify(uint16_t queue) {
  if (pairs_ > 1 && queue == ctrl_index()) {
    serve_ctrl();
    return;
  }
  // A doorbell that missed the ioeventfd (another width): pass it on.
  ++counters_.kicks_to_vmm;
  if (queue < kick_fds_.size()) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t r = ::write(kick_fds_[queue].get(), &one, sizeof one);
  }
}

void VirtioNetDevice::serve_ctrl() {
  uint16_t max_pairs = pairs_;
  {
    std::lock_guard lock(mu_);
    if (backend_pairs_ != 0) max_pairs = std::min(max_pairs, backend_pairs_);
  }
  const VirtioNetCtrlQueue::Result r = ctrl_.process(w_.memory, max_pairs);
  if (r.pairs != 0) {
    {
      std::lock_guard lock(mu_);
      active_pairs_ = r.pairs;
      ++enables_gen_;
    }
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(wake_fd_.get(), &one, sizeof one);
  }
  if (r.outcome == VirtioNetCtrlQueue::Outcome::broken) {
    transport_->raise_needs_reset();
  } else if (r.outcome == VirtioNetCtrlQueue::Outcome::completed) {
    transport_->signal_queue(ctrl_index());
  }
}

void VirtioNetDevice::signal(uint64_t address, uint32_t data) { (void)w_.vm.signal_msi(address, data); }

void VirtioNetDevice::update_irq_routes() {
  for (uint16_t q = 0; q < data_queues(); ++q) {
    std::optional<Vm::MsiMessage> route;
    const uint16_t v = transport_->queue_vector(q);
    if (v != VIRTIO_MSI_NO_VECTOR) {
      const MsixVector m = transport_->msix_vector(v);
      // Only messages to the local APIC window (what MsixTable would deliver itself).
      if (!m.masked && is_apic_msi_address(m.address)) route = Vm::MsiMessage{m.address, m.data};
    }
    if (auto s = w_.vm.set_msi_route(irq_gsi(q), route); !s) {
      ++counters_.irq_route_failures;
    } else if (route) {
      ++counters_.irq_routes;
    }
  }
}

void VirtioNetDevice::set_link(bool up) {
  {
    std::lock_guard lock(mu_);
    config_.status = up ? VIRTIO_NET_S_LINK_UP : 0;
  }
  transport_->config_changed();
}

Status VirtioNetDevice::setup_rings(vhost_user::VhostUserFrontend& fe, uint64_t features,
                                    const std::vector<VirtqueueConfig>& queues, uint16_t active_pairs) {
  const uint64_t ring_features = features & ~kLocalFeatures;
  if ((ring_features & ~fe.device_features()) != 0) {
    return make_error(Errc::unsupported, fmt::format("the back-end lacks features {:#x} the guest negotiated",
                                                     ring_features & ~fe.device_features()));
  }
  if (auto s = fe.set_features(ring_features); !s) return s;
  std::vector<vhost_user::SharedMemory> mem;
  for (const GuestMemoryRegion& r : w_.memory.regions()) {
    if (r.fd < 0) continue;
    mem.push_back({vhost_user::MemoryRegion{r.gpa, r.size, reinterpret_cast<uint64_t>(r.host), r.fd_offset}, r.fd});
  }
  if (auto s = fe.set_mem_table(mem); !s) return s;
  set_up_.clear();
  for (const VirtqueueConfig& q : queues) {
    // Pairs the back-end does not have are never set up; VQ_PAIRS_SET refuses them.
    if (q.index >= 2u * fe.max_queue_pairs()) continue;
    uint8_t* desc = w_.memory.translate(q.desc_gpa, 16ull * q.size);
    uint8_t* avail = w_.memory.translate(q.avail_gpa, 6 + 2ull * q.size);
    uint8_t* used = w_.memory.translate(q.used_gpa, 6 + 8ull * q.size);
    if (desc == nullptr || avail == nullptr || used == nullptr) {
      return make_error(Errc::invalid_argument, fmt::format("queue {}: ring outside guest memory", q.index));
    }
    // Replay from where the rings are: the used index is what the back-end completed.
    const uint16_t base = std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(used + 2)).load(std::memory_order_acquire);
    vhost_user::VringSetup v;
    v.index = q.index;
    v.size = q.size;
    v.desc_addr = reinterpret_cast<uint64_t>(desc);
    v.avail_addr = reinterpret_cast<uint64_t>(avail);
    v.used_addr = reinterpret_cast<uint64_t>(used);
    v.base = base;
    v.kick_fd = kick_fds_[q.index].get();
    v.call_fd = call_fds_[q.index].get();  // irqfd: routed when the guest gave the queue a vector
    if (auto s = fe.setup_vring(v); !s) return s;
    set_up_.push_back(q.index);
  }
  return apply_enables(fe, active_pairs);
}

Status VirtioNetDevice::apply_enables(vhost_user::VhostUserFrontend& fe, uint16_t active_pairs) {
  if (fe.protocol_features() == 0) return {};  // no SET_VRING_ENABLE: rings run once set up
  for (uint16_t q : set_up_) {
    if (auto s = fe.enable_vring(q, q < 2u * active_pairs); !s) return s;
  }
  return {};
}

void VirtioNetDevice::worker() {
  std::optional<vhost_user::VhostUserFrontend> fe;
  uint64_t applied = 0, applied_enables = 0;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    if (!fe) {
      auto ch = vhost_user::connect_unix(spec_.socket, 0ms);
      if (ch) {
        auto f = vhost_user::VhostUserFrontend::start(std::move(*ch));
        if (f) {
          fe.emplace(std::move(*f));
          ++counters_.connects;
          applied = 0;  // set everything up again on this connection
          {
            std::lock_guard lock(mu_);
            connected_ = true;
            backend_features_ = fe->device_features();
            backend_pairs_ = static_cast<uint16_t>(std::min<uint64_t>(fe->max_queue_pairs(), kMaxQueuePairs));
          }
          set_link(true);
        } else {
          std::lock_guard lock(mu_);
          last_error_ = f.error().message;
        }
      }
      if (!fe) {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, 100ms, [this] { return stopping_; });
        continue;
      }
    }
    bool want = false;
    uint64_t gen = 0, features = 0, enables = 0;
    uint16_t active = 1;
    std::vector<VirtqueueConfig> queues;
    {
      std::lock_guard lock(mu_);
      want = want_active_;
      gen = generation_;
      features = driver_features_;
      queues = queues_;
      enables = enables_gen_;
      active = active_pairs_;
    }
    if (gen != applied) {
      Status s;
      if (want) {
        s = setup_rings(*fe, features, queues, active);
        if (s) ++counters_.rings_started;
      } else if (rings_up_) {
        for (std::size_t i = 0; i < set_up_.size() && s; ++i) {
          auto b = fe->stop_vring(set_up_[i]);
          if (!b) s = std::move(b).error();
        }
        set_up_.clear();
      }
      applied = gen;
      applied_enables = enables;
      {
        std::lock_guard lock(mu_);
        rings_up_ = want && s.ok();
        if (!s) {
          ++counters_.setup_failures;
          last_error_ = s.error().message;
        }
      }
      // Outside mu_: the transport's lock comes first (vCPU threads take mu_ under it).
      if (!s && s.error().code != Errc::disconnected && s.error().code != Errc::timeout) {
        transport_->raise_needs_reset();
      }
    } else if (enables != applied_enables) {
      // The driver changed the number of pairs (VQ_PAIRS_SET): enable and disable rings.
      applied_enables = enables;
      bool up = false;
      {
        std::lock_guard lock(mu_);
        up = rings_up_;
      }
      if (up) {
        if (auto s = apply_enables(*fe, active); !s) {
          ++counters_.setup_failures;
          std::lock_guard lock(mu_);
          last_error_ = s.error().message;
        }
      }
    }
    pollfd p[2] = {{fe->fd(), POLLIN, 0}, {wake_fd_.get(), POLLIN, 0}};
    ::poll(p, 2, 200);
    if (p[1].revents & POLLIN) {
      uint64_t v;
      [[maybe_unused]] ssize_t r = ::read(wake_fd_.get(), &v, sizeof v);
    }
    if (p[0].revents != 0 && !fe->check_alive()) {
      fe.reset();
      ++counters_.disconnects;
      {
        std::lock_guard lock(mu_);
        connected_ = false;
        rings_up_ = false;
        backend_pairs_ = 0;
      }
      set_link(false);
    }
  }
}

control::Json VirtioNetDevice::status() const {
  // The transport's lock first, and not inside mu_: vCPU threads take mu_ under the transport's
  // lock (activate, reset, the control queue).
  const uint8_t driver_status = transport_->status();
  std::lock_guard lock(mu_);
  return {{"socket", spec_.socket},
          {"mac", spec_.mac.to_string()},
          {"connected", connected_},
          {"rings_up", rings_up_},
          {"queue_pairs", pairs_},
          {"active_pairs", active_pairs_},
          {"backend_pairs", backend_pairs_},
          {"driver_status", driver_status},
          {"last_error", last_error_}};
}

control::Json VirtioNetDevice::stats() const {
  const VirtioPciCounters& t = transport_->counters();
  return {{"socket", spec_.socket},
          {"connects", counters_.connects.load()},
          {"disconnects", counters_.disconnects.load()},
          {"setup_failures", counters_.setup_failures.load()},
          {"rings_started", counters_.rings_started.load()},
          {"kicks_to_vmm", counters_.kicks_to_vmm.load()},
          {"irq_routes", counters_.irq_routes.load()},
          {"irq_route_failures", counters_.irq_route_failures.load()},
          {"ctrl",
           {{"commands", ctrl_.counters().commands.load()},
            {"refused", ctrl_.counters().refused.load()},
            {"bad_chains", ctrl_.counters().bad_chains.load()},
            {"pairs_set", ctrl_.counters().pairs_set.load()}}},
          {"transport",
           {{"bad_access", t.bad_access.load()},
            {"read_only_write", t.read_only_write.load()},
            {"bad_queue_select", t.bad_queue_select.load()},
            {"bad_queue_size", t.bad_queue_size.load()},
            {"bad_queue_enable", t.bad_queue_enable.load()},
            {"bad_ring", t.bad_ring.load()},
            {"bad_msix_vector", t.bad_msix_vector.load()},
            {"refused_features", t.refused_features.load()},
            {"bad_status", t.bad_status.load()},
            {"late_write", t.late_write.load()},
            {"activate_failed", t.activate_failed.load()},
            {"needs_reset", t.needs_reset.load()},
            {"bad_writes", t.bad_writes()},
            {"resets", t.resets.load()},
            {"notifies", t.notifies.load()},
            {"interrupts", t.interrupts.load()}}}};
}

}  // namespace nfv::vmm
