#pragma once

#include "src/cli/cli.h"

namespace nic::cli {
// nic validate -f nebari-config.yaml [--state PATH] [--format json]
int RunValidate(const Invocation& inv);
}  // namespace nic::cli
