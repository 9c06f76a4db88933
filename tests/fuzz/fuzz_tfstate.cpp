// libFuzzer target: the streaming Terraform state parser (importers/terraform), both entry
// points. Any input must give a result or a Status, never a crash, leak or UB.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nic/importer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto state = nic::ParseTfstate(bytes, "fuzz.tfstate");
  if (state.ok()) {
    for (const auto& r : state->resources) {
      for (const auto& inst : r.instances) (void)nic::TerraformInstanceAddress(r, inst);
    }
  }
  nic::TfstateHeader header;
  int seen = 0;
  (void)nic::StreamTfstate(bytes, "fuzz.tfstate", &header, [&](nic::TerraformResource&& r) {
    (void)nic::TerraformResourceAddress(r);
    // Stop early on some inputs so the visitor's error path is exercised too.
    return ++seen > 64 ? nic::Status::InvalidInput("enough") : nic::Status::OK();
  });
  return 0;
}
