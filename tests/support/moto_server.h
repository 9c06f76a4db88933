// Starts moto_server (the AWS emulator) on 127.0.0.1 at a free port, for one test or suite.
//
//   auto moto = nic::testing::MotoServer::Start();          // ASSERT_TRUE(moto.ok())
//   std::string endpoint = (*moto)->endpoint();             // "http://127.0.0.1:54321"
//
// One process serves every service; requests are routed by the SigV4 credential scope, so
// always sign with the right service name. Stopped (by PID) when the object is destroyed.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "nic/status.h"
#include "tests/support/process.h"

namespace nic::testing {

struct MotoOptions {
  // Auth mode: after this many unauthenticated requests moto verifies every signature against
  // its IAM (see ../shared/reference/emulators.md). -1 leaves auth off (moto's default).
  int initial_no_auth_action_count = -1;
  std::map<std::string, std::string> env;  // extra variables (MOTO_IAM_LOAD_MANAGED_POLICIES...)
  int ready_timeout_ms = 30000;
};

class MotoServer {
 public:
  static Result<std::unique_ptr<MotoServer>> Start(const MotoOptions& options = {});
  ~MotoServer() = default;

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // POST /moto-api/reset: wipes all state.
  Status Reset();
  std::string LogTail() const { return process_.LogTail(); }

 private:
  MotoServer() = default;
  TempDir dir_;
  ChildProcess process_;
  int port_ = 0;
};

}  // namespace nic::testing
