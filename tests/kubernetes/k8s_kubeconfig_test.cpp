// kubeconfig loading (merging, contexts, credentials) and the TLS paths it selects, against the
// stand-in server started with a self-signed certificate (made with the openssl CLI) and a token.
#include <gtest/gtest.h>

#include <fstream>

#include "nic/kubeconfig.h"
#include "nic/kubernetes_provider.h"
#include "nic/log.h"
#include "providers/kubernetes/util.h"
#include "tests/kubernetes/k8s_env.h"
#include "tests/support/test_util.h"

namespace nic::testing {
namespace {

using json = nlohmann::json;

std::string B64(const std::string& s) { return kubeprov::Base64Encode(s); }

kube::LoadOptions Env(const std::string& kubeconfig_var, const std::string& context = "") {
  kube::LoadOptions o;
  o.context = context;
  o.env = auth::MapEnv({{"KUBECONFIG", kubeconfig_var}, {"HOME", "/nonexistent"}});
  return o;
}

TEST(Kubeconfig, MergesFilesFirstWinsAndHonoursContextOverride) {
  TempDir dir;
  dir.Write("tokens/a.token", "token-from-file\n");
  std::string first = dir.Write("first.yaml", R"(apiVersion: v1
kind: Config
current-context: ctx-a
clusters:
- name: c1
  cluster:
    server: https://one.example:6443/
users:
- name: u1
  user:
    tokenFile: tokens/a.token
contexts:
- name: ctx-a
  context: {cluster: c1, user: u1, namespace: dev}
)");
  std::string second = dir.Write("sub/second.yaml", R"(apiVersion: v1
kind: Config
current-context: ctx-b
clusters:
- name: c1
  cluster:
    server: https://IGNORED.example
- name: c2
  cluster:
    server: https://two.example
    certificate-authority-data: )" + B64("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n") + R"(
users:
- name: u1
  user:
    token: ignored-token
- name: u2
  user:
    token: token-two
contexts:
- name: ctx-b
  context: {cluster: c2, user: u2}
)");
  // first wins for current-context, for cluster c1 and for user u1; a missing file is skipped.
  auto a = kube::LoadKubeconfig(Env(first + ":" + dir.File("missing.yaml") + ":" + second));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->context, "ctx-a");
  EXPECT_EQ(a->server, "https://one.example:6443");
  EXPECT_EQ(a->namespace_name, "dev");
  EXPECT_EQ(a->token, "token-from-file");  // relative to first.yaml's directory
  EXPECT_EQ(a->token_file, dir.File("tokens/a.token"));
  EXPECT_EQ(a->user_name, "u1");

  auto b = kube::LoadKubeconfig(Env(first + ":" + second, "ctx-b"));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->server, "https://two.example");
  EXPECT_EQ(b->token, "token-two");
  EXPECT_NE(b->ca_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_EQ(b->ca_source, "certificate-authority-data");

  // Reversed order: the second file's current-context and entries win now.
  auto c = kube::LoadKubeconfig(Env(second + ":" + first));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->context, "ctx-b");

  auto missing = kube::LoadKubeconfig(Env(first, "nope"));
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  ASSERT_FALSE(missing.status().suggestions().empty());
  EXPECT_NE(missing.status().suggestions()[0].find("ctx-a"), std::string::npos);

  auto none = kube::LoadKubeconfig(Env(dir.File("a-missing:") + dir.File("b-missing")));
  EXPECT_EQ(none.status().code(), ErrorCode::kNotFound);

  // An explicit path is used alone.
  kube::LoadOptions explicit_path = Env(first);
  explicit_path.path = second;
  auto d = kube::LoadKubeconfig(explicit_path);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->context, "ctx-b");
}

TEST(Kubeconfig, ExecAndAuthProviderPluginsAreClearlyUnsupported) {
  std::string doc = R"(
current-context: eks
clusters: [{name: eks, cluster: {server: "https://x.eks.amazonaws.com"}}]
contexts: [{name: eks, context: {cluster: eks, user: eks-admin}}, {name: gke, context: {cluster: eks, user: gke-user}}]
users:
- name: eks-admin
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token, --cluster-name, nebari]
- name: gke-user
  user:
    auth-provider: {name: gcp}
)";
  auto r = kube::ResolveKubeconfig({doc}, {""}, "", "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(r.status().message().find("kubeconfig user \"eks-admin\""), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("exec plugin (command: aws)"), std::string::npos) << r.status().message();
  auto g = kube::ResolveKubeconfig({doc}, {""}, "gke", "test");
  EXPECT_EQ(g.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(g.status().message().find("\"gke-user\""), std::string::npos);

  auto bad = kube::ResolveKubeconfig({"clusters: [oops"}, {""}, "", "broken.yaml");
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidConfig);
  EXPECT_NE(bad.status().message().find("broken.yaml"), std::string::npos);
}

