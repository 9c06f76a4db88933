#pragma once

#include "src/cli/cli.h"

namespace nic::cli {
// nic import --from-terraform: tfstate(s) of stages 02/03 -> NIC state + outputs.json.
int RunImport(const Invocation& inv);
}  // namespace nic::cli
