// RcuPublisher<T>: how the control thread hands an immutable object (the
// Snapshot, with its FlowTable) to PMD threads, and frees the old one.
//
// publish() stores the new pointer with one release store, then waits in
// rte_rcu_qsbr_synchronize until every online reader has reported a quiescent
// state (PMDs do so once per poll iteration, between bursts; sleeping PMDs are
// offline), and only then destroys the previous object. Readers load with
// acquire and never wait: a reader that loaded the old pointer keeps a valid
// object until its next quiescent report.
#pragma once

#include <rte_rcu_qsbr.h>

#include <atomic>
#include <memory>

namespace nfv::sw {

template <typename T>
class RcuPublisher {
 public:
  RcuPublisher() = default;
  RcuPublisher(const RcuPublisher&) = delete;
  RcuPublisher& operator=(const RcuPublisher&) = delete;

  void set_qsbr(rte_rcu_qsbr* qsbr) noexcept { qsbr_ = qsbr; }
  const std::atomic<const T*>* slot() const noexcept { return &slot_; }
  const T* current() const noexcept { return current_.get(); }

  // Control thread only. `next` may be null (readers then see nothing).
  void publish(std::unique_ptr<T> next) {
    // release: a reader that loads the pointer sees the object's contents.
    slot_.store(next.get(), std::memory_order_release);
    if (qsbr_) rte_rcu_qsbr_synchronize(qsbr_, RTE_QSBR_THRID_INVALID);
    current_ = std::move(next);  // the old object dies here, after the grace period
  }

 private:
  rte_rcu_qsbr* qsbr_ = nullptr;
  std::atomic<const T*> slot_{nullptr};
  std::unique_ptr<T> current_;
};

}  // namespace nfv::sw
