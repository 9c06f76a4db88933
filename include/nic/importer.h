// Terraform importer: reads the tfstate files of Nebari's stages 02 (infrastructure) and 03
// (kubernetes-initialize) and turns them into one NIC state document plus outputs.json
// (design §10.2, §10.4, §7.4).
//
// Three layers, each usable on its own:
//   ParseTfstate / StreamTfstate  tfstate v3 and v4 -> TerraformResource values (no NIC meaning)
//   BuildImport                    tfstate files -> StateDocument + outputs + report (pure)
//   ImportFromTerraform            BuildImport, then lock, refuse to overwrite, persist, write
//
// Nothing credential-like ever reaches the document, the outputs or the report's values:
// values at a state's sensitive_attributes paths and attributes whose names mark them as
// credentials (passwords, tokens, private keys, kubeconfig/client certificate data...) are
// dropped before mapping, and the report lists their paths.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "nic/state.h"
#include "nic/status.h"

namespace nic {

class Env;
class StateManager;

// ---- tfstate model ------------------------------------------------------------------------

struct TerraformInstance {
  nlohmann::json index_key;     // null (no count/for_each), a number (count) or a string (for_each)
  std::string status;           // "" or "tainted"
  std::string deposed;          // deposed object key; "" for the current object
  int64_t schema_version = 0;
  nlohmann::json attributes = nlohmann::json::object();  // v3 flatmaps are unflattened
  // Each path is a list of steps as Terraform writes them: {"type":"get_attr","value":"x"} or
  // {"type":"index","value":{"value":0,"type":"number"}}.
  std::vector<nlohmann::json> sensitive_paths;
  std::vector<std::string> dependencies;
};

struct TerraformResource {
  std::string module;    // "" for the root, else "module.a[0].module.b"
  std::string mode;      // "managed" | "data"
  std::string type;
  std::string name;
  std::string provider;  // as written: provider["registry.terraform.io/hashicorp/aws"]
  std::string each;      // "", "list" or "map"
  std::vector<TerraformInstance> instances;
  std::string json_path; // where it was found, e.g. "$.resources[3]"
};

struct TerraformOutput {
  nlohmann::json value;
  bool sensitive = false;
};

struct TfstateHeader {
  int version = 0;
  std::string terraform_version;
  uint64_t serial = 0;
  std::string lineage;
  std::map<std::string, TerraformOutput> outputs;  // root outputs
};

struct TerraformState {
  TfstateHeader header;
  std::vector<TerraformResource> resources;
};

// "module.network[0].aws_subnet.main[1]", "data.aws_partition.current",
// "module.kubernetes.google_project_iam_member.main[\"roles/logging.logWriter\"]";
// a deposed object gets " (deposed <key>)".
std::string TerraformResourceAddress(const TerraformResource& r);
std::string TerraformInstanceAddress(const TerraformResource& r, const TerraformInstance& inst);

// Called once per resource block as soon as it has been parsed and validated.
using TerraformResourceVisitor = std::function<Status(TerraformResource&&)>;

// Streams a tfstate (v3 or v4) without building a DOM of the whole document: only one
// resource block at a time is materialised, so memory stays near the size of `bytes`.
// Errors are kInvalidInput and name `source` and the JSON path ("A.tfstate: $.resources[2]
// .instances[0].index_key: expected a number or a string, found boolean"). Versions 0-2 and
// unknown versions are refused with what to do. Duplicate resource or instance addresses are
// errors. `header` is filled as the top-level fields are met.
Status StreamTfstate(std::string_view bytes, const std::string& source, TfstateHeader* header,
                     const TerraformResourceVisitor& visit);
// The same, where `capacity` >= bytes.size() + 64 says that many bytes are readable from
// bytes.data() (Env::ReadFile's strings reserve them): the parser, simdjson, then reads `bytes`
// in place instead of copying them. NIC_TFSTATE_READER=sax selects the slower reference reader
// (nlohmann's SAX parser), which also reports every error; NIC_TFSTATE_READER=simdjson (for
// tests) fails where the fast reader would hand a document over to it.
Status StreamTfstate(std::string_view bytes, size_t capacity, const std::string& source,
                     TfstateHeader* header, const TerraformResourceVisitor& visit);

// What a caller does not need from a tfstate. The reader still checks it as it checks the rest.
struct TfstateReadOptions {
  // Each instance's `dependencies` (most of the bytes of large states, hashicorp/terraform#35822;
  // the import never reads them). False leaves TerraformInstance::dependencies empty.
  bool dependencies = true;
  // When set, the reader may discard the bytes it has consumed (madvise MADV_DONTNEED: whole
  // pages of `bytes` then read as zeros), so a large state does not stay resident next to what
  // is built from it; `reread` gives the bytes again if the document must be read a second
  // time (by the reference reader, to report an error). `bytes` must then be writable memory
  // the caller owns and does not read afterwards (e.g. Env::ReadFile's string).
  std::function<Result<std::string>()> reread;
};
Status StreamTfstate(std::string_view bytes, size_t capacity, const std::string& source,
                     TfstateHeader* header, const TfstateReadOptions& options,
                     const TerraformResourceVisitor& visit);

// The whole state in memory (small files, tests).
Result<TerraformState> ParseTfstate(std::string_view bytes, const std::string& source);

// ---- import -------------------------------------------------------------------------------

struct TerraformStateSource {
  TerraformStateSource() = default;
  TerraformStateSource(std::string path_in, std::string stage_in, std::optional<std::string> content_in = std::nullopt)
      : path(std::move(path_in)), stage(std::move(stage_in)), content(std::move(content_in)) {}

