// The reconciler's operations: deploy (plan + apply with per-change persistence and a journal),
// drift detect/accept/fix, status and destroy. Each runs under the state lock it takes itself.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nic/config.h"
#include "nic/plan.h"
#include "nic/provider.h"
#include "nic/state_manager.h"
#include "nic/status.h"

namespace nic {

using ProgressFn = std::function<void(const std::string& line)>;

struct DeployOptions {
  PlanOptions plan;
  bool rollback_on_failure = false;  // undo this run's changes when one fails
  int parallelism = 10;              // independent changes applied at once
  ProgressFn progress;               // human progress lines (stderr)
};

struct AppliedChange {
  std::string address;
  std::string action;
  bool ok = false;
  std::string error;  // when !ok
  uint64_t serial = 0;  // the state serial that recorded it
  ErrorCode error_code = ErrorCode::kOk;  // when !ok: the failure's kind (sets the exit code)
};

struct DeployResult {
  Plan plan;
  std::vector<AppliedChange> applied;
  std::vector<std::string> recovered;  // journal intents resolved before planning
  uint64_t final_serial = 0;
  bool rolled_back = false;
  int failures() const;
};

// Locks, reads, resolves unfinished journal intents, refreshes, plans and applies in dependency
// order, persisting the state after EACH change. A plan with refused changes applies nothing
// (kRefused). When a change fails the others of the run keep their recorded results; the
// returned Status is then an error naming the failures, with the DeployResult filled.
Status Deploy(StateManager& manager, HistoryDb* history, const NebariConfig& config, Provider& provider,
              const DeployOptions& options, DeployResult* result);

// Drift: state vs live, plus NIC-tagged resources the state does not know (design §6.5).
struct DriftReport {
  Plan plan;  // notes carry drift / deleted-outside / orphan
  int total_resources = 0;
  nlohmann::json ToJson() const;  // {has_drift, cloud, kubernetes, summary{...}, items[]}
  std::string ToText(bool detailed) const;
  bool has_drift() const;
};
Result<DriftReport> DetectDrift(const StateDocument& state, Provider& provider);

// state <- live for the drifted resources (all, or those in `addresses`). Locks; serial+1.
Status AcceptDrift(StateManager& manager, Provider& provider, const std::vector<std::string>& addresses,
                   std::vector<std::string>* accepted);
// live <- state for the drifted resources through the provider; immutable differences refused.
Status FixDrift(StateManager& manager, Provider& provider, const std::vector<std::string>& addresses,
                std::vector<std::string>* fixed);

// Deletes what the state records, in reverse dependency order, persisting after each deletion.
// Imported resources are refused unless include_imported.
Status Destroy(StateManager& manager, Provider& provider, bool include_imported, const ProgressFn& progress,
               std::vector<std::string>* destroyed);

}  // namespace nic
