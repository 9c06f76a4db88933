// libFuzzer target: the XML reader for S3, EC2, IAM, STS and Azure responses (src/http/xml.cpp),
// with the lookups callers make on its tree.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nic/xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto doc = nic::xml::Parse(bytes);
  if (!doc.ok()) return 0;
  (void)doc->Find("Code");
  (void)doc->PathText("Error/Message");
  (void)doc->PathText("Errors/Error/Code");
  for (const auto* set : doc->Children("vpcSet")) {
    for (const auto* item : set->Children("item")) (void)item->ChildText("vpcId");
  }
  (void)nic::xml::Escape(doc->text);
  return 0;
}