  std::string path;   // a file, or the display name of a remote state ("s3://bucket/key")
  std::string stage;  // "02", "03" or "" (a single combined state)
  // The state's bytes when already fetched (from a Terraform remote backend); else `path` is read.
  std::optional<std::string> content;
};

struct ImportOptions {
  // From nebari-config.yaml (the CLI fills these from NebariConfig / ConfigHash).
  std::string provider;            // aws | gcp | azure | local | existing
  std::string project_name;
  std::string region;
  std::string configuration_hash;
  bool strict = false;             // any unmapped managed resource fails the import
  bool force = false;              // overwrite an existing NIC state
  std::string outputs_path;        // "" = do not write outputs.json
  Env* env = nullptr;              // Env::Default() when null
};

struct ImportedResource {
  std::string terraform_address;
  std::string type;
  std::string provider_id;
  std::string source;              // the tfstate path it came from
  std::string kind;                // "Node groups", "Namespaces"... (report grouping)
  std::vector<std::string> nic_addresses;
  bool tainted = false;
};

struct UnmanagedResource {
  std::string address;             // Terraform address
  std::string type;
  std::string id;                  // provider ID
  std::string source;
  std::string reason;
};

struct DroppedValue {
  std::string terraform_address;   // resource address or "output.<name>"
  std::string path;                // attribute path inside it, e.g. "kube_config[0].password"
  std::string source;
};

struct ImportSourceSummary {
  std::string path;
  std::string stage;
  int format_version = 0;
  std::string terraform_version;
  uint64_t serial = 0;
  std::string lineage;
  uint64_t bytes = 0;
  size_t resource_blocks = 0;
  size_t managed_instances = 0;
  size_t data_instances = 0;
};

struct ImportReport {
  std::string provider;
  std::string project_name;
  std::vector<ImportSourceSummary> sources;
  std::vector<ImportedResource> imported;
  std::vector<UnmanagedResource> unmanaged;
  std::vector<std::string> data_sources;   // addresses of data instances read (never imported)
  std::vector<DroppedValue> dropped;       // sensitive values left out (paths only)
  std::vector<std::string> warnings;
  std::map<std::string, int> counts_by_kind;
  size_t resource_count = 0;               // NIC resources now tracked in the document
  // Set once written.
  std::string state_backend;
  std::string state_location;
  std::string lineage;
  uint64_t serial = 0;
  std::string outputs_path;
};

struct ImportResult {
  StateDocument state;
  nlohmann::json outputs;
  ImportReport report;
};

// Parses every source, maps its resources and builds the document and outputs. Writes nothing.
// kRefused when options.strict and something managed was not mapped.
Result<ImportResult> BuildImport(const std::vector<TerraformStateSource>& sources,
                                 const ImportOptions& options);

// BuildImport, then under the state lock: refuses (kRefused) when a NIC state already exists
// unless options.force, persists the document (serial 1, history record "import"), and writes
// outputs.json atomically with mode 0600 when options.outputs_path is set.
Result<ImportResult> ImportFromTerraform(const std::vector<TerraformStateSource>& sources,
                                         const ImportOptions& options, StateManager* manager);

// ---- outputs.json (design §7.4) -------------------------------------------------------------

struct OutputsContext {
  std::string kubeconfig_path;     // Terraform output kubeconfig_filename, or the kubeconfig file
  std::string kubeconfig_context;
  // Non-sensitive Terraform root outputs of stage 02, used where the document lacks the value
  // (nfs_endpoint, cluster_oidc_issuer_url, oidc_provider_arn, cluster_autoscaler_role_arn,
  // resource_group_name, project_id).
  std::map<std::string, nlohmann::json> terraform_outputs;
  // Cluster facts read by Terraform data sources (stage 03's data.aws_eks_cluster.default, a
  // data google_container_cluster...): name, endpoint, ca_certificate, kubernetes_version.
  // Used only when the document has no cloud.cluster.
  nlohmann::json data_cluster = nlohmann::json::object();
};

// The outputs document for the application stages, derived from a NIC state document.
nlohmann::json BuildOutputs(const StateDocument& doc, const OutputsContext& context);

// ---- report -------------------------------------------------------------------------------

// The --format json result object (with "success": true and "resource_count").
nlohmann::json ImportReportToJson(const ImportReport& report);
// The human report (§10.2 steps 2, 4 and 5).
std::string FormatImportReport(const ImportReport& report);

}  // namespace nic
