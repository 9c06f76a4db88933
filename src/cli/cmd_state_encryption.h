#pragma once

#include "src/cli/cli.h"

namespace nic::cli {
int RunStateEncrypt(const Invocation& inv);
int RunStateDecrypt(const Invocation& inv);
}  // namespace nic::cli
