// Guest build: a VNF's `nfv::control::Json stats() const` compiles unchanged
// against this small stand-in for nlohmann::json (flat objects of counters),
// and the guest runtime publishes it to the VMM (publish_stats hypercall),
// which serves it under "vnf" in its stats answer.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace nfv::control {

struct JsonField {
  const char* key;
  uint64_t value;
};

class Json {
 public:
  static constexpr unsigned kMaxFields = 16;
  Json() = default;
  Json(std::initializer_list<JsonField> fields) noexcept {  // NOLINT: reads like nlohmann's {{"k", v}}
    for (const JsonField& f : fields) {
      if (count_ < kMaxFields) fields_[count_++] = f;
    }
  }
  static Json from(const JsonField* fields, unsigned n) noexcept {
    Json j;
    for (unsigned i = 0; i < n && i < kMaxFields; ++i) j.fields_[j.count_++] = fields[i];
    return j;
  }
  unsigned size() const noexcept { return count_; }
  const JsonField& operator[](unsigned i) const noexcept { return fields_[i]; }

 private:
  JsonField fields_[kMaxFields]{};
  unsigned count_ = 0;
};

}  // namespace nfv::control
