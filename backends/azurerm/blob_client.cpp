#include "backends/azurerm/blob_client.h"

#include "nic/crypto.h"

#include <openssl/evp.h>

#include <cctype>

#include "nic/azure_auth.h"

namespace nic::azurerm {
namespace {

constexpr const char* kService = "azure-blob";

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const char* ActionName(LeaseAction a) {
  switch (a) {
    case LeaseAction::kAcquire: return "acquire";
    case LeaseAction::kRenew: return "renew";
    case LeaseAction::kRelease: return "release";
    case LeaseAction::kBreak: return "break";
  }
  return "acquire";
}

BlobProperties PropertiesFrom(const http::Response& r) {
  BlobProperties p;
  p.exists = true;
  p.etag = r.headers.GetOr("ETag");
  std::string len = r.headers.GetOr("Content-Length");
  p.content_length = len.empty() ? 0 : std::strtoll(len.c_str(), nullptr, 10);
  p.content_md5 = r.headers.GetOr("Content-MD5");
  p.lease_state = Lower(r.headers.GetOr("x-ms-lease-state"));
  p.lease_status = Lower(r.headers.GetOr("x-ms-lease-status"));
  p.lease_duration = Lower(r.headers.GetOr("x-ms-lease-duration"));
  for (const auto& [name, value] : r.headers.entries()) {
    std::string n = Lower(name);
    if (n.rfind("x-ms-meta-", 0) == 0) p.metadata[n.substr(10)] = value;
  }
  return p;
}

void AddMetadata(http::Request& req, const Metadata& metadata) {
  for (const auto& [k, v] : metadata) req.headers.Set("x-ms-meta-" + k, v);
}

}  // namespace

std::string AzureCode(const Status& status) {
  auto it = status.details().find("azure_code");
  return it == status.details().end() ? std::string() : it->second;
}

std::string Base64Encode(std::string_view data) { return crypto::Base64Encode(data); }

std::optional<std::string> Base64Decode(std::string_view text) { 
  auto r = crypto::Base64Decode(text);
  if (!r.ok()) return std::nullopt;
  return r.value();
}

std::string Md5Base64(std::string_view data) { return crypto::Base64Encode(crypto::Md5(data)); }

BlobClient::BlobClient(ClientOptions options) : options_(std::move(options)) {
  while (!options_.endpoint.empty() && options_.endpoint.back() == '/') options_.endpoint.pop_back();
}

std::string BlobClient::BlobUrl(const std::string& blob) const {
  std::string url = options_.endpoint + "/" + http::UriEncode(options_.container);
  if (!blob.empty()) url += "/" + http::UriEncode(blob, /*keep_slash=*/true);
  return url;
}

Status BlobClient::ErrorFor(const http::Request& request, const http::Response& response, const std::string& blob) const {
  Status base = azure::StorageErrorStatus(request, response);
  const std::string code = AzureCode(base);
  const std::string acct = "storage account \"" + options_.account + "\"";
  const std::string where = blob.empty() ? "container \"" + options_.container + "\" of " + acct
                                         : "blob " + BlobUrl(blob);
  Status st(base.code(), "");
  if (code == "ContainerNotFound") {
    st = Status::NotFound("azurerm backend: container \"" + options_.container + "\" does not exist in " + acct + " (" +
                          options_.endpoint + ")");
    st.WithSuggestion("create it (az storage container create --name " + options_.container + " --account-name " +
                      options_.account + ") or fix container_name");
  } else if (base.code() == ErrorCode::kUnauthenticated) {
    st = Status::Unauthenticated("azurerm backend: " + acct + " rejected the credentials (HTTP " +
                                 std::to_string(response.status) + " " + code + ") for " + where);
    st.WithSuggestion("check " + (options_.credentials_hint.empty() ? std::string("the access key") : options_.credentials_hint) +
                      ": it must belong to storage account \"" + options_.account +
                      "\" (a rotated key, a key of another account, an expired SAS and a wrong clock all fail this way)");
  } else if (base.code() == ErrorCode::kPermissionDenied) {
    st = Status::PermissionDenied("azurerm backend: the identity may not use " + where + " (HTTP " +
                                  std::to_string(response.status) + " " + code + ")");
    st.WithSuggestion("check " + (options_.credentials_hint.empty() ? std::string("the credentials") : options_.credentials_hint) +
                      "; a SAS needs read, add, create, write and delete, an Entra identity the \"Storage Blob Data "
                      "Contributor\" role on the container");
  } else {
    st = Status(base.code(), "azurerm backend, " + where + ": " + base.message());
  }
  for (const auto& [k, v] : base.details()) st.WithDetail(k, v);
  st.WithDetail("backend", "azurerm");
  return st;
}

Result<http::Response> BlobClient::Send(http::Request request, const std::string& blob, bool* retried) {
  request.service = kService;
  request.headers.Set("x-ms-version", azure::kStorageApiVersion);
  http::RetryOptions retry = options_.retry;
  int attempts = 1;
  auto user_cb = retry.on_retry;
  retry.on_retry = [&](const http::RetryEvent& e) {
    ++attempts;
    if (user_cb) user_cb(e);
  };
  auto r = http::SendWithRetry(*options_.transport, request, options_.authorizer.get(), retry);
  if (retried) *retried = attempts > 1;
  if (!r.ok()) {
    Status st(r.status().code() == ErrorCode::kUnauthenticated ? ErrorCode::kUnauthenticated : ErrorCode::kUnavailable,
              "azurerm backend: cannot reach the blob endpoint " + options_.endpoint + " of storage account \"" +
                  options_.account + "\" (" + (blob.empty() ? "container " + options_.container : BlobUrl(blob)) +
                  "): " + r.status().message());
    st.WithDetail("backend", "azurerm");
    st.WithSuggestion("check the endpoint / storage_account_name, the network and any proxy settings");
    return st;
  }
  return r;
}

Result<BlobProperties> BlobClient::GetProperties(const std::string& blob, const std::string& lease_id) {
  http::Request req;
  req.method = "HEAD";
  req.url = BlobUrl(blob);
  if (!lease_id.empty()) req.headers.Set("x-ms-lease-id", lease_id);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(req, blob, nullptr));
  if (resp.status == 404 && http::CloudErrorCode(resp) != "ContainerNotFound") return BlobProperties{};
  if (!resp.ok()) return ErrorFor(req, resp, blob);
  return PropertiesFrom(resp);
}

