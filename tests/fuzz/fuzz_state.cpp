// libFuzzer target: the state document reader (nic/state.h). A document that parses must
// serialize and parse back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "nic/state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  nic::ParseNotes notes;
  auto doc = nic::ParseStateDocument(bytes, "fuzz-state.json", &notes);
  if (!doc.ok()) return 0;
  for (const auto& e : nic::ListResources(*doc)) (void)nic::FindResource(*doc, e.address);
  std::string again = nic::SerializeStateDocument(*doc);
  auto round = nic::ParseStateDocument(again, "fuzz-state.json (re-serialized)");
  if (!round.ok()) abort();  // what NIC wrote it must read back
  return 0;
}
