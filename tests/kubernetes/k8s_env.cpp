#include "tests/kubernetes/k8s_env.h"

#include "providers/kubernetes/kube_transport.h"

namespace nic::testing {

namespace {

// Owns the server for the whole binary; gtest tears global environments down before exit, so
// the child is stopped (by PID, in ~PythonServer) even though tests only reach it through Get().
class K8sServerEnvironment final : public ::testing::Environment {
 public:
  void TearDown() override { Holder().reset(); }
  static std::unique_ptr<K8sServer>& Holder() {
    static std::unique_ptr<K8sServer> server;
    return server;
  }
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new K8sServerEnvironment());

}  // namespace

K8sServer& K8sServer::Get() {
  auto& holder = K8sServerEnvironment::Holder();
  if (!holder) {
    auto started = PythonServer::Start("k8s_server.py", {"--token", kK8sToken});
    if (!started.ok()) {
      ADD_FAILURE() << started.status().ToString();
      std::abort();
    }
    holder.reset(new K8sServer());
    holder->server_ = std::move(started).value();
  }
  return *holder;
}

RawHttpResponse K8sServer::Raw(const std::string& method, const std::string& target, const std::string& body,
                               const std::string& content_type) {
  std::map<std::string, std::string> headers = {{"Authorization", std::string("Bearer ") + kK8sToken}};
  if (!body.empty()) headers["Content-Type"] = content_type;
  return RawHttp(port(), method, target, body, headers);
}

void K8sServer::Reset() { RawHttp(port(), "POST", "/_test/reset?data=1"); }

ProviderContext TestContext() {
  ProviderContext ctx;
  ctx.project_name = kCluster;
  ctx.nic_version = "0.1.0";
  ctx.config_hash = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  ctx.wait_timeout_micros = 5LL * 1000 * 1000;
  return ctx;
}

ProviderUnderTest MakeProvider(KubernetesProviderOptions options, const std::string& token) {
  ProviderUnderTest p;
  auto conn = kube::DirectConnection(K8sServer::Get().endpoint(), "", token);
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  p.base = kubeprov::NewKubeTransport(*conn);
  p.hook = std::make_unique<HookTransport>(p.base.get());
  options.transport = p.hook.get();
  options.retry.policy.max_attempts = 2;
  options.retry.policy.base_delay = std::chrono::milliseconds(10);
  auto prov = NewKubernetesProviderForConnection(TestContext(), *conn, options);
  EXPECT_TRUE(prov.ok()) << prov.status().ToString();
  p.provider = std::move(prov).value();
  return p;
}

}  // namespace nic::testing
