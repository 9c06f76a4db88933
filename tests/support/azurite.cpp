#include "tests/support/azurite.h"

#include <unistd.h>

#include <chrono>
#include <thread>

namespace nic::testing {

std::string Azurite::BinaryPath() {
  std::string p = std::string(NIC_SOURCE_DIR) + "/tests/node_modules/.bin/azurite-blob";
  return access(p.c_str(), X_OK) == 0 ? p : std::string();
}

std::string Azurite::connection_string() const {
  return std::string("DefaultEndpointsProtocol=http;AccountName=") + kAccount + ";AccountKey=" + kKey +
         ";BlobEndpoint=" + blob_endpoint() + ";";
}

Result<std::unique_ptr<Azurite>> Azurite::Start(const AzuriteOptions& options) {
  std::string bin = BinaryPath();
  if (bin.empty()) {
    return Status::Unavailable("Azurite is not installed in tests/node_modules; run scripts/setup-npm.sh");
  }
  std::unique_ptr<Azurite> a(new Azurite());
  Status last = Status::Unavailable("azurite-blob did not start");
  for (int attempt = 0; attempt < 3; ++attempt) {
    a->port_ = FreePort();
    // --inMemoryPersistence refuses --location; the working directory is its (unused) workspace.
    std::vector<std::string> argv = {bin, "--blobHost", "127.0.0.1", "--blobPort", std::to_string(a->port_),
                                     "--inMemoryPersistence", "--disableTelemetry", "--silent"};
    if (options.skip_api_version_check) argv.push_back("--skipApiVersionCheck");
    NIC_RETURN_IF_ERROR(a->process_.Start(argv, {}, a->dir_.path() + "/azurite.log", a->dir_.path()));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.ready_timeout_ms);
    while (std::chrono::steady_clock::now() < deadline && a->process_.Running()) {
      // Any HTTP answer (Azurite gives 400 or 403 to "/") means it is serving.
      if (HttpStatus(a->port_, "GET", "/") > 0) return a;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    last = Status::Unavailable("azurite-blob on port " + std::to_string(a->port_) + " not ready; log:\n" +
                               a->process_.LogTail());
    a->process_.Stop();
  }
  return last;
}

}  // namespace nic::testing
