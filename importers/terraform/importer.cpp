// tfstate files -> NIC state document, outputs and report.
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "importers/terraform/mapping.h"
#include "nic/env.h"
#include "nic/importer.h"
#include "nic/state_manager.h"

namespace nic {
namespace {

using nlohmann::json;
using tfimport::FindMapping;
using tfimport::MapInput;
using tfimport::MapOutput;
using tfimport::MappedEntry;

// The cloud a resource type belongs to, for the provider-mismatch warning ("" = any).
std::string CloudOfType(const std::string& type) {
  if (type.rfind("aws_", 0) == 0) return "aws";
  if (type.rfind("google_", 0) == 0) return "gcp";
  if (type.rfind("azurerm_", 0) == 0) return "azure";
  if (type.rfind("kind_", 0) == 0) return "local";
  return "";
}

struct PendingEntry {
  MappedEntry entry;
  std::string terraform_address;
  size_t imported_index;  // into ImportReport::imported
};

class Builder {
 public:
  explicit Builder(const ImportOptions& options) : options_(options) {
    report_.provider = options.provider;
    report_.project_name = options.project_name;
  }

  Status AddSource(const TerraformStateSource& src, Env* env) {
    auto bytes = src.content ? Result<std::string>(*src.content) : env->ReadFile(src.path);
    if (!bytes.ok()) {
      Status st = bytes.status();
      st.Prepend(fmt::format("reading Terraform state{}", src.stage.empty() ? "" : " (stage " + src.stage + ")"));
      return st;
    }
    ImportSourceSummary summary;
    summary.path = src.path;
    summary.stage = src.stage;
    summary.bytes = bytes->size();
    TfstateHeader header;
    TfstateReadOptions read;
    read.dependencies = false;  // NIC's state has its own dependency model; Terraform's is not imported
    // The reader may discard what it has consumed of `bytes`, so a 100 MB state is not resident
    // next to the import built from it; it asks for the bytes again to report an error.
    read.reread = [&]() -> Result<std::string> {
      return src.content ? Result<std::string>(*src.content) : env->ReadFile(src.path);
    };
    Status st = StreamTfstate(*bytes, bytes->capacity(), src.path, &header, read, [&](TerraformResource&& r) {
      summary.resource_blocks++;
      for (auto& inst : r.instances) {
        if (r.mode == "data") {
          summary.data_instances++;
        } else {
          summary.managed_instances++;
        }
        AddInstance(r, inst, src.path);
      }
      return Status::OK();
    });
    if (!st.ok()) return st;
    summary.format_version = header.version;
    summary.terraform_version = header.terraform_version;
    summary.serial = header.serial;
    summary.lineage = header.lineage;
    for (auto& [name, out] : header.outputs) {
      if (out.sensitive) {
        report_.dropped.push_back(DroppedValue{"output." + name, "", src.path});
        continue;
      }
      // Stage 02's outputs feed outputs.json; a combined state's do too.
      if (src.stage != "03") context_.terraform_outputs[name] = std::move(out.value);
    }
    report_.sources.push_back(std::move(summary));
    return Status::OK();
  }

