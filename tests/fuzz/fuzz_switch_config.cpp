// Fuzz target: the switch's configuration front ends (TOML files and the
// port.add RPC's JSON). Any input must give a config or a clear error: no
// crash, no hang, no unbounded recursion.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // bytes as text: any value is valid
  (void)nfv::sw::parse_switch_config(text, "fuzz.toml");
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_discarded()) (void)nfv::sw::port_config_from_json(json);
  return 0;
}
