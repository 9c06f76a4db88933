// The Kubernetes provider against the k8s_server.py stand-in: the Nebari stage-03 object set
// created and read back field by field, discovery by label, updates (and refused immutable
// changes), resourceVersion conflicts, pagination, deletion, and API errors as NIC errors.
#include <gtest/gtest.h>

#include <atomic>

#include "nic/kubernetes_provider.h"
#include "tests/kubernetes/k8s_env.h"
#include "tests/support/provider_checks.h"

namespace nic::testing {
namespace {

using json = nlohmann::json;

class K8sProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8sServer::Get().Reset();
    p_ = MakeProvider();
  }
  Provider& prov() { return *p_.provider; }

  json MustCreate(const std::string& collection, const json& desired, const std::string& token = "tok-1") {
    return nic::testing::MustCreate(prov(), collection, desired, token);
  }
  json MustRead(const std::string& collection, const json& recorded) {
    return nic::testing::MustRead(prov(), collection, recorded);
  }

  ProviderUnderTest p_;
};

// The objects Nebari's stage 03 (and the kubernetes_* resources of later stages that NIC also
// carries) keeps in a cluster, in state shape.
std::vector<std::pair<std::string, json>> NebariStage03() {
  return {
      {"kubernetes.namespaces", {{"name", "dev"}, {"labels", {{"app.kubernetes.io/part-of", "nebari"}}}}},
      {"kubernetes.priority_classes",
       {{"name", "nebari-critical"}, {"value", 1000000}, {"global_default", false},
        {"preemption_policy", "PreemptLowerPriority"}, {"description", "Nebari core services"}}},
      {"kubernetes.storage_classes",
       {{"name", "gp3"},
        {"provisioner", "ebs.csi.aws.com"},
        {"parameters", {{"type", "gp3"}, {"encrypted", "true"}}},
        {"reclaim_policy", "Retain"},
        {"volume_binding_mode", "WaitForFirstConsumer"},
        {"allow_volume_expansion", true},
        {"is_default", true}}},
      {"kubernetes.cluster_roles",
       {{"name", "nebari-traefik"},
        {"rules", json::array({{{"api_groups", {""}}, {"resources", {"services", "endpoints", "secrets"}},
                                {"verbs", {"get", "list", "watch"}}},
                               {{"api_groups", {"traefik.io"}}, {"resources", {"ingressroutes"}},
                                {"resource_names", {"main"}}, {"verbs", {"get"}}}})}}},
      {"kubernetes.service_accounts",
       {{"name", "cluster-autoscaler"},
        {"namespace", "dev"},
        {"annotations", {{"eks.amazonaws.com/role-arn", "arn:aws:iam::123456789012:role/nebari-test-autoscaler"}}},
        {"automount_service_account_token", true}}},
      {"kubernetes.service_accounts",
       {{"name", "argo-admin"},
        {"namespace", "dev"},
        {"annotations", {{"iam.gke.io/gcp-service-account", "argo@proj.iam.gserviceaccount.com"}}}}},
      {"kubernetes.roles",
       {{"name", "pod-viewer"},
        {"namespace", "dev"},
        {"rules", json::array({{{"api_groups", {""}}, {"resources", {"pods"}}, {"verbs", {"get", "list"}}}})}}},
      {"kubernetes.role_bindings",
       {{"name", "pod-viewer"},
        {"namespace", "dev"},
        {"role_ref", {{"api_group", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", "pod-viewer"}}},
        {"subjects", json::array({{{"kind", "ServiceAccount"}, {"name", "argo-admin"}, {"namespace", "dev"}}})}}},
      {"kubernetes.cluster_role_bindings",
       {{"name", "nebari-traefik"},
        {"role_ref", {{"api_group", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", "nebari-traefik"}}},
        {"subjects", json::array({{{"kind", "ServiceAccount"}, {"name", "cluster-autoscaler"}, {"namespace", "dev"}},
                                  {{"kind", "User"}, {"name", "admin@example.com"},
                                   {"api_group", "rbac.authorization.k8s.io"}}})}}},
      {"kubernetes.resource_quotas",
       {{"name", "dev-quota"}, {"namespace", "dev"},
        {"hard", {{"requests.cpu", "16"}, {"requests.memory", "64Gi"}, {"pods", "100"}}}}},
      {"kubernetes.limit_ranges",
       {{"name", "dev-limits"},
        {"namespace", "dev"},
        {"limits", json::array({{{"type", "Container"},
                                 {"default", {{"cpu", "500m"}, {"memory", "512Mi"}}},
                                 {"default_request", {{"cpu", "100m"}, {"memory", "128Mi"}}},
                                 {"max", {{"cpu", "4"}}}}})}}},
      {"kubernetes.network_policies",
       {{"name", "allow-from-ingress"},
        {"namespace", "dev"},
        {"pod_selector", json::array({{{"match_labels", {{"app.kubernetes.io/component", "hub"}}}}})},
        {"policy_types", {"Ingress"}},
        {"ingress", json::array({{{"from", json::array({{{"namespace_selector",
                                                           json::array({{{"match_labels",
                                                                          {{"kubernetes.io/metadata.name", "ingress"}}}}})}},
                                                         {{"ip_block", json::array({{{"cidr", "10.0.0.0/16"},
                                                                                     {"except", {"10.0.1.0/24"}}}})}}})},
                                  {"ports", json::array({{{"port", "8081"}, {"protocol", "TCP"}}})}}})}}},
  };
}

// Every field of `want` has the same value in `got` (the provider's SameValue rules aside,
// these are compared exactly).
void ExpectFields(const json& want, const json& got, const std::string& what) {
  for (auto it = want.begin(); it != want.end(); ++it) {
    ASSERT_TRUE(got.contains(it.key())) << what << " lacks " << it.key() << ": " << got.dump();
    EXPECT_EQ(got[it.key()], it.value()) << what << " field " << it.key();
  }
}

TEST_F(K8sProviderTest, CreatesNebariStage03ObjectsAndReadsThemBackFieldByField) {
  // Collections() is in dependency order; creating in that order must work.
  auto order = prov().Collections();
  auto objects = NebariStage03();
  std::stable_sort(objects.begin(), objects.end(), [&](const auto& a, const auto& b) {
    return std::find(order.begin(), order.end(), a.first) < std::find(order.begin(), order.end(), b.first);
  });
  for (const auto& [coll, desired] : objects) {
    json created = MustCreate(coll, desired);
    ExpectFields(desired, created, coll + " (create)");
    json live = MustRead(coll, {{"name", desired["name"]}, {"namespace", desired.value("namespace", "")}});
    ExpectFields(desired, live, coll + " (read)");
    EXPECT_FALSE(live.value("uid", "").empty()) << coll;
    EXPECT_EQ(live["nic_labels"][kTagManagedBy], "nic") << coll;
    EXPECT_EQ(live["nic_labels"][kTagClusterName], kCluster) << coll;
  }

  // What the API server holds, seen by a second client: NIC's labels, the IRSA annotation,
  // the default-class annotation, camelCase fields in their API places.
  auto sa = K8sServer::Get().Raw("GET", "/api/v1/namespaces/dev/serviceaccounts/cluster-autoscaler");
  ASSERT_EQ(sa.status, 200);
  json sao = json::parse(sa.body);
  EXPECT_EQ(sao["metadata"]["labels"][kTagManagedBy], "nic");
  EXPECT_EQ(sao["metadata"]["labels"][kTagResourceType], "service-account");
  EXPECT_EQ(sao["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
            "arn:aws:iam::123456789012:role/nebari-test-autoscaler");
  EXPECT_EQ(sao["metadata"]["annotations"]["nic.nebari.dev/client-token"], "tok-1");
  EXPECT_EQ(sao["automountServiceAccountToken"], true);

  auto sc = json::parse(K8sServer::Get().Raw("GET", "/apis/storage.k8s.io/v1/storageclasses/gp3").body);
  EXPECT_EQ(sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"], "true");
  EXPECT_EQ(sc["reclaimPolicy"], "Retain");
  EXPECT_EQ(sc["volumeBindingMode"], "WaitForFirstConsumer");
  EXPECT_EQ(sc["allowVolumeExpansion"], true);

  auto np = json::parse(
      K8sServer::Get().Raw("GET", "/apis/networking.k8s.io/v1/namespaces/dev/networkpolicies/allow-from-ingress").body);
  EXPECT_EQ(np["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"], "hub");
  EXPECT_EQ(np["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            "ingress");
  EXPECT_EQ(np["spec"]["ingress"][0]["from"][1]["ipBlock"]["cidr"], "10.0.0.0/16");
  EXPECT_EQ(np["spec"]["ingress"][0]["ports"][0]["port"], 8081);

  auto lr = json::parse(K8sServer::Get().Raw("GET", "/api/v1/namespaces/dev/limitranges/dev-limits").body);
  EXPECT_EQ(lr["spec"]["limits"][0]["defaultRequest"]["cpu"], "100m");

  auto crb = json::parse(
      K8sServer::Get().Raw("GET", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/nebari-traefik").body);
  EXPECT_EQ(crb["roleRef"]["kind"], "ClusterRole");
  EXPECT_EQ(crb["subjects"][1]["apiGroup"], "rbac.authorization.k8s.io");

  auto cr = json::parse(K8sServer::Get().Raw("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/nebari-traefik").body);
  EXPECT_EQ(cr["rules"][1]["resourceNames"], json::array({"main"}));

  // The namespace's server-set label stays out of the state's labels.
  json ns = MustRead("kubernetes.namespaces", {{"name", "dev"}});
  EXPECT_EQ(ns["labels"], json({{"app.kubernetes.io/part-of", "nebari"}}));
  EXPECT_EQ(ns["id"], "dev");
  json rq = MustRead("kubernetes.resource_quotas", {{"id", "dev/dev-quota"}});  // identified by the importer's id
  EXPECT_EQ(rq["hard"]["pods"], "100");
}

TEST_F(K8sProviderTest, CreateIsIdempotentForTheSameClientTokenAndRefusesSomeoneElsesObject) {
  json ns = {{"name", "retry-me"}};
  MustCreate("kubernetes.namespaces", ns, "token-A");
  auto again = prov().Create("kubernetes.namespaces", ns, "token-A");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)["name"], "retry-me");

  auto other = prov().Create("kubernetes.namespaces", ns, "token-B");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), ErrorCode::kConflict);
  EXPECT_NE(other.status().message().find("Namespace retry-me already exists"), std::string::npos)
      << other.status().message();
}

TEST_F(K8sProviderTest, DiscoversOnlyObjectsLabelledForThisCluster) {
  MustCreate("kubernetes.namespaces", {{"name", "dev"}});
  MustCreate("kubernetes.service_accounts", {{"name", "sa1"}, {"namespace", "dev"}});
  MustCreate("kubernetes.storage_classes", {{"name", "gp3"}, {"provisioner", "ebs.csi.aws.com"}});
  MustCreate("kubernetes.priority_classes", {{"name", "high"}, {"value", 1000}});
  // Not NIC's: no labels, and NIC labels of another cluster.
  K8sServer::Get().Raw("POST", "/api/v1/namespaces/dev/serviceaccounts",
                       R"({"metadata":{"name":"hand-made"}})");
  K8sServer::Get().Raw("POST", "/api/v1/namespaces/dev/serviceaccounts",
                       R"({"metadata":{"name":"other-cluster","labels":{"nic.nebari.dev/managed-by":"nic",)"
                       R"("nic.nebari.dev/cluster-name":"someone-else"}}})");

  auto found = prov().Discover(kCluster);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  std::set<std::string> addresses;
  for (const auto& r : *found) addresses.insert(r.address);
  EXPECT_EQ(addresses, (std::set<std::string>{"kubernetes.namespaces.dev", "kubernetes.service_accounts.dev/sa1",
                                              "kubernetes.storage_classes.gp3", "kubernetes.priority_classes.high"}));
  for (const auto& r : *found) {
    if (r.collection == "kubernetes.storage_classes") {
      EXPECT_EQ(r.value["provisioner"], "ebs.csi.aws.com");
    }
  }
  // Every list call carried the selector.
  int lists = 0;
  for (const auto& line : p_.hook->Lines()) {
    if (line.rfind("GET", 0) == 0 && line.find("labelSelector=") != std::string::npos) {
      ++lists;
      EXPECT_NE(line.find("nic.nebari.dev%2Fmanaged-by%3Dnic%2Cnic.nebari.dev%2Fcluster-name%3Dnebari-test"),
                std::string::npos)
          << line;
    }
  }
  EXPECT_EQ(lists, static_cast<int>(prov().Collections().size()));
}

TEST_F(K8sProviderTest, UpdatesLabelsAnnotationsAndRefusesImmutableStorageClassParameters) {
  MustCreate("kubernetes.namespaces", {{"name", "dev"}});
  json sa = {{"name", "hub"}, {"namespace", "dev"}, {"labels", {{"team", "a"}}},
             {"annotations", {{"eks.amazonaws.com/role-arn", "arn:aws:iam::1:role/old"}}}};
  json recorded = MustCreate("kubernetes.service_accounts", sa);

  json want = sa;
  want["labels"] = {{"team", "b"}, {"tier", "core"}};
  want["annotations"] = {{"eks.amazonaws.com/role-arn", "arn:aws:iam::1:role/new"}};
  auto updated = prov().Update("kubernetes.service_accounts", recorded, want);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ((*updated)["labels"], want["labels"]);
  EXPECT_EQ((*updated)["annotations"], want["annotations"]);
  json live = MustRead("kubernetes.service_accounts", recorded);
  EXPECT_EQ(live["labels"], want["labels"]);
  EXPECT_EQ(live["annotations"], want["annotations"]);
  // NIC's own labels and client token survive an update that replaces the user's labels.
  auto raw = json::parse(K8sServer::Get().Raw("GET", "/api/v1/namespaces/dev/serviceaccounts/hub").body);
  EXPECT_EQ(raw["metadata"]["labels"][kTagManagedBy], "nic");
  EXPECT_EQ(raw["metadata"]["annotations"]["nic.nebari.dev/client-token"], "tok-1");

  // Storage class: parameters are immutable in Kubernetes -> refused before any write.
  json sc = {{"name", "gp3"}, {"provisioner", "ebs.csi.aws.com"}, {"parameters", {{"type", "gp3"}}},
             {"is_default", true}};
  json sc_rec = MustCreate("kubernetes.storage_classes", sc);
  auto ims = prov().ImmutableFields("kubernetes.storage_classes");
  EXPECT_NE(std::find(ims.begin(), ims.end(), "parameters"), ims.end());
  json sc_want = sc;
  sc_want["parameters"] = {{"type", "io2"}};
  p_.hook->Clear();
  auto refused = prov().Update("kubernetes.storage_classes", sc_rec, sc_want);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kRefused);
  EXPECT_NE(refused.status().message().find("parameters"), std::string::npos) << refused.status().message();
  for (const auto& line : p_.hook->Lines()) EXPECT_EQ(line.rfind("PUT", 0), std::string::npos) << line;
  EXPECT_EQ(MustRead("kubernetes.storage_classes", sc_rec)["parameters"], json({{"type", "gp3"}}));

  // Mutable storage class fields do change: labels and the default-class flag.
  json sc_ok = sc;
  sc_ok["labels"] = {{"tier", "fast"}};
  sc_ok["is_default"] = false;
  auto changed = prov().Update("kubernetes.storage_classes", sc_rec, sc_ok);
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ((*changed)["is_default"], false);
  EXPECT_EQ((*changed)["labels"], json({{"tier", "fast"}}));
  auto raw_sc = json::parse(K8sServer::Get().Raw("GET", "/apis/storage.k8s.io/v1/storageclasses/gp3").body);
  EXPECT_FALSE(raw_sc["metadata"].value("annotations", json::object()).contains("storageclass.kubernetes.io/is-default-class"));

  // Priority class value is immutable too.
  json pc = MustCreate("kubernetes.priority_classes", {{"name", "high"}, {"value", 1000}});
  auto pc_refused = prov().Update("kubernetes.priority_classes", pc, {{"name", "high"}, {"value", 2000}});
  EXPECT_EQ(pc_refused.status().code(), ErrorCode::kRefused);
}

TEST_F(K8sProviderTest, ConflictBetweenReadAndWriteIsRetriedOnFreshData) {
  MustCreate("kubernetes.namespaces", {{"name", "dev"}});
  json recorded = MustCreate("kubernetes.service_accounts", {{"name", "hub"}, {"namespace", "dev"}});

  // Someone else writes the object right before the provider's first PUT reaches the server,
  // so that PUT carries a stale resourceVersion and gets 409 Conflict.
  std::atomic<int> puts{0};
  p_.hook->before = [&](const http::Request& r) {
    if (r.method != "PUT") return;
    if (++puts == 1) {
      auto resp = K8sServer::Get().Raw("PATCH", "/api/v1/namespaces/dev/serviceaccounts/hub",
                                       R"({"automountServiceAccountToken":false})", "application/merge-patch+json");
      ASSERT_EQ(resp.status, 200) << resp.body;
    }
  };
  json want = {{"name", "hub"}, {"namespace", "dev"}, {"labels", {{"changed", "yes"}}}};
  auto updated = prov().Update("kubernetes.service_accounts", recorded, want);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(puts.load(), 2);  // the stale write, then the retry on re-read data
  EXPECT_EQ((*updated)["labels"], json({{"changed", "yes"}}));
  // The other writer's change was re-read and kept, not overwritten by stale data.
  EXPECT_EQ((*updated)["automount_service_account_token"], false);
  int gets = 0;
  for (const auto& l : p_.hook->Lines()) gets += l.rfind("GET /api/v1/namespaces/dev/serviceaccounts/hub", 0) == 0;
  EXPECT_EQ(gets, 2);
}

TEST_F(K8sProviderTest, ConflictsThatNeverStopEndInAClearError) {
  KubernetesProviderOptions o;
  o.max_conflict_retries = 2;
  p_ = MakeProvider(o);
  MustCreate("kubernetes.namespaces", {{"name", "dev"}, {"labels", {{"n", "0"}}}});
  int n = 0;
  p_.hook->before = [&](const http::Request& r) {
    if (r.method != "PUT") return;
    K8sServer::Get().Raw("PATCH", "/api/v1/namespaces/dev",
                         R"({"metadata":{"annotations":{"writer":")" + std::to_string(++n) + R"("}}})",
                         "application/merge-patch+json");
  };
  auto updated = prov().Update("kubernetes.namespaces", {{"name", "dev"}}, {{"name", "dev"}, {"labels", {{"n", "1"}}}});
  ASSERT_FALSE(updated.ok());
  EXPECT_EQ(updated.status().code(), ErrorCode::kConflict);
  EXPECT_EQ(n, 3);
  EXPECT_NE(updated.status().message().find("Namespace dev was changed by someone else 3 times"), std::string::npos)
      << updated.status().message();
}

TEST_F(K8sProviderTest, DiscoveryFollowsContinueAcrossPages) {
  KubernetesProviderOptions o;
  o.page_size = 2;
  p_ = MakeProvider(o);
  for (int i = 0; i < 5; ++i) MustCreate("kubernetes.namespaces", {{"name", "team-" + std::to_string(i)}});
  p_.hook->Clear();
  auto found = prov().Discover(kCluster);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  std::vector<std::string> names;
  for (const auto& r : *found) {
    if (r.collection == "kubernetes.namespaces") names.push_back(r.value["name"]);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"team-0", "team-1", "team-2", "team-3", "team-4"}));
  int ns_pages = 0, with_continue = 0;
  for (const auto& l : p_.hook->Lines()) {
    if (l.rfind("GET /api/v1/namespaces?", 0) != 0) continue;
    ++ns_pages;
    EXPECT_NE(l.find("limit=2"), std::string::npos) << l;
    with_continue += l.find("continue=") != std::string::npos;
  }
  EXPECT_EQ(ns_pages, 3);
  EXPECT_EQ(with_continue, 2);
}

TEST_F(K8sProviderTest, DeleteThenReadIsNulloptAndDeletingAgainIsFine) {
  MustCreate("kubernetes.namespaces", {{"name", "dev"}});
  json cr = MustCreate("kubernetes.cluster_roles", {{"name", "viewer"},
                                                   {"rules", json::array({{{"api_groups", {""}},
                                                                           {"resources", {"pods"}},
                                                                           {"verbs", {"get"}}}})}});
  json sa = MustCreate("kubernetes.service_accounts", {{"name", "x"}, {"namespace", "dev"}});
  for (const auto& [coll, rec] : std::vector<std::pair<std::string, json>>{
           {"kubernetes.service_accounts", sa}, {"kubernetes.cluster_roles", cr}, {"kubernetes.namespaces", {{"name", "dev"}}}}) {
    Status st = prov().Delete(coll, rec);
    ASSERT_TRUE(st.ok()) << st.ToString();
    auto r = prov().Read(coll, rec);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->has_value()) << coll;
    EXPECT_TRUE(prov().Delete(coll, rec).ok()) << coll;  // already gone = OK
  }
  // ReadAll keeps input order and reports absence per item.
  auto all = prov().ReadAll({{"a", "kubernetes.namespaces", {{"name", "default"}}},
                             {"b", "kubernetes.namespaces", {{"name", "dev"}}}});
  ASSERT_EQ(all.size(), 2u);
  ASSERT_TRUE(all[0].ok() && all[1].ok());
  EXPECT_TRUE(all[0]->has_value());
  EXPECT_FALSE(all[1]->has_value());
}

TEST_F(K8sProviderTest, ApiErrorsBecomeClearNicErrors) {
  // 404: the namespace of a namespaced object is missing.
  auto no_ns = prov().Create("kubernetes.service_accounts", {{"name", "sa"}, {"namespace", "nope"}}, "t");
  ASSERT_FALSE(no_ns.ok());
  EXPECT_EQ(no_ns.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(no_ns.status().message().find("namespace \"nope\" does not exist"), std::string::npos)
      << no_ns.status().message();

  // 422: an invalid name, with the field named.
  auto invalid = prov().Create("kubernetes.namespaces", {{"name", "Not_Valid"}}, "t");
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.status().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(invalid.status().message().find("metadata.name"), std::string::npos) << invalid.status().message();
  EXPECT_EQ(invalid.status().details().at("http_status"), "422");

  // 403: the API server forbids it; the message names the RBAC verb and resource to check.
  Status forbidden = prov().Delete("kubernetes.namespaces", {{"name", "kube-system"}});
  EXPECT_EQ(forbidden.code(), ErrorCode::kPermissionDenied);
  ASSERT_FALSE(forbidden.suggestions().empty());
  EXPECT_NE(forbidden.suggestions()[0].find("RBAC verb \"delete\" on resource \"namespaces\""), std::string::npos)
      << forbidden.suggestions()[0];

  // 401: a wrong token names the kubeconfig user to fix.
  auto bad = MakeProvider({}, "wrong-token");
  auto r = bad.provider->Read("kubernetes.namespaces", {{"name", "default"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(r.status().message().find("rejected the credentials"), std::string::npos) << r.status().message();
  auto d = bad.provider->Discover(kCluster);
  EXPECT_EQ(d.status().code(), ErrorCode::kUnauthenticated);

  // Unknown collection.
  EXPECT_EQ(prov().Read("cloud.vpc", {{"name", "x"}}).status().code(), ErrorCode::kUnsupported);
}

TEST_F(K8sProviderTest, CollectionsAreInDependencyOrderWithManagedAndImmutableFields) {
  auto c = prov().Collections();
  ASSERT_EQ(c.size(), 11u);
  EXPECT_EQ(c.front(), "kubernetes.namespaces");
  auto pos = [&](const char* n) { return std::find(c.begin(), c.end(), n) - c.begin(); };
  EXPECT_LT(pos("kubernetes.roles"), pos("kubernetes.role_bindings"));
  EXPECT_LT(pos("kubernetes.cluster_roles"), pos("kubernetes.cluster_role_bindings"));
  EXPECT_LT(pos("kubernetes.service_accounts"), pos("kubernetes.role_bindings"));
  for (const auto& coll : c) {
    auto m = prov().ManagedFields(coll);
    EXPECT_NE(std::find(m.begin(), m.end(), "labels"), m.end()) << coll;
    for (const auto& f : prov().ImmutableFields(coll)) {
      if (f == "name" || f == "namespace") continue;
      EXPECT_NE(std::find(m.begin(), m.end(), f), m.end()) << coll << " immutable " << f << " not managed";
    }
  }
  auto rb = prov().ImmutableFields("kubernetes.role_bindings");
  EXPECT_NE(std::find(rb.begin(), rb.end(), "role_ref"), rb.end());
}

}  // namespace
}  // namespace nic::testing

namespace nic::testing {
namespace {

TEST_F(K8sProviderTest, BindingSubjectsChangeButRoleRefIsRefused) {
  MustCreate("kubernetes.namespaces", {{"name", "dev"}});
  MustCreate("kubernetes.roles", {{"name", "r"}, {"namespace", "dev"},
                                  {"rules", json::array({{{"api_groups", {""}}, {"resources", {"pods"}},
                                                          {"verbs", {"get"}}}})}});
  // role_ref without api_group: the conversion fills in rbac.authorization.k8s.io, which must
  // not count as a change later.
  json rb = {{"name", "rb"}, {"namespace", "dev"}, {"role_ref", {{"kind", "Role"}, {"name", "r"}}},
             {"subjects", json::array({{{"kind", "ServiceAccount"}, {"name", "a"}, {"namespace", "dev"}}})}};
  json rec = MustCreate("kubernetes.role_bindings", rb);
  EXPECT_EQ(rec["role_ref"]["api_group"], "rbac.authorization.k8s.io");
  json want = rb;
  want["subjects"].push_back({{"kind", "Group"}, {"name", "admins"}});
  auto up = prov().Update("kubernetes.role_bindings", rec, want);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  ASSERT_EQ((*up)["subjects"].size(), 2u);
  EXPECT_EQ((*up)["subjects"][1]["api_group"], "rbac.authorization.k8s.io");

  json other = want;
  other["role_ref"]["name"] = "other";
  auto refused = prov().Update("kubernetes.role_bindings", rec, other);
  EXPECT_EQ(refused.status().code(), ErrorCode::kRefused);
  EXPECT_NE(refused.status().message().find("role_ref"), std::string::npos) << refused.status().message();

  json renamed = want;
  renamed["name"] = "rb2";
  EXPECT_EQ(prov().Update("kubernetes.role_bindings", rec, renamed).status().code(), ErrorCode::kRefused);
}

}  // namespace
}  // namespace nic::testing
