// Nebari's local provider (template/local: a kind cluster from tehcyx/kind, MetalLB through
// gavinbunney/kubectl, handled in map_kubernetes.cpp) and the root `local_file` that every
// provider's stage 02 writes its kubeconfig with.
#include "importers/terraform/mapping.h"

namespace nic::tfimport {
namespace {

bool KindCluster(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "endpoint", a, "endpoint");
  Copy(v, "ca_certificate", a, "cluster_ca_certificate");
  Copy(v, "node_image", a, "node_image");
  Copy(v, "kubeconfig_path", a, "kubeconfig_path");
  CopyBool(v, "wait_for_ready", a, "wait_for_ready");
  v["kind"] = "kind";
  AddSingleton(out, "cloud.cluster", std::move(v));
  return true;
}

// The file itself (its content is the kubeconfig, dropped by Sanitize); keyed by the
// Terraform resource name because the file name is a path.
bool LocalFile(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  v["name"] = in.resource.name;
  Copy(v, "filename", a, "filename");
  Copy(v, "file_permission", a, "file_permission");
  return AddKeyed(out, "cloud.local_files", std::move(v));
}

}  // namespace

const std::vector<TypeMapping>& LocalMappings() {
  static const std::vector<TypeMapping> kTable = {
      {"kind_cluster", "Cluster", KindCluster},
      {"local_file", "Local files", LocalFile},
  };
  return kTable;
}

}  // namespace nic::tfimport
