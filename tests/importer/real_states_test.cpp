// Every real tfstate in ../shared/testdata/tfstates-real imports: each managed instance is
// either mapped or listed as unmanaged with its provider ID, and no value that the input holds
// as sensitive or credential-like appears anywhere in the document, outputs or report.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "nic/importer.h"
#include "nic/state.h"
#include "tests/importer/test_util.h"

namespace nic {
namespace {

using nlohmann::json;
using testing_importer::ReadAll;
using testing_importer::SharedDir;
using testing_importer::StringLeaves;

struct RealCase {
  const char* file;
  const char* provider;
  // Pinned outcome.
  size_t managed;     // managed instances in the file (counted independently below)
  size_t imported;    // Terraform instances mapped
  size_t unmanaged;   // recorded under `unmanaged`
  size_t nic_resources;
  size_t data_sources;
  size_t dropped;     // sensitive paths left out
};

// Independent of the importer: credential-looking attribute names.
bool LooksCredential(const std::string& key) {
  std::string k = key;
  std::transform(k.begin(), k.end(), k.begin(), ::tolower);
  for (const char* m : {"password", "secret", "token", "private_key", "client_key", "client_certificate",
                        "kube_config", "kube_admin_config", "access_key", "connection_string"}) {
    if (k.find(m) != std::string::npos && k.find("_name") == std::string::npos && k.find("_id") == std::string::npos) {
      return true;
    }
  }
  return false;
}

void CredentialLeaves(const json& node, bool under, std::vector<std::string>* secret,
                      std::vector<std::string>* plain) {
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      CredentialLeaves(*it, under || LooksCredential(it.key()), secret, plain);
    }
  } else if (node.is_array()) {
    for (const auto& e : node) CredentialLeaves(e, under, secret, plain);
  } else if (node.is_string()) {
    (under ? secret : plain)->push_back(node.get<std::string>());
  }
}

const json* Walk(const json& attrs, const json& steps) {
  const json* cur = &attrs;
  for (const auto& s : steps) {
    const json& v = s["value"];
    if (s["type"] == "get_attr" && cur->is_object() && cur->contains(v.get<std::string>())) {
      cur = &(*cur)[v.get<std::string>()];
    } else if (s["type"] == "index" && cur->is_array() && v["value"].is_number_integer() &&
               v["value"].get<size_t>() < cur->size()) {
      cur = &(*cur)[v["value"].get<size_t>()];
    } else if (s["type"] == "index" && cur->is_object() && v["value"].is_string() &&
               cur->contains(v["value"].get<std::string>())) {
      cur = &(*cur)[v["value"].get<std::string>()];
    } else {
      return nullptr;
    }
  }
  return cur;
}

struct Expected {
  size_t managed = 0;
  std::map<std::string, std::string> ids;  // Terraform instance address -> id
  std::set<std::string> secrets;           // values that must not reach the output
};

std::string Quote(const json& key) { return key.is_string() ? "[\"" + key.get<std::string>() + "\"]" : "[" + key.dump() + "]"; }

Expected ReadExpected(const std::string& path) {
  Expected e;
  json doc = json::parse(ReadAll(path));
  std::vector<std::string> secret, plain;
  auto consider = [&](const json& attrs, const json& sensitive) {
    if (sensitive.is_array()) {
      for (const auto& p : sensitive) {
        if (const json* v = Walk(attrs, p)) StringLeaves(*v, &secret);
      }
    }
    CredentialLeaves(attrs, false, &secret, &plain);
  };
  if (doc["version"] == 4) {
    for (const auto& r : doc["resources"]) {
      if (r["mode"] != "managed") continue;
      std::string base = (r.contains("module") ? r["module"].get<std::string>() + "." : "") +
                         r["type"].get<std::string>() + "." + r["name"].get<std::string>();
      for (const auto& i : r["instances"]) {
        ++e.managed;
        std::string addr = base + (i.contains("index_key") ? Quote(i["index_key"]) : "");
        if (i.contains("deposed")) addr += " (deposed " + i["deposed"].get<std::string>() + ")";
        e.ids[addr] = i["attributes"].value("id", "");
        consider(i["attributes"], i.value("sensitive_attributes", json::array()));
      }
    }
    json outputs = doc.contains("outputs") ? doc["outputs"] : json::object();
    for (auto it = outputs.begin(); it != outputs.end(); ++it) {
      if (it->value("sensitive", false)) StringLeaves((*it)["value"], &secret);
    }
  } else {
    for (const auto& m : doc["modules"]) {
      std::string prefix;
      for (size_t i = 1; i < m["path"].size(); ++i) prefix += "module." + m["path"][i].get<std::string>() + ".";
      for (const auto& [k, r] : m["resources"].items()) {
        if (k.rfind("data.", 0) == 0) continue;
        // "type.name" or "type.name.N" -> "type.name" / "type.name[N]"
        std::string addr = k;
        if (auto dot = k.rfind('.'); dot != std::string::npos &&
            k.find_first_not_of("0123456789", dot + 1) == std::string::npos && k.find('.') != dot) {
          addr = k.substr(0, dot) + "[" + k.substr(dot + 1) + "]";
        }
        e.ids[prefix + addr] = r["primary"].value("id", "");
        json deposed = r.contains("deposed") && r["deposed"].is_array() ? r["deposed"] : json::array();
        for (size_t i = 0; i < deposed.size(); ++i) {
          e.ids[prefix + addr + " (deposed v3-" + std::to_string(i) + ")"] = deposed[i].value("id", "");
        }
        e.managed += 1 + deposed.size();
        const json& attrs = r["primary"]["attributes"];
        for (auto it = attrs.begin(); it != attrs.end(); ++it) {
          if (LooksCredential(it.key())) secret.push_back(it->get<std::string>());
        }
      }
    }
  }
  std::set<std::string> plain_set(plain.begin(), plain.end());
  for (const auto& s : secret) {
    // Short or empty strings ("", "true") would match by accident; a value that also appears
    // in a non-sensitive place may legitimately be output from there.
    if (s.size() >= 6 && !plain_set.count(s)) e.secrets.insert(s);
  }
  return e;
}

