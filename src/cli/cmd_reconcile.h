#pragma once

#include "src/cli/cli.h"

namespace nic::cli {
int RunPlan(const Invocation& inv);
int RunDeploy(const Invocation& inv);
int RunDriftDetect(const Invocation& inv);
int RunDriftDiff(const Invocation& inv);
int RunDriftAccept(const Invocation& inv);
int RunDriftFix(const Invocation& inv);
int RunStatus(const Invocation& inv);
int RunDestroy(const Invocation& inv);
}  // namespace nic::cli
