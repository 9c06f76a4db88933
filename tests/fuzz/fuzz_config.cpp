// libFuzzer target: the nebari-config.yaml parser, normaliser and validator (src/config).
#include <cstddef>
#include <cstdint>
#include <string>

#include "nic/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  nic::ConfigLoadResult r = nic::ParseNebariConfig(text, "fuzz-nebari-config.yaml");
  for (const auto& d : r.errors) (void)nic::FormatDiagnostic(d);
  for (const auto& d : r.warnings) (void)nic::DiagnosticToJson(d);
  if (r.ok()) {
    (void)nic::CanonicalConfigModel(*r.config);
    (void)nic::ConfigHash(*r.config);
  }
  return 0;
}
