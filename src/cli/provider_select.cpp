#include "src/cli/provider_select.h"

#include "nic/aws_provider.h"

namespace nic::cli {

Result<std::unique_ptr<Provider>> OpenProvider(const std::string& provider, const ProviderContext& context) {
  if (provider == "aws") return NewAwsProvider(context);
  return Status::Unsupported("live reads for provider \"" + provider +
                             "\" are not available in this build (AWS is); the state can be imported, inspected and "
                             "planned offline with --refresh=false");
}

}  // namespace nic::cli