Result<BlobContent> BlobClient::Get(const std::string& blob, const std::string& lease_id) {
  http::Request req;
  req.method = "GET";
  req.url = BlobUrl(blob);
  if (!lease_id.empty()) req.headers.Set("x-ms-lease-id", lease_id);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(req, blob, nullptr));
  BlobContent out;
  if (resp.status == 404 && http::CloudErrorCode(resp) != "ContainerNotFound") return out;
  if (!resp.ok()) return ErrorFor(req, resp, blob);
  out.properties = PropertiesFrom(resp);
  out.bytes = std::move(resp.body);
  out.properties.content_length = static_cast<int64_t>(out.bytes.size());
  if (!out.properties.content_md5.empty() && !out.bytes.empty() && Md5Base64(out.bytes) != out.properties.content_md5) {
    return Status::Unavailable("azurerm backend: the body read from " + BlobUrl(blob) + " does not match its Content-MD5 " +
                               out.properties.content_md5 + " (a truncated or corrupted transfer); nothing was used")
        .WithDetail("backend", "azurerm")
        .WithSuggestion("retry the command");
  }
  return out;
}

Result<std::string> BlobClient::Put(const std::string& blob, std::string_view bytes, const PutOptions& options, bool* retried) {
  http::Request req;
  req.method = "PUT";
  req.url = BlobUrl(blob);
  req.headers.Set("x-ms-blob-type", "BlockBlob");
  if (!options.content_type.empty()) req.headers.Set("Content-Type", options.content_type);
  if (!bytes.empty()) req.headers.Set("Content-MD5", Md5Base64(bytes));
  if (!options.lease_id.empty()) req.headers.Set("x-ms-lease-id", options.lease_id);
  if (!options.if_match.empty()) req.headers.Set("If-Match", options.if_match);
  if (options.if_none_match_any) req.headers.Set("If-None-Match", "*");
  AddMetadata(req, options.metadata);
  req.body = std::string(bytes);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(req, blob, retried));
  if (!resp.ok()) return ErrorFor(req, resp, blob);
  return resp.headers.GetOr("ETag");
}