class RealTfstate : public ::testing::TestWithParam<RealCase> {};

TEST_P(RealTfstate, ImportsAndAccountsForEveryManagedInstance) {
  const RealCase& c = GetParam();
  std::string path = SharedDir() + "/testdata/tfstates-real/" + c.file;
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  Expected expected = ReadExpected(path);

  ImportOptions opts;
  opts.provider = c.provider;
  opts.project_name = "real";
  opts.configuration_hash = "sha256:test";
  auto result = BuildImport({{path, ""}}, opts);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const ImportReport& rep = result->report;

  // Accounting: every managed instance exactly once, mapped or unmanaged, with its ID.
  EXPECT_EQ(expected.managed, c.managed);
  EXPECT_EQ(rep.imported.size() + rep.unmanaged.size(), expected.managed);
  std::set<std::string> seen;
  for (const auto& i : rep.imported) {
    EXPECT_TRUE(seen.insert(i.terraform_address).second) << i.terraform_address;
    ASSERT_TRUE(expected.ids.count(i.terraform_address)) << i.terraform_address;
    EXPECT_EQ(i.provider_id, expected.ids[i.terraform_address]) << i.terraform_address;
    ASSERT_FALSE(i.nic_addresses.empty());
    for (const auto& a : i.nic_addresses) {
      const json* v = FindResource(result->state, a);
      ASSERT_NE(v, nullptr) << a;
      EXPECT_EQ((*v)["imported"], true) << a;
      EXPECT_EQ((*v)["terraform_address"], i.terraform_address) << a;
    }
  }
  for (const auto& u : rep.unmanaged) {
    EXPECT_TRUE(seen.insert(u.address).second) << u.address;
    ASSERT_TRUE(expected.ids.count(u.address)) << u.address;
    EXPECT_EQ(u.id, expected.ids[u.address]) << u.address;
    EXPECT_FALSE(u.reason.empty());
  }
  ASSERT_EQ(result->state.unmanaged.size(), rep.unmanaged.size());
  for (size_t i = 0; i < rep.unmanaged.size(); ++i) {
    EXPECT_EQ(result->state.unmanaged[i]["address"], rep.unmanaged[i].address);
    EXPECT_EQ(result->state.unmanaged[i]["id"], rep.unmanaged[i].id);
    EXPECT_EQ(result->state.unmanaged[i]["type"], rep.unmanaged[i].type);
  }

  // The document is valid and round-trips through the engine's reader.
  EXPECT_TRUE(result->state.imported_from_terraform);
  Status valid = ValidateStateDocument(result->state, c.file);
  EXPECT_TRUE(valid.ok()) << valid.ToString();
  std::string serialized = SerializeStateDocument(result->state);
  auto back = ParseStateDocument(serialized, c.file);
  EXPECT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ListResources(result->state).size() >= rep.resource_count, true);

  // No sensitive value anywhere.
  std::string everything = serialized + result->outputs.dump() + ImportReportToJson(rep).dump() +
                           FormatImportReport(rep);
  for (const auto& s : expected.secrets) {
    EXPECT_EQ(everything.find(s), std::string::npos) << "sensitive value leaked: " << s.substr(0, 40);
  }

  // Pinned outcome.
  EXPECT_EQ(rep.imported.size(), c.imported);
  EXPECT_EQ(rep.unmanaged.size(), c.unmanaged);
  EXPECT_EQ(rep.resource_count, c.nic_resources);
  EXPECT_EQ(rep.data_sources.size(), c.data_sources);
  EXPECT_EQ(rep.dropped.size(), c.dropped);
  std::cout << "PIN " << c.file << " managed=" << expected.managed << " imported=" << rep.imported.size()
            << " unmanaged=" << rep.unmanaged.size() << " nic=" << rep.resource_count
            << " data=" << rep.data_sources.size() << " dropped=" << rep.dropped.size()
            << " secrets_checked=" << expected.secrets.size() << "\n";
  if (std::getenv("NIC_IMPORT_DEBUG") != nullptr) std::cout << FormatImportReport(rep);
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Shared, RealTfstate, ::testing::Values(
    RealCase{"CortezBon__GKE-Terraform__gke_terraform.tfstate.json", "gcp", 6, 6, 0, 6, 0, 0},
    RealCase{"alhamdy8110__AKS__aks_terraform.tfstate.json", "azure", 18, 13, 5, 14, 1, 20},
    RealCase{"ayinla7__immutable-infra__terraform_efs_terraform.tfstate.json", "aws", 5, 5, 0, 5, 0, 1},
    RealCase{"benzzdan__terraform-gke-helm-consul__terraform.tfstate.json", "gcp", 5, 5, 0, 5, 2, 2},
    RealCase{"edsna__k8s-network-setup__storage_terraform.tfstate.json", "local", 2, 2, 0, 2, 0, 1},
    RealCase{"hashicorp-publicsector__blog-dynamic-saas-cluster-aws-vault__ebs_terraform.tfstate.json", "aws", 2, 1, 1, 1, 0, 0},
    RealCase{"hashicorp-publicsector__blog-dynamic-saas-cluster-aws-vault__eks_terraform.tfstate.json", "aws", 2, 2, 0, 2, 0, 0},
    RealCase{"kamal-marouane__GCP-Kubernetes-Online-Boutique__terraform_gke_terraform.tfstate.backup.json", "gcp", 2, 2, 0, 2, 0, 2},
    RealCase{"krupakar0307__terraform-eks-resource__terraform.tfstate.json", "aws", 30, 30, 0, 30, 3, 0},
    RealCase{"marcin-kulik__blog-terraform-gcp__gke_terraform.tfstate.backup.json", "gcp", 12, 10, 2, 10, 0, 1},
    RealCase{"nhs-digital-gp-it-futures__platform__dev_terraform.tfstate.backup.json", "azure", 33, 21, 12, 21, 0, 15},
    RealCase{"plosso__jenkins-on-kubernetes__cluster_terraform.tfstate.json", "local", 5, 5, 0, 5, 0, 2},
    RealCase{"woohwan__terraform-eks-blueprints-2023__addons_terraform.tfstate.json", "aws", 21, 20, 1, 20, 11, 9},
    RealCase{"woohwan__terraform-eks-blueprints-2023__base_terraform.tfstate.json", "aws", 67, 59, 8, 59, 26, 2}));