  Result<ImportResult> Finish() {
    Env* env = options_.env != nullptr ? options_.env : Env::Default();
    ImportResult result{StateDocument::NewEmpty(options_.provider, options_.project_name,
                                                options_.region, env->NowMicros()),
                        json::object(), ImportReport()};
    StateDocument& doc = result.state;
    doc.imported_from_terraform = true;
    doc.metadata.configuration_hash = options_.configuration_hash;

    // Singletons first so that an element under one (cloud.vpc.subnets.x) is never replaced
    // by the singleton put after it.
    std::stable_sort(pending_.begin(), pending_.end(), [](const PendingEntry& a, const PendingEntry& b) {
      return a.entry.key.empty() && !b.entry.key.empty();
    });
    // A nested collection (cloud.vpc.subnets) needs its singleton (cloud.vpc). When the state
    // has subnets but no VPC (Nebari's override_network: existing subnets), they go to a
    // top-level collection instead (cloud.vpc_subnets).
    std::set<std::string> singletons;
    for (const auto& p : pending_) {
      if (p.entry.key.empty()) singletons.insert(p.entry.collection);
    }
    for (auto& p : pending_) {
      std::string& c = p.entry.collection;
      size_t first = c.find('.');
      size_t second = c.find('.', first + 1);
      if (p.entry.key.empty() || second == std::string::npos) continue;
      if (!singletons.count(c.substr(0, second))) {
        std::string moved = c.substr(0, second) + "_" + c.substr(second + 1);
        report_.warnings.push_back(fmt::format("{}: no {} in the state, so it is tracked under {}",
                                               p.terraform_address, c.substr(0, second), moved));
        for (auto& a : report_.imported[p.imported_index].nic_addresses) {
          if (a == p.entry.address()) a = moved + "." + p.entry.key;
        }
        c = moved;
      }
    }
    // Placed directly rather than through PutResource, which scans a collection per insert
    // (quadratic for the 100k-resource states the bench uses); every address is then checked
    // against the engine's own resolution (ListResources) below.
    std::set<std::string> expected;
    for (auto& p : pending_) {
      std::string address = p.entry.address();
      if (!Place(doc, p.entry)) {
        return Status::Internal(fmt::format("placing {} at {}: the section path is taken by a "
                                            "non-object", p.terraform_address, address));
      }
      expected.insert(std::move(address));
      report_.counts_by_kind[p.entry.collection]++;
    }
    for (const auto& e : ListResources(doc)) expected.erase(e.address);
    if (!expected.empty()) {
      return Status::Internal("imported resources do not resolve at their NIC address, e.g. " +
                              *expected.begin());
    }
    report_.resource_count = pending_.size();
    for (const auto& u : report_.unmanaged) {
      doc.unmanaged.push_back(json{{"address", u.address},
                                   {"type", u.type},
                                   {"id", u.id},
                                   {"source", u.source},
                                   {"reason", u.reason}});
    }
    if (context_.kubeconfig_path.empty()) {
      if (auto it = context_.terraform_outputs.find("kubeconfig_filename");
          it != context_.terraform_outputs.end() && it->second.is_string()) {
        context_.kubeconfig_path = it->second.get<std::string>();
      } else if (!kubeconfig_file_.empty()) {
        context_.kubeconfig_path = kubeconfig_file_;
      }
    }
    result.outputs = BuildOutputs(doc, context_);

    if (options_.strict && !report_.unmanaged.empty()) {
      std::string list;
      for (const auto& u : report_.unmanaged) {
        list += fmt::format("\n  {} ({}): {}", u.address, u.type, u.reason);
      }
      return Status::Refused(fmt::format("--strict: {} managed Terraform resource(s) have no NIC "
                                         "mapping; nothing was written:{}",
                                         report_.unmanaged.size(), list))
          .WithDetail("unmapped_count", std::to_string(report_.unmanaged.size()))
          .WithSuggestion("Run without --strict to record them under `unmanaged` in the NIC state");
    }
    result.report = std::move(report_);
    return result;
  }

 private:
  // Puts the entry at its collection path ("cloud.vpc.subnets" -> doc.cloud["vpc"]["subnets"]).
  static bool Place(StateDocument& doc, MappedEntry& e) {
    size_t dot = e.collection.find('.');
    json* node = e.collection.compare(0, dot, "cloud") == 0 ? &doc.cloud : &doc.kubernetes;
    std::string rest = e.collection.substr(dot + 1);
    size_t start = 0;
    while (true) {
      size_t next = rest.find('.', start);
      std::string seg = rest.substr(start, next == std::string::npos ? std::string::npos : next - start);
      if (!node->is_object()) return false;
      if (next == std::string::npos) {
        if (e.key.empty()) {
          (*node)[seg] = std::move(e.value);
        } else {
          json& arr = (*node)[seg];
          if (arr.is_null()) arr = json::array();
          if (!arr.is_array()) return false;
          arr.push_back(std::move(e.value));
        }
        return true;
      }
      json& child = (*node)[seg];
      if (child.is_null()) child = json::object();
      node = &child;
      start = next + 1;
    }
  }

  void Unmanaged(const TerraformResource& r, const std::string& address, const json& attrs,
                 const std::string& source, std::string reason) {
    report_.unmanaged.push_back(UnmanagedResource{address, r.type, tfimport::Str(attrs, "id"),
                                                  source, std::move(reason)});
  }

