// kubeconfig: how NIC finds a Kubernetes API server and the credentials to talk to it.
//
// Loading follows kubectl (kubernetes.io, "Organizing Cluster Access Using kubeconfig Files"):
// an explicit path is used alone; otherwise $KUBECONFIG is a ':'-separated list of files that
// are merged, where "the first file to set a particular value or map key wins" and an entry
// (cluster, user, context) is never combined with a same-named entry of a later file; otherwise
// ~/.kube/config. The context is the explicit one, else the merged current-context. Relative
// file paths inside a kubeconfig are relative to the file that names them.
#pragma once

#include <string>
#include <vector>

#include "nic/auth.h"
#include "nic/status.h"

namespace nic::kube {

// Everything needed to open a connection: the resolved cluster + user of one context. File
// references are already read, base64 data already decoded, so this holds PEM text, not paths.
struct Connection {
  std::string context;       // the context used ("" when built directly)
  std::string cluster_name;  // kubeconfig cluster entry name
  std::string user_name;     // kubeconfig user entry name (named in auth errors)
  std::string server;        // "https://host:port" (no trailing slash)
  std::string namespace_name;  // the context's default namespace ("" = none given)

  // TLS: the cluster CA (PEM). Empty: the system trust store.
  std::string ca_pem;
  std::string ca_source;  // "certificate-authority-data", or the file path, for messages
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;

  // Credentials: at most one of bearer token (token or token-file), client certificate, or
  // basic auth, as kubectl allows one technique per user.
  std::string token;
  std::string token_file;  // re-read periodically: projected service-account tokens rotate
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string username;
  std::string password;

  // "bearer token", "bearer token from <file>", "client certificate", "basic auth", "none".
  std::string DescribeAuth() const;
};

struct LoadOptions {
  // --kubeconfig: used alone, no merging. Empty: $KUBECONFIG, then ~/.kube/config.
  std::string path;
  // --context: wins over current-context.
  std::string context;
  auth::EnvLookup env = auth::ProcessEnv();
};

// Loads, merges and resolves. Errors: kNotFound (no file, no such context/cluster/user),
// kInvalidConfig (malformed YAML, a context without a server, two auth techniques),
// kUnsupported (exec and auth-provider plugins, naming the user entry).
Result<Connection> LoadKubeconfig(const LoadOptions& options);

// Merges already-read documents (first wins) and resolves one context. `base_dirs[i]` is the
// directory of documents[i], for relative paths. Exposed for tests.
Result<Connection> ResolveKubeconfig(const std::vector<std::string>& documents,
                                     const std::vector<std::string>& base_dirs,
                                     const std::string& context, const std::string& origin);

// For clouds: the endpoint and CA come from the cloud provider's reads of the cluster (EKS
// endpoint + certificateAuthority.data, GKE endpoint + masterAuth.clusterCaCertificate, ...),
// the token from the cloud's token source. `ca` may be PEM or base64 of PEM (as the clouds
// return it). The endpoint may omit "https://".
Result<Connection> DirectConnection(const std::string& endpoint, const std::string& ca, const std::string& token);

}  // namespace nic::kube
