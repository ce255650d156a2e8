// Fuzz target: nfv's topology loader (tools/nfv/topology.hpp), including the
// line cutting that hands the [switch]/[[port]] and [[stream]] parts to the
// switch's and nfv-gen's loaders. Any input must give a topology or a clear
// "FILE:LINE:COLUMN: ...; expected ..." error: no crash, no hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "topology.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // bytes as text: any value is valid
  static const nfv::topo::CheckEnv env{{0, 1}, "/nonexistent-build"};
  auto t = nfv::topo::parse_topology(text, "fuzz.toml", env);
  if (!t && t.error().message.find("; expected ") == std::string::npos &&
      t.error().message.find(": cannot read") == std::string::npos)
    __builtin_trap();  // every refusal says what is expected
  return 0;
}