Result<std::string> BlobClient::SetMetadata(const std::string& blob, const Metadata& metadata, const std::string& lease_id,
                                            const std::string& if_match, bool* retried) {
  http::Request req;
  req.method = "PUT";
  req.url = BlobUrl(blob) + "?comp=metadata";
  if (!lease_id.empty()) req.headers.Set("x-ms-lease-id", lease_id);
  if (!if_match.empty()) req.headers.Set("If-Match", if_match);
  AddMetadata(req, metadata);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(req, blob, retried));
  if (!resp.ok()) return ErrorFor(req, resp, blob);
  return resp.headers.GetOr("ETag");
}

Result<http::Response> BlobClient::Lease(const std::string& blob, const LeaseRequest& lr, bool* retried) {
  http::Request req;
  req.method = "PUT";
  req.url = BlobUrl(blob) + "?comp=lease";
  req.headers.Set("x-ms-lease-action", ActionName(lr.action));
  if (!lr.lease_id.empty()) req.headers.Set("x-ms-lease-id", lr.lease_id);
  if (lr.action == LeaseAction::kAcquire) {
    req.headers.Set("x-ms-lease-duration", std::to_string(lr.duration));
    if (!lr.proposed_id.empty()) req.headers.Set("x-ms-proposed-lease-id", lr.proposed_id);
  }
  if (lr.action == LeaseAction::kBreak) req.headers.Set("x-ms-lease-break-period", std::to_string(lr.break_period));
  if (!lr.if_match.empty()) req.headers.Set("If-Match", lr.if_match);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(req, blob, retried));
  if (!resp.ok()) return ErrorFor(req, resp, blob);
  return resp;
}

Result<std::string> BlobClient::Snapshot(const std::string& blob, const std::string& lease_id, const std::string& if_match) {
  http::Request req;
  req.method = "PUT";
  req.url = BlobUrl(blob) + "?comp=snapshot";
  if (!lease_id.empty()) req.headers.Set("x-ms-lease-id", lease_id);
  if (!if_match.empty()) req.headers.Set("If-Match", if_match);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(req, blob, nullptr));
  if (!resp.ok()) return ErrorFor(req, resp, blob);
  return resp.headers.GetOr("x-ms-snapshot");
}

Result<BlobContent> BlobClient::GetSnapshot(const std::string& blob, const std::string& snapshot) {
  http::Request req;
  req.method = "GET";
  req.url = BlobUrl(blob) + "?snapshot=" + http::UriEncode(snapshot);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(req, blob, nullptr));
  BlobContent out;
  if (resp.status == 404 && http::CloudErrorCode(resp) != "ContainerNotFound") return out;
  if (!resp.ok()) return ErrorFor(req, resp, blob);
  out.properties = PropertiesFrom(resp);
  out.bytes = std::move(resp.body);
  return out;
}

Status BlobClient::CreateContainer() {
  http::Request req;
  req.method = "PUT";
  req.url = BlobUrl("") + "?restype=container";
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(req, "", nullptr));
  if (resp.ok() || (resp.status == 409 && http::CloudErrorCode(resp) == "ContainerAlreadyExists")) return Status::OK();
  return ErrorFor(req, resp, "");
}

}  // namespace nic::azurerm
