// Starts azurite-blob (the Azure Blob emulator) on 127.0.0.1 at a free port, in memory.
//
//   auto az = nic::testing::Azurite::Start();     // ASSERT_TRUE(az.ok()) << az.status().ToString();
//   (*az)->blob_endpoint();                        // "http://127.0.0.1:54321/devstoreaccount1"
//   (*az)->connection_string();                    // for AZURE_STORAGE_CONNECTION_STRING
//
// Azurite comes from tests/node_modules (scripts/setup-npm.sh installs the pinned version).
// It verifies SharedKey signatures for the well-known account devstoreaccount1. Stopped (by
// PID) when the object is destroyed.
#pragma once

#include <memory>
#include <string>

#include "nic/status.h"
#include "tests/support/process.h"

namespace nic::testing {

struct AzuriteOptions {
  int ready_timeout_ms = 30000;
  bool skip_api_version_check = true;  // lets SDK-version x-ms-version values through
};

class Azurite {
 public:
  static constexpr const char* kAccount = "devstoreaccount1";
  static constexpr const char* kKey =
      "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

  static Result<std::unique_ptr<Azurite>> Start(const AzuriteOptions& options = {});
  // Path to azurite-blob, or "" when scripts/setup-npm.sh has not been run.
  static std::string BinaryPath();

  int port() const { return port_; }
  std::string blob_endpoint() const { return "http://127.0.0.1:" + std::to_string(port_) + "/" + kAccount; }
  std::string connection_string() const;
  std::string LogTail() const { return process_.LogTail(); }

 private:
  Azurite() = default;
  TempDir dir_;
  ChildProcess process_;
  int port_ = 0;
};

}  // namespace nic::testing