TEST(Kubeconfig, DirectConnectionTakesCloudEndpointCaAndToken) {
  std::string pem = "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n";
  auto c = kube::DirectConnection("ABC.gr7.us-west-2.eks.amazonaws.com", B64(pem), "k8s-aws-v1.token");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://ABC.gr7.us-west-2.eks.amazonaws.com");
  EXPECT_EQ(c->ca_pem, pem);
  EXPECT_EQ(c->token, "k8s-aws-v1.token");
  EXPECT_EQ(kube::DirectConnection("https://h", "not base64 pem!", "t").status().code(), ErrorCode::kInvalidInput);
}

// ---- against a TLS server ------------------------------------------------------------------

class KubeconfigTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    auto gen = [](const std::string& key, const std::string& cert) {
      return RunProcess({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"});
    };
    auto r1 = gen(dir_->File("key.pem"), dir_->File("cert.pem"));
    auto r2 = gen(dir_->File("other-key.pem"), dir_->File("other-cert.pem"));
    ASSERT_EQ(r1.exit_code, 0) << r1.err;
    ASSERT_EQ(r2.exit_code, 0) << r2.err;
    auto s = PythonServer::Start("k8s_server.py", {"--token", kK8sToken, "--tls-cert", dir_->File("cert.pem"),
                                                   "--tls-key", dir_->File("key.pem")});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value().release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  static std::string Read(const std::string& name) { return ReadFileOrDie(dir_->File(name)); }

  // A kubeconfig for the TLS server; `cluster_extra` / `user_body` are YAML lines.
  static std::string Kubeconfig(const std::string& cluster_extra, const std::string& user_body) {
    return "apiVersion: v1\nkind: Config\ncurrent-context: tls\nclusters:\n- name: stand-in\n  cluster:\n"
           "    server: https://127.0.0.1:" + std::to_string(server_->port()) + "\n" + cluster_extra +
           "users:\n- name: tester\n  user:\n" + user_body +
           "contexts:\n- name: tls\n  context: {cluster: stand-in, user: tester}\n";
  }

  // Builds a provider from the kubeconfig text and reads namespace "default".
  static Result<std::optional<json>> ReadDefault(const std::string& kubeconfig) {
    static int n = 0;
    kube::LoadOptions o;
    o.path = dir_->Write("kc-" + std::to_string(++n) + ".yaml", kubeconfig);
    KubernetesProviderOptions po;
    po.retry.policy.max_attempts = 1;
    auto p = NewKubernetesProviderFromKubeconfig(TestContext(), o, po);
    if (!p.ok()) return p.status();
    return (*p)->Read("kubernetes.namespaces", {{"name", "default"}});
  }

  static TempDir* dir_;
  static PythonServer* server_;
};
TempDir* KubeconfigTls::dir_ = nullptr;
PythonServer* KubeconfigTls::server_ = nullptr;

const std::string kTokenUser = std::string("    token: ") + kK8sToken + "\n";

TEST_F(KubeconfigTls, CaDataAndTokenWork) {
  auto r = ReadDefault(Kubeconfig("    certificate-authority-data: " + B64(Read("cert.pem")) + "\n", kTokenUser));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((**r)["name"], "default");

  // certificate-authority as a file path works the same.
  auto f = ReadDefault(Kubeconfig("    certificate-authority: " + dir_->File("cert.pem") + "\n", kTokenUser));
  ASSERT_TRUE(f.ok()) << f.status().ToString();

  // The whole provider over TLS: create, read, delete.
  kube::LoadOptions o;
  o.path = dir_->Write("full.yaml", Kubeconfig("    certificate-authority-data: " + B64(Read("cert.pem")) + "\n", kTokenUser));
  auto p = NewKubernetesProviderFromKubeconfig(TestContext(), o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto created = (*p)->Create("kubernetes.namespaces", {{"name", "over-tls"}}, "t");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE((*p)->Delete("kubernetes.namespaces", *created).ok());
}

TEST_F(KubeconfigTls, TokenFileIsReadRelativeToTheKubeconfig) {
  dir_->Write("secrets/sa.token", std::string(kK8sToken) + "\n");
  auto r = ReadDefault(Kubeconfig("    certificate-authority-data: " + B64(Read("cert.pem")) + "\n",
                                  "    tokenFile: secrets/sa.token\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->has_value());
}

TEST_F(KubeconfigTls, WrongTokenIsUnauthenticatedNamingTheUser) {
  auto r = ReadDefault(Kubeconfig("    certificate-authority-data: " + B64(Read("cert.pem")) + "\n", "    token: wrong\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(r.status().message().find("kubeconfig user \"tester\""), std::string::npos) << r.status().message();
}

TEST_F(KubeconfigTls, UntrustedServerCertificateFailsWithoutTheCa) {
  // The other certificate is a different CA: verification must fail.
  auto r = ReadDefault(Kubeconfig("    certificate-authority-data: " + B64(Read("other-cert.pem")) + "\n", kTokenUser));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.status().message().find("TLS failure"), std::string::npos) << r.status().message();
}

TEST_F(KubeconfigTls, WithoutCaOrFlagVerificationStaysOn) {
  // No certificate-authority and no insecure-skip-tls-verify: the system trust store decides, and
  // it does not know the stand-in's self-signed certificate.
  auto r = ReadDefault(Kubeconfig("", kTokenUser));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.status().message().find("TLS failure"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("system trust store"), std::string::npos) << r.status().message();
  // insecure-skip-tls-verify: false is the same as absent.
  auto off = ReadDefault(Kubeconfig("    insecure-skip-tls-verify: false\n", kTokenUser));
  ASSERT_FALSE(off.ok());
  EXPECT_NE(off.status().message().find("TLS failure"), std::string::npos) << off.status().message();
}

struct CapturedLog {
  std::vector<std::string> lines;
  static void Sink(LogLevel level, const std::string& line, void* arg) {
    if (level == LogLevel::kWarn) static_cast<CapturedLog*>(arg)->lines.push_back(line);
  }
};

TEST_F(KubeconfigTls, InsecureSkipTlsVerifyIsHonouredWithALoudWarning) {
  CapturedLog log;
  SetLogSinkForTest(&CapturedLog::Sink, &log);
  auto r = ReadDefault(Kubeconfig("    insecure-skip-tls-verify: true\n", kTokenUser));
  SetLogSinkForTest(nullptr, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->has_value());
  ASSERT_EQ(log.lines.size(), 1u);
  EXPECT_NE(log.lines[0].find("TLS VERIFICATION IS DISABLED"), std::string::npos) << log.lines[0];
  EXPECT_NE(log.lines[0].find("stand-in"), std::string::npos) << log.lines[0];
}

TEST_F(KubeconfigTls, ClientCertificateAndKeyAreLoadedFromDataAndFiles) {
  std::string ca = "    certificate-authority-data: " + B64(Read("cert.pem")) + "\n";
  // A matching pair, as data and as files, next to the token (the stand-in authenticates by
  // token; the pair must still load and be offered).
  auto data = ReadDefault(Kubeconfig(ca, kTokenUser + "    client-certificate-data: " + B64(Read("other-cert.pem")) +
                                             "\n    client-key-data: " + B64(Read("other-key.pem")) + "\n"));
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  auto files = ReadDefault(Kubeconfig(ca, kTokenUser + "    client-certificate: " + dir_->File("other-cert.pem") +
                                              "\n    client-key: " + dir_->File("other-key.pem") + "\n"));
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  // A key that does not belong to the certificate is rejected by the TLS layer: the blobs are
  // really handed to it.
  auto mismatch = ReadDefault(Kubeconfig(ca, kTokenUser + "    client-certificate-data: " + B64(Read("other-cert.pem")) +
                                                 "\n    client-key-data: " + B64(Read("key.pem")) + "\n"));
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(mismatch.status().message().find("client certificate of user \"tester\""), std::string::npos)
      << mismatch.status().message();
  // A certificate without a key is a configuration error.
  auto half = ReadDefault(Kubeconfig(ca, "    client-certificate-data: " + B64(Read("other-cert.pem")) + "\n"));
  EXPECT_EQ(half.status().code(), ErrorCode::kInvalidConfig);
}

}  // namespace
}  // namespace nic::testing

namespace nic::testing {
namespace {

// The document handling of the libyaml reader: bad YAML is located, an empty file merges as
// nothing, a null field reads as absent, only the first document counts.
TEST(Kubeconfig, DocumentEdgeCases) {
  const std::string good = R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u, namespace: ~}}]
clusters: [{name: k, cluster: {server: "https://k.example:6443"}}]
users: [{name: u, user: {token: t0k}}]
)";
  auto bad = kube::ResolveKubeconfig({"clusters: [a, b\n"}, {""}, "", "kc.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("kc.yaml: not valid YAML (line "), std::string::npos) << bad.status().message();
  auto merged = kube::ResolveKubeconfig({"", "# nothing\n", good + "---\ncurrent-context: other\n"}, {"", "", ""}, "",
                                        "a:b:c");
  ASSERT_TRUE(merged.ok()) << merged.status().message();
  EXPECT_EQ(merged->server, "https://k.example:6443");
  EXPECT_EQ(merged->token, "t0k");
  EXPECT_EQ(merged->namespace_name, "");
  auto list = kube::ResolveKubeconfig({"- a\n"}, {""}, "", "kc.yaml");
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.status().message().find("must be a YAML mapping"), std::string::npos);
}

}  // namespace
}  // namespace nic::testing
