// Helpers shared by the tests in tests/http.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace nic::http_test {

// ../shared relative to the source tree (ctest also sets NIC_SHARED_DIR).
inline std::string SharedDir() {
  const char* d = std::getenv("NIC_SHARED_DIR");
  if (d != nullptr && *d != '\0') return d;
  return std::string(NIC_SOURCE_DIR) + "/../shared";
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace nic::http_test
