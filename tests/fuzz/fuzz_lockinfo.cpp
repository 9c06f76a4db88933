// libFuzzer target: the LockInfo reader (nic/lock.h) every backend uses on a stored lock.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "nic/lock.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto info = nic::LockInfo::FromJson(bytes, "fuzz.tflock");
  if (!info.ok()) return 0;
  auto again = nic::LockInfo::FromJson(info->ToJson(), "fuzz.tflock (re-serialized)");
  if (!again.ok() || again->id != info->id) abort();
  return 0;
}
