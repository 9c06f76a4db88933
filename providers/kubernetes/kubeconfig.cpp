// kubeconfig loading and merging (see include/nic/kubeconfig.h for the rules followed).
#include "nic/kubeconfig.h"

#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "nic/log.h"
#include "providers/kubernetes/util.h"
#include "src/config/yaml_document.h"  // the libyaml document model nebari-config.yaml uses too

namespace nic::kube {
namespace {

namespace fs = std::filesystem;
using config_internal::YamlNode;
using config_internal::YamlStream;

// Nesting deeper than this is refused while parsing; a kubeconfig has five levels.
constexpr int kMaxDepth = 500;

// One named entry (cluster, user or context) and the directory of the file that defined it.
struct Entry {
  const YamlNode* body = nullptr;  // nullptr when the entry has none
  std::string base_dir;
};

struct Merged {
  std::deque<YamlStream> documents;  // own the nodes the entries point into
  std::map<std::string, Entry> clusters, users, contexts;
  std::string current_context;
};

// The scalar under `key` of mapping `n` ("" when n is not a mapping, or the value is absent,
// null or a collection).
std::string Scalar(const YamlNode* n, const char* key) {
  if (n == nullptr || !n->IsMap()) return "";
  const YamlNode* v = n->Find(key);
  if (v == nullptr || !v->IsScalar()) return "";
  return v->scalar();
}

bool Flag(const YamlNode* n, const char* key) {
  std::string v = Scalar(n, key);
  return v == "true" || v == "True" || v == "TRUE" || v == "yes";
}

std::string Resolve(const std::string& path, const std::string& base_dir) {
  if (path.empty() || base_dir.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(base_dir) / path).string();
}

Result<std::string> ReadWhole(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(what + ": cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Adds the named entries of one list ("clusters", "users", "contexts"); names already present
// (from an earlier file) are kept whole, as kubectl does.
Status AddEntries(const YamlNode& doc, const char* list, const char* body_key, const std::string& base_dir,
                  const std::string& origin, std::map<std::string, Entry>* into) {
  const YamlNode* items = doc.Find(list);
  if (items == nullptr || items->IsNull()) return Status::OK();
  if (!items->IsSequence()) return Status::InvalidConfig(origin + ": '" + list + "' must be a list");
  for (const YamlNode& item : items->items()) {
    std::string name = Scalar(&item, "name");
    if (name.empty()) return Status::InvalidConfig(origin + ": an entry of '" + list + "' has no name");
    into->emplace(name, Entry{item.IsMap() ? item.Find(body_key) : nullptr, base_dir});
  }
  return Status::OK();
}

Status MergeOne(const std::string& text, const std::string& base_dir, const std::string& origin, Merged* m) {
  YamlStream& stream = m->documents.emplace_back();
  config_internal::ParseYamlStream(text, kMaxDepth, &stream);
  if (stream.failed) {
    return Status::InvalidConfig(origin + ": not valid YAML (line " + std::to_string(stream.error_line) +
                                 ", column " + std::to_string(stream.error_column) + ": " + stream.error + ")");
  }
  // Like kubectl, only the first document counts.
  if (stream.documents.empty() || stream.documents[0]->IsNull()) return Status::OK();  // empty: merges as nothing
  const YamlNode& doc = *stream.documents[0];
  if (!doc.IsMap()) return Status::InvalidConfig(origin + ": a kubeconfig must be a YAML mapping");
  NIC_RETURN_IF_ERROR(AddEntries(doc, "clusters", "cluster", base_dir, origin, &m->clusters));
  NIC_RETURN_IF_ERROR(AddEntries(doc, "users", "user", base_dir, origin, &m->users));
  NIC_RETURN_IF_ERROR(AddEntries(doc, "contexts", "context", base_dir, origin, &m->contexts));
  if (m->current_context.empty()) m->current_context = Scalar(&doc, "current-context");
  return Status::OK();
}

std::string Names(const std::map<std::string, Entry>& m) {
  std::string out;
  for (const auto& [k, _] : m) out += (out.empty() ? "" : ", ") + k;
  return out.empty() ? "(none)" : out;
}

// "<field>-data" (base64) wins over "<field>" (a file), as in client-go.
Result<std::string> DataOrFile(const YamlNode* body, const std::string& field, const std::string& base_dir,
                               const std::string& what, std::string* source) {
  std::string data = Scalar(body, (field + "-data").c_str());
  if (!data.empty()) {
    auto decoded = kubeprov::Base64Decode(data);
    if (!decoded) return Status::InvalidConfig(what + ": " + field + "-data is not valid base64");
    if (source) *source = field + "-data";
    return *decoded;
  }
  std::string file = Scalar(body, field.c_str());
  if (file.empty()) return std::string();
  std::string path = Resolve(file, base_dir);
  if (source) *source = path;
  return ReadWhole(path, what + " " + field);
}

}  // namespace

std::string Connection::DescribeAuth() const {
  if (!token_file.empty()) return "bearer token from " + token_file;
  if (!token.empty()) return "bearer token";
  if (!client_cert_pem.empty()) return "client certificate";
  if (!username.empty()) return "basic auth";
  return "no credentials";
}

Result<Connection> ResolveKubeconfig(const std::vector<std::string>& documents, const std::vector<std::string>& base_dirs,
                                     const std::string& context, const std::string& origin) {
  Merged m;
  for (size_t i = 0; i < documents.size(); ++i) {
    NIC_RETURN_IF_ERROR(MergeOne(documents[i], i < base_dirs.size() ? base_dirs[i] : "", origin, &m));
  }
  Connection c;
  c.context = context.empty() ? m.current_context : context;
  if (c.context.empty()) {
    return Status::NotFound("kubeconfig " + origin + " sets no current-context and no context was given")
        .WithSuggestion("pass the context to use (contexts defined: " + Names(m.contexts) + ")");
  }
  auto ctx = m.contexts.find(c.context);
  if (ctx == m.contexts.end()) {
    return Status::NotFound("kubeconfig " + origin + " has no context \"" + c.context + "\"")
        .WithSuggestion("contexts defined: " + Names(m.contexts));
  }
  const YamlNode* cb = ctx->second.body;
  c.cluster_name = Scalar(cb, "cluster");
  c.user_name = Scalar(cb, "user");
  c.namespace_name = Scalar(cb, "namespace");
  auto cl = m.clusters.find(c.cluster_name);
  if (cl == m.clusters.end()) {
    return Status::NotFound("kubeconfig context \"" + c.context + "\" names cluster \"" + c.cluster_name +
                            "\", which " + origin + " does not define")
        .WithSuggestion("clusters defined: " + Names(m.clusters));
  }
  const YamlNode* clb = cl->second.body;
  std::string what = "kubeconfig cluster \"" + c.cluster_name + "\"";
  c.server = Scalar(clb, "server");
  while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
  if (c.server.empty()) return Status::InvalidConfig(what + " has no server");
  c.tls_server_name = Scalar(clb, "tls-server-name");
  c.insecure_skip_tls_verify = Flag(clb, "insecure-skip-tls-verify");
  NIC_ASSIGN_OR_RETURN(c.ca_pem, DataOrFile(clb, "certificate-authority", cl->second.base_dir, what, &c.ca_source));
  if (c.insecure_skip_tls_verify) {
    Log(LogLevel::kWarn,
        "TLS VERIFICATION IS DISABLED for " + what + " (" + c.server + "): insecure-skip-tls-verify is set in "
        "kubeconfig context \"" + c.context + "\". Anyone on the network path can impersonate the API server and "
        "capture the credentials NIC sends. Set certificate-authority-data instead.");
  }

  if (!c.user_name.empty()) {
    auto us = m.users.find(c.user_name);
    if (us == m.users.end()) {
      return Status::NotFound("kubeconfig context \"" + c.context + "\" names user \"" + c.user_name + "\", which " +
                              origin + " does not define")
          .WithSuggestion("users defined: " + Names(m.users));
    }
    const YamlNode* ub = us->second.body;
    std::string uwhat = "kubeconfig user \"" + c.user_name + "\"";
    if (ub && ub->IsMap() && ub->Find("exec")) {
      std::string cmd = Scalar(ub->Find("exec"), "command");
      return Status::Unsupported(uwhat + " gets its credentials from an exec plugin (command: " +
                                 (cmd.empty() ? "?" : cmd) + "); NIC does not run credential plugins")
          .WithSuggestion("give NIC a kubeconfig whose user has a token, token file or client certificate, or let the "
                          "cloud provider supply the cluster endpoint, CA and token directly")
          .WithDetail("kubeconfig_user", c.user_name);
    }
    if (ub && ub->IsMap() && ub->Find("auth-provider")) {
      std::string name = Scalar(ub->Find("auth-provider"), "name");
      return Status::Unsupported(uwhat + " uses the auth-provider plugin \"" + name +
                                 "\", which NIC does not support (client-go removed these plugins in 1.26)")
          .WithSuggestion("use a token, token file or client certificate for this user")
          .WithDetail("kubeconfig_user", c.user_name);
    }
    c.token = Scalar(ub, "token");
    std::string token_file = Scalar(ub, "tokenFile");
    if (!token_file.empty()) {
      c.token_file = Resolve(token_file, us->second.base_dir);
      NIC_ASSIGN_OR_RETURN(std::string t, ReadWhole(c.token_file, uwhat + " tokenFile"));
      c.token = kubeprov::Trim(t);  // the file wins over an inline token, as in client-go
    }
    c.username = Scalar(ub, "username");
    c.password = Scalar(ub, "password");
    if (!c.token.empty() && (!c.username.empty() || !c.password.empty())) {
      return Status::InvalidConfig(uwhat + " has both a token and basic-auth credentials; only one authentication "
                                   "method is allowed per user");
    }
    NIC_ASSIGN_OR_RETURN(c.client_cert_pem, DataOrFile(ub, "client-certificate", us->second.base_dir, uwhat, nullptr));
    NIC_ASSIGN_OR_RETURN(c.client_key_pem, DataOrFile(ub, "client-key", us->second.base_dir, uwhat, nullptr));
    if (c.client_cert_pem.empty() != c.client_key_pem.empty()) {
      return Status::InvalidConfig(uwhat + " has a client certificate without a key (or a key without a certificate)");
    }
  }
  return c;
}

Result<Connection> LoadKubeconfig(const LoadOptions& options) {
  std::vector<std::string> paths;
  if (!options.path.empty()) {
    paths.push_back(options.path);
  } else if (auto env = options.env ? options.env("KUBECONFIG") : std::nullopt; env && !env->empty()) {
    std::stringstream ss(*env);
    std::string p;
    while (std::getline(ss, p, ':')) {
      if (!p.empty()) paths.push_back(p);  // empty names are ignored, as kubectl does
    }
  } else {
    auto home = options.env ? options.env("HOME") : std::nullopt;
    if (!home || home->empty()) return Status::NotFound("no kubeconfig: neither KUBECONFIG nor HOME is set");
    paths.push_back(*home + "/.kube/config");
  }
  std::vector<std::string> docs, dirs;
  std::string origin;
  for (const auto& p : paths) {
    std::error_code ec;
    if (!fs::exists(p, ec)) {
      // An explicit --kubeconfig must exist; missing entries of KUBECONFIG are skipped like kubectl.
      if (!options.path.empty()) return Status::NotFound("kubeconfig " + p + " does not exist");
      continue;
    }
    NIC_ASSIGN_OR_RETURN(std::string text, ReadWhole(p, "kubeconfig"));
    docs.push_back(std::move(text));
    dirs.push_back(fs::absolute(p, ec).parent_path().string());
    origin += (origin.empty() ? "" : ":") + p;
  }
  if (docs.empty()) {
    std::string list;
    for (const auto& p : paths) list += (list.empty() ? "" : ", ") + p;
    return Status::NotFound("no kubeconfig file found (looked at " + list + ")")
        .WithSuggestion("set KUBECONFIG or pass the kubeconfig path");
  }
  return ResolveKubeconfig(docs, dirs, options.context, origin);
}

Result<Connection> DirectConnection(const std::string& endpoint, const std::string& ca, const std::string& token) {
  Connection c;
  c.server = endpoint;
  if (c.server.find("://") == std::string::npos) c.server = "https://" + c.server;
  while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
  if (c.server == "https:" || c.server.empty()) return Status::InvalidInput("empty Kubernetes API endpoint");
  c.cluster_name = c.server;
  c.user_name = "(token from the cloud provider)";
  if (!ca.empty()) {
    if (ca.find("-----BEGIN") != std::string::npos) {
      c.ca_pem = ca;
    } else {
      auto decoded = kubeprov::Base64Decode(ca);
      if (!decoded || decoded->find("-----BEGIN") == std::string::npos) {
        return Status::InvalidInput("the cluster CA for " + c.server + " is neither PEM nor base64 of PEM");
      }
      c.ca_pem = *decoded;
    }
    c.ca_source = "the cloud provider's cluster CA";
  }
  c.token = token;
  return c;
}

}  // namespace nic::kube
