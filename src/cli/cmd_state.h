#pragma once

#include "src/cli/cli.h"

namespace nic::cli {
int RunStateShow(const Invocation& inv);
int RunStatePull(const Invocation& inv);
int RunStatePush(const Invocation& inv);
int RunStateList(const Invocation& inv);
int RunStateHistory(const Invocation& inv);
int RunStateRollback(const Invocation& inv);
int RunStateUnlock(const Invocation& inv);
int RunStateMigrate(const Invocation& inv);
}  // namespace nic::cli
