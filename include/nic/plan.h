// Plan: what NIC would change, per resource address, and why — computed from three inputs:
// desired (the config), recorded (the state) and actual (live reads through a provider).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nic/config.h"
#include "nic/provider.h"
#include "nic/state.h"
#include "nic/status.h"

namespace nic {

enum class ChangeAction { kNoop, kCreate, kUpdate, kReplace, kDelete, kAdopt };
const char* ChangeActionName(ChangeAction a);  // "no-op", "create", "update", "replace", "delete", "adopt"

struct FieldChange {
  std::string field;  // dotted path inside the resource: "scaling_config.max_size"
  nlohmann::json desired;   // null when not in the config
  nlohmann::json recorded;  // null when not in the state
  nlohmann::json live;      // null when not read (refresh off) or absent
  bool immutable = false;
};

struct PlannedChange {
  std::string address;
  std::string collection;
  ChangeAction action = ChangeAction::kNoop;
  std::vector<FieldChange> fields;  // the fields that differ
  std::string summary;              // "Updating node group general (max_size: 5 → 10)"
  bool imported = false;
  // Set when a safety rule stops the change (immutable field without --allow-replace, delete of
  // an imported resource, ...). A plan with refusals cannot be applied.
  std::string refused;
  nlohmann::json desired;   // what the change writes (create/update)
  // The state's entry and the live read, for the change to act on: null for create/adopt, when
  // not read, and for a no-op (which acts on nothing; copying every resource into its no-op
  // was a third of a large plan's cost).
  nlohmann::json recorded;
  nlohmann::json live;
};

// Something the plan noticed that is not (or not only) a change to make.
struct PlanNote {
  std::string address;
  std::string kind;     // "drift", "deleted-outside", "orphan", "not-in-config", "not-refreshed", "skipped" (address = collection)
  std::string message;  // complete sentence
  std::vector<FieldChange> fields;
  nlohmann::json live;  // for orphans: the discovered resource
};

struct PlanOptions {
  bool refresh = true;             // read live state through the provider
  bool allow_replace = false;      // permit replacing resources whose immutable fields changed
  bool prune = false;              // delete resources in state but not in the config
  bool include_imported = false;   // ... including resources imported from Terraform
  bool recreate_missing = false;   // recreate resources deleted outside NIC
  bool adopt_orphans = false;      // adopt NIC-tagged resources that the state does not know
  bool allow_version_upgrade = false;  // permit changing the cluster's Kubernetes version
  // Desired addresses whose NIC-tagged orphan may be adopted without adopt_orphans: this NIC's
  // journal shows an interrupted run creating them (deploy fills it; see reconciler.h).
  std::set<std::string> adopt_created_by_interrupted_run = {};
};

struct Plan {
  std::vector<PlannedChange> changes;  // every desired/recorded resource, no-ops included
  std::vector<PlanNote> notes;
  int refreshed = 0;                   // live reads made
  std::string provider;
  std::string config_hash;

  int change_count() const;  // changes that are not no-ops
  bool has_refusals() const;
  nlohmann::json ToJson() const;
  std::string ToText() const;
};

// The desired resources the config describes, in state shape, in dependency order. On AWS that
// is the whole stage-02 stack Nebari's Terraform creates plus the stage-03 namespace
// (desired_aws.cpp); on local/existing the stage-03 namespace. `authoritative` receives the
// collections where absence from the config means "remove" (only with --prune).
//
// Two things a config cannot know before the resources exist:
// - IDs another resource needs (a subnet's vpc_id, the cluster's role_arn): the value is a
//   reference, DesiredRef("cloud.vpc", "id") = "${cloud.vpc.id}", resolved against the state
//   when planning (when the referenced resource exists) or when applying, after the referenced
//   resource was created in an earlier wave.
// - The address of a resource the state keys by its cloud ID (subnets, gateways, route tables,
//   associations, policy attachments, mount targets): the model names it with a stable
//   placeholder address ("cloud.vpc.subnets.<project>-subnet-0") and `match_on` lists the
//   fields that identify an existing one; the plan takes the first unclaimed recorded (or
//   orphan) resource of the collection whose fields equal these. A create is recorded under
//   the address of what the cloud returned.
struct DesiredModel {
  std::vector<ResourceRef> resources;
  std::vector<std::string> authoritative;
  std::map<std::string, std::vector<std::string>> match_on;  // placeholder address -> identifying fields
  // Fields sent when creating and never compared afterwards (an EFS creation token, which the
  // importer drops as credential-like).
  std::map<std::string, nlohmann::json> create_only;
};
std::string DesiredRef(const std::string& address, const std::string& field);
// Replaces every "${address.field}" in `value` by what `lookup` returns; false when one could not
// be resolved (it is left in place).
bool ResolveDesiredRefs(nlohmann::json& value,
                        const std::function<std::optional<nlohmann::json>(const std::string& address, const std::string& field)>& lookup);
// Per cloud (one line per cloud in BuildDesiredModel's dispatch).
Result<DesiredModel> BuildDesiredAws(const NebariConfig& config);
Result<DesiredModel> BuildDesiredModel(const NebariConfig& config);

// Computes the plan. `provider` may be null only when options.refresh is false.
Result<Plan> ComputePlan(const DesiredModel& desired, const StateDocument& state, Provider* provider,
                         const PlanOptions& options);

}  // namespace nic
