// Starts one of the project's Python protocol test servers (tests/servers/*.py) for a test
// binary, using their readiness protocol: --port 0 --port-file FILE, ready once FILE holds the
// port. Stopped by PID when the object is destroyed.
//
//   auto gcs = nic::testing::PythonServer::Start("gcs_server.py", {"--require-token", "t"});
//   ASSERT_TRUE(gcs.ok()) << gcs.status().ToString();
//   std::string endpoint = (*gcs)->endpoint();   // "http://127.0.0.1:40123"
//
// RawHttp talks to such a server without the transport under test (setup, /_test endpoints).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nic/status.h"
#include "tests/support/process.h"

namespace nic::testing {

struct RawHttpResponse {
  int status = -1;  // -1: no HTTP answer
  std::string body;
};

// One HTTP/1.0 request to 127.0.0.1:port with a body and extra headers; reads the whole answer.
RawHttpResponse RawHttp(int port, const std::string& method, const std::string& target, const std::string& body = "",
                        const std::map<std::string, std::string>& headers = {}, int timeout_ms = 5000);

class PythonServer {
 public:
  // `script` is a file name under tests/servers/.
  static Result<std::unique_ptr<PythonServer>> Start(const std::string& script, const std::vector<std::string>& extra_args = {},
                                                     int ready_timeout_ms = 20000);
  ~PythonServer() = default;
  PythonServer(const PythonServer&) = delete;
  PythonServer& operator=(const PythonServer&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return process_.pid(); }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string LogTail() const { return process_.LogTail(); }

 private:
  PythonServer() = default;
  TempDir dir_;
  ChildProcess process_;
  int port_ = 0;
};

}  // namespace nic::testing