  void AddInstance(const TerraformResource& r, TerraformInstance& inst, const std::string& source) {
    std::string address = TerraformInstanceAddress(r, inst);
    if (r.mode == "data") {
      report_.data_sources.push_back(address);
      // Data sources are never imported, but a cluster looked up by one may feed outputs.json.
      if (r.type == "aws_eks_cluster" || r.type == "google_container_cluster" ||
          r.type == "azurerm_kubernetes_cluster") {
        std::vector<std::string> ignored;
        tfimport::Sanitize(r.type, inst.attributes, inst.sensitive_paths, &ignored);
        if (const tfimport::TypeMapping* m = FindMapping(r.type)) {
          MapOutput out;
          MapInput in{r, inst, inst.attributes, address};
          if (m->fn(in, &out) && !out.entries.empty() && context_.data_cluster.empty()) {
            const json& c = out.entries[0].value;
            for (const char* k : {"name", "endpoint", "ca_certificate"}) {
              if (c.contains(k)) context_.data_cluster[k] = c[k];
            }
            if (c.contains("version")) context_.data_cluster["kubernetes_version"] = c["version"];
          }
        }
      }
      return;
    }
    std::vector<std::string> dropped;
    tfimport::Sanitize(r.type, inst.attributes, inst.sensitive_paths, &dropped);
    for (auto& d : dropped) report_.dropped.push_back(DroppedValue{address, std::move(d), source});
    const json& attrs = inst.attributes;

    if (!inst.deposed.empty()) {
      Unmanaged(r, address, attrs, source,
                "deposed object: Terraform replaced it and keeps it only until it destroys it");
      return;
    }
    const tfimport::TypeMapping* m = FindMapping(r.type);
    if (m == nullptr) {
      Unmanaged(r, address, attrs, source, "no NIC mapping for resource type " + r.type);
      return;
    }
    MapOutput out;
    MapInput in{r, inst, attrs, address};
    if (!m->fn(in, &out)) {
      Unmanaged(r, address, attrs, source, out.reason.empty() ? "not mappable" : out.reason);
      return;
    }
    for (const auto& e : out.entries) {
      auto it = claimed_.find(e.address());
      if (it != claimed_.end()) {
        Unmanaged(r, address, attrs, source,
                  fmt::format("{} is already imported from {}; NIC tracks one object there",
                              e.address(), it->second));
        return;
      }
    }
    std::string cloud = CloudOfType(r.type);
    if (!cloud.empty() && !options_.provider.empty() && cloud != options_.provider &&
        warned_types_.insert(r.type).second) {
      report_.warnings.push_back(fmt::format(
          "{} is a {} resource but the config's provider is {}", r.type, cloud, options_.provider));
    }
    ImportedResource ir;
    ir.terraform_address = address;
    ir.type = r.type;
    ir.provider_id = tfimport::Str(attrs, "id");
    ir.source = source;
    ir.kind = m->kind;
    ir.tainted = inst.status == "tainted";
    if (ir.tainted) {
      report_.warnings.push_back(fmt::format(
          "{} is marked tainted in Terraform (Terraform would replace it); NIC imports the "
          "existing object as it is",
          address));
    }
    if (r.type == "local_file" && r.name == "kubeconfig") {
      kubeconfig_file_ = tfimport::Str(attrs, "filename");
    }
    for (auto& e : out.entries) {
      claimed_.emplace(e.address(), address);
      ir.nic_addresses.push_back(e.address());
      e.value["imported"] = true;
      e.value["terraform_address"] = address;
      if (ir.tainted) e.value["terraform_tainted"] = true;
      pending_.push_back(PendingEntry{std::move(e), address, report_.imported.size()});
    }
    report_.imported.push_back(std::move(ir));
  }

  const ImportOptions& options_;
  ImportReport report_;
  OutputsContext context_;
  std::vector<PendingEntry> pending_;
  std::map<std::string, std::string> claimed_;  // NIC address -> Terraform address
  std::set<std::string> warned_types_;
  std::string kubeconfig_file_;
};

}  // namespace

Result<ImportResult> BuildImport(const std::vector<TerraformStateSource>& sources,
                                 const ImportOptions& options) {
  if (sources.empty()) return Status::Usage("no Terraform state given to import");
  Env* env = options.env != nullptr ? options.env : Env::Default();
  Builder b(options);
  for (const auto& src : sources) {
    NIC_RETURN_IF_ERROR(b.AddSource(src, env));
  }
  return b.Finish();
}

Result<ImportResult> ImportFromTerraform(const std::vector<TerraformStateSource>& sources,
                                         const ImportOptions& options, StateManager* manager) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  NIC_ASSIGN_OR_RETURN(ImportResult result, BuildImport(sources, options));

  NIC_ASSIGN_OR_RETURN(std::string lock_id, manager->Lock("import", "nic import --from-terraform"));
  (void)lock_id;
  auto finish = [&](Status st) -> Status {
    Status unlock = manager->Unlock();
    if (st.ok() && !unlock.ok()) return unlock;
    return st;
  };
  auto existing = manager->Read();
  if (!existing.ok()) return finish(existing.status());
  Status st;
  if (existing->has_value()) {
    const StateDocument& old = **existing;
    if (!options.force) {
      return finish(
          Status::Refused(fmt::format("{} already holds a NIC state (lineage {}, serial {}); "
                                      "import writes a new state and will not overwrite it",
                                      manager->backend()->Location(), old.lineage, old.serial))
              .WithSuggestion("Pass --force to replace it (its history stays in the history database)")
              .WithSuggestion("Or import into another location with --output-state/--backend"));
    }
    result.state.serial = 1;
    st = manager->Push(result.state, /*force=*/true, "import");
  } else {
    st = manager->Persist(result.state, "import");
  }
  if (!st.ok()) return finish(st);

  if (!options.outputs_path.empty()) {
    st = env->WriteFileAtomic(options.outputs_path, result.outputs.dump(2) + "\n");
    if (!st.ok()) {
      st.Prepend(fmt::format("the NIC state was written to {}, but writing {} failed",
                             manager->backend()->Location(), options.outputs_path));
      return finish(st);
    }
    result.report.outputs_path = options.outputs_path;
  }
  NIC_RETURN_IF_ERROR(finish(Status::OK()));
  result.report.state_backend = manager->backend()->Name();
  result.report.state_location = manager->backend()->Location();
  result.report.lineage = result.state.lineage;
  result.report.serial = result.state.serial;
  return result;
}

}  // namespace nic
