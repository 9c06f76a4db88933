#include "nic/provider.h"

#include <algorithm>
#include <cctype>
#include <atomic>
#include <thread>

namespace nic {

std::vector<Result<std::optional<nlohmann::json>>> Provider::ReadAll(const std::vector<ResourceRef>& refs) {
  // Default: a bounded pool of threads over Read. Providers with batch APIs override this.
  std::vector<Result<std::optional<nlohmann::json>>> out(refs.size(), Status::Internal("not read"));
  const size_t workers = std::max<size_t>(1, std::min<size_t>(10, refs.size()));
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (size_t w = 0; w < workers; ++w) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < refs.size(); i = next++) out[i] = Read(refs[i].collection, refs[i].value);
    });
  }
  for (auto& t : pool) t.join();
  return out;
}

namespace {
std::string GcpSafe(const std::string& s, bool key) {
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '.' || c == '/') out += key ? '_' : '-';
    else if (c == ':') out += '-';
    else if (std::isupper(u)) out += static_cast<char>(std::tolower(u));
    else if (std::isalnum(u) || c == '-' || c == '_') out += c;
    else out += '_';
  }
  return out.substr(0, 63);  // GCP label keys and values are at most 63 characters
}
}  // namespace

std::string ToGcpLabelKey(const std::string& key) { return GcpSafe(key, true); }
std::string ToGcpLabelValue(const std::string& value) { return GcpSafe(value, false); }

}  // namespace nic