// clang-format on

// A file added to the shared directory must get a row above.
TEST(RealTfstateList, EveryFileIsCovered) {
  std::set<std::string> listed;
  for (const char* f : {"CortezBon__GKE-Terraform__gke_terraform.tfstate.json",
                        "alhamdy8110__AKS__aks_terraform.tfstate.json",
                        "ayinla7__immutable-infra__terraform_efs_terraform.tfstate.json",
                        "benzzdan__terraform-gke-helm-consul__terraform.tfstate.json",
                        "edsna__k8s-network-setup__storage_terraform.tfstate.json",
                        "hashicorp-publicsector__blog-dynamic-saas-cluster-aws-vault__ebs_terraform.tfstate.json",
                        "hashicorp-publicsector__blog-dynamic-saas-cluster-aws-vault__eks_terraform.tfstate.json",
                        "kamal-marouane__GCP-Kubernetes-Online-Boutique__terraform_gke_terraform.tfstate.backup.json",
                        "krupakar0307__terraform-eks-resource__terraform.tfstate.json",
                        "marcin-kulik__blog-terraform-gcp__gke_terraform.tfstate.backup.json",
                        "nhs-digital-gp-it-futures__platform__dev_terraform.tfstate.backup.json",
                        "plosso__jenkins-on-kubernetes__cluster_terraform.tfstate.json",
                        "woohwan__terraform-eks-blueprints-2023__addons_terraform.tfstate.json",
                        "woohwan__terraform-eks-blueprints-2023__base_terraform.tfstate.json"}) {
    listed.insert(f);
  }
  std::string dir = SharedDir() + "/testdata/tfstates-real";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (e.path().extension() == ".json") {
      EXPECT_TRUE(listed.count(name)) << "not covered: " << name;
    }
  }
}

}  // namespace
}  // namespace nic
