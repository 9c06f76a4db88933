// The list of state backends. Each backend lives in its own folder and only implements
// nic::Backend; this file is the one place that knows them all.
#include "backends/azurerm/azurerm_backend.h"
#include "backends/gcs/gcs_backend.h"
#include "backends/local/local_backend.h"
#include "backends/s3/s3_backend.h"
#include "nic/backend.h"

namespace nic {

Result<std::unique_ptr<Backend>> OpenBackend(const BackendConfig& config) {
  if (config.type == "local") return LocalBackend::Create(config);
  if (config.type == "s3") return S3Backend::Create(config);
  if (config.type == "gcs") return GcsBackend::Create(config);
  if (config.type == "azurerm") return AzurermBackend::Create(config);
  return Status::Usage("unknown backend \"" + config.type + "\"; this build supports: local, s3, gcs, azurerm");
}

}  // namespace nic
