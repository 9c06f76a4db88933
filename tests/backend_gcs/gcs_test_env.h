// Shared setup for the gcs backend tests: one gcs_server.py per test binary (started on first
// use, stopped at exit), a fresh bucket per test, and backends pointed at it.
#pragma once

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "backends/gcs/gcs_backend.h"
#include "nic/backend.h"
#include "tests/support/python_server.h"

namespace nic::gcstest {

inline testing::PythonServer* Server() {
  static std::unique_ptr<testing::PythonServer> server = [] {
    auto s = testing::PythonServer::Start("gcs_server.py");
    if (!s.ok()) {
      std::fprintf(stderr, "cannot start gcs_server.py: %s\n", s.status().ToString().c_str());
      std::abort();
    }
    return std::move(s).value();
  }();
  return server.get();
}

inline std::string Endpoint() { return Server()->endpoint(); }

// Creates a bucket (buckets.insert) on `port` and returns its name.
inline std::string NewBucket(int port = 0, const std::string& token = "") {
  static std::atomic<int> n{0};
  if (port == 0) port = Server()->port();
  std::string name = "nic-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
  std::map<std::string, std::string> h = {{"Content-Type", "application/json"}};
  if (!token.empty()) h["Authorization"] = "Bearer " + token;
  auto r = testing::RawHttp(port, "POST", "/storage/v1/b?project=nic-test", nlohmann::json{{"name", name}}.dump(), h);
  if (r.status != 200) {
    std::fprintf(stderr, "bucket insert failed: %d %s\n", r.status, r.body.c_str());
    std::abort();
  }
  return name;
}

inline BackendConfig Config(const std::string& bucket, const std::string& prefix = "nebari/dev") {
  BackendConfig cfg;
  cfg.type = "gcs";
  cfg.values = {{"bucket", bucket}, {"prefix", prefix}, {"endpoint", Endpoint()}};
  return cfg;
}

// A backend through the registry (OpenBackend), as the CLI opens it.
inline std::unique_ptr<GcsBackend> Open(const std::string& bucket, const std::string& prefix = "nebari/dev") {
  auto b = OpenBackend(Config(bucket, prefix));
  if (!b.ok()) {
    std::fprintf(stderr, "OpenBackend(gcs): %s\n", b.status().ToString().c_str());
    std::abort();
  }
  return std::unique_ptr<GcsBackend>(static_cast<GcsBackend*>(std::move(b).value().release()));
}

// The server's API request counter (GET /_test/requests), and its reset.
inline int64_t RequestCount() {
  auto r = testing::RawHttp(Server()->port(), "GET", "/_test/requests");
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("total") ? j["total"].get<int64_t>() : -1;
}
inline nlohmann::json RequestsByMethod() {
  auto r = testing::RawHttp(Server()->port(), "GET", "/_test/requests");
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("by_method") ? j["by_method"] : nlohmann::json::object();
}
inline void ResetRequestCount() { testing::RawHttp(Server()->port(), "POST", "/_test/reset"); }

// Object metadata or media straight from the server (bypassing the code under test).
inline testing::RawHttpResponse RawObject(const std::string& bucket, const std::string& object, bool media) {
  std::string enc;
  for (char c : object) enc += c == '/' ? std::string("%2F") : std::string(1, c);
  return testing::RawHttp(Server()->port(), "GET", "/storage/v1/b/" + bucket + "/o/" + enc + (media ? "?alt=media" : ""));
}

}  // namespace nic::gcstest
