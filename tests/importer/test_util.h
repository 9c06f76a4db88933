// Helpers for the importer tests: where the fixtures and the shared real states live, and an
// independent reading of a tfstate (plain nlohmann DOM) to check the importer against.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nic::testing_importer {

inline std::string SourceDir() { return NIC_SOURCE_DIR; }

inline std::string FixtureDir() { return SourceDir() + "/tests/fixtures/tfstate"; }
inline std::string Fixture(const std::string& name) { return FixtureDir() + "/" + name; }

// ../shared (ctest sets NIC_SHARED_DIR; otherwise next to the source tree).
inline std::string SharedDir() {
  if (const char* d = std::getenv("NIC_SHARED_DIR"); d != nullptr && *d != '\0') return d;
  return SourceDir() + "/../shared";
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh temporary directory, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "nic-import-XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    path_ = mkdtemp(buf.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Every string leaf under `node`.
inline void StringLeaves(const nlohmann::json& node, std::vector<std::string>* out) {
  if (node.is_string()) {
    out->push_back(node.get<std::string>());
  } else if (node.is_structured()) {
    for (const auto& e : node) StringLeaves(e, out);
  }
}

}  // namespace nic::testing_importer
