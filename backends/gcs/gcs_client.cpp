#include "backends/gcs/gcs_client.h"

#include <openssl/evp.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "nic/lock.h"
#include "nic/json_limits.h"

namespace nic::gcs {
namespace {

constexpr const char* kService = "gcs";

// Google's JSON API error body: {"error":{"code":C,"message":M,"errors":[{"reason":R,...}]}}.
// Returns "reason: message", or a description of what the body was when it is not that shape.
std::string DescribeErrorBody(const http::Response& r) {
  if (r.body.empty()) return "(empty response body)";
  auto j = ParseJsonBounded(r.body);
  std::string snippet;
  for (char c : r.body.substr(0, 160)) snippet += std::isprint(static_cast<unsigned char>(c)) ? c : ' ';
  if (j.is_discarded() || !j.is_object() || !j.contains("error") || !j["error"].is_object()) {
    return "(malformed error body, not a Google JSON API error: \"" + snippet + (r.body.size() > 160 ? "...\")" : "\")");
  }
  const auto& e = j["error"];
  std::string reason, message;
  if (e.contains("errors") && e["errors"].is_array() && !e["errors"].empty() && e["errors"][0].is_object()) {
    const auto& first = e["errors"][0];
    if (first.contains("reason") && first["reason"].is_string()) reason = first["reason"].get<std::string>();
  }
  if (reason.empty() && e.contains("status") && e["status"].is_string()) reason = e["status"].get<std::string>();
  if (e.contains("message") && e["message"].is_string()) message = e["message"].get<std::string>();
  if (reason.empty() && message.empty()) return "(error body without reason or message: \"" + snippet + "\")";
  if (reason.empty()) return message;
  if (message.empty()) return reason;
  return reason + ": " + message;
}

Result<int64_t> ParseInt64(const std::string& text, const std::string& what) {
  if (text.empty() || text.size() > 19) return Status::InvalidInput(what + " is not an integer: \"" + text + "\"");
  int64_t v = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return Status::InvalidInput(what + " is not an integer: \"" + text + "\"");
    v = v * 10 + (c - '0');
  }
  return v;
}

// int64 fields of an object resource arrive as JSON strings ("generation": "1700000000000000").
Result<ObjectVersion> ParseObjectResource(const std::string& body, const std::string& resource) {
  auto j = ParseJsonBounded(body);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidInput("gcs backend: the object resource returned for " + resource + " is not JSON");
  }
  auto field = [&](const char* key) -> std::string {
    if (!j.contains(key)) return "";
    const auto& v = j[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
    return "";
  };
  ObjectVersion ov;
  NIC_ASSIGN_OR_RETURN(ov.generation, ParseInt64(field("generation"), "gcs backend: the generation of " + resource));
  auto meta = field("metageneration");
  if (!meta.empty()) {
    NIC_ASSIGN_OR_RETURN(ov.metageneration, ParseInt64(meta, "gcs backend: the metageneration of " + resource));
  }
  ov.md5_base64 = field("md5Hash");
  return ov;
}

}  // namespace

std::string Md5Base64(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, md, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

std::string Md5FromGoogHash(std::string_view header) {
  // "crc32c=n03x6A==,md5=Ojk9c3dhfxgoKVVHYwFbHQ==" (one header, or values joined by ", ").
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(',', pos);
    if (end == std::string_view::npos) end = header.size();
    std::string_view item = header.substr(pos, end - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.substr(0, 4) == "md5=") return std::string(item.substr(4));
    pos = end + 1;
  }
  return "";
}

GcsClient::GcsClient(ClientOptions options) : options_(std::move(options)) {
  while (!options_.endpoint.empty() && options_.endpoint.back() == '/') options_.endpoint.pop_back();
}

std::string GcsClient::ObjectPath(const std::string& object) const {
  return options_.endpoint + "/storage/v1/b/" + http::UriEncode(options_.bucket) + "/o/" + http::UriEncode(object);
}

Result<http::Response> GcsClient::Send(http::Request request, const std::string& resource, bool* retried) {
  request.service = kService;
  http::RetryOptions ro = options_.retry;
  bool again = false;
  auto forward = options_.retry.on_retry;
  ro.on_retry = [&again, forward](const http::RetryEvent& ev) {
    again = true;
    if (forward) forward(ev);
  };
  auto r = http::SendWithRetry(*options_.transport, request, options_.authorizer.get(), ro);
  if (retried != nullptr) *retried = again;
  if (!r.ok()) {
    Status st = r.status();
    if (st.code() == ErrorCode::kUnavailable || st.code() == ErrorCode::kTimeout) {
      st.Prepend("gcs backend: cannot reach the Cloud Storage endpoint " + options_.endpoint + " for " + resource);
      st.WithSuggestion("check the endpoint setting (or STORAGE_EMULATOR_HOST), the network and any proxy settings");
    } else {
      st.Prepend("gcs backend: request for " + resource + " failed");
    }
    st.WithDetail("backend", "gcs").WithDetail("resource", resource);
    return st;
  }
  return r;
}

Status GcsClient::ErrorFor(const http::Request& request, const http::Response& response,
                           const std::string& resource) const {
  const std::string detail = DescribeErrorBody(response);
  const std::string what = http::DescribeRequest(request) + ": HTTP " + std::to_string(response.status) + " " + detail;
  const std::string& b = options_.bucket;
  Status st;
  switch (response.status) {
    case 401:
      st = Status::Unauthenticated("gcs backend: the credentials were rejected for " + resource + " (" + what + ")");
      st.WithSuggestion("check " + (options_.credentials_hint.empty() ? std::string("the credentials") : options_.credentials_hint) +
                        "; an OAuth access token expires after about an hour");
      break;
    case 403:
      st = Status::PermissionDenied("gcs backend: permission denied on bucket \"" + b + "\" for " + resource + " (" + what + ")");
      st.WithSuggestion("the account needs storage.objects.get, storage.objects.create and storage.objects.delete on bucket \"" +
                        b + "\" (for example roles/storage.objectUser); check the bucket name and the account in use");
      break;
    case 404:
      st = Status::NotFound("gcs backend: " + resource + " was not found (" + what + ")");
      break;
    case 304:
    case 412:
      st = Status::Conflict("gcs backend: a generation precondition did not hold for " + resource + " (" + what + ")");
      st.WithDetail(kPreconditionFailedDetail, "true");
      break;
    case 409:
      st = Status::Conflict("gcs backend: conflict on " + resource + " (" + what + ")");
      break;
    case 408:
      st = Status::Timeout("gcs backend: the request for " + resource + " timed out (" + what + ")");
      break;
    default:
      if (response.status == 429 || response.status >= 500) {
        st = Status::Unavailable("gcs backend: Cloud Storage kept failing for " + resource + " after retries (" + what + ")");
        st.WithSuggestion("retry later; nothing was changed by the failed request unless it reports otherwise");
      } else {
        st = Status::InvalidInput("gcs backend: the request for " + resource + " was rejected (" + what + ")");
      }
  }
  st.WithDetail("http_status", std::to_string(response.status)).WithDetail("backend", "gcs").WithDetail("resource", resource);
  return st;
}

Result<std::optional<ObjectContent>> GcsClient::Download(const std::string& object) {
  const std::string resource = GsUrl(object);
  // A body whose MD5 disagrees with x-goog-hash was damaged in transit; read it again.
  for (int attempt = 1;; ++attempt) {
    http::Request req;
    req.method = "GET";
    req.url = ObjectPath(object) + "?alt=media";
    NIC_ASSIGN_OR_RETURN(http::Response resp, Send(req, resource, nullptr));
    if (resp.status == 404) return std::optional<ObjectContent>();
    if (!resp.ok()) return ErrorFor(req, resp, resource);
    ObjectContent out;
    out.bytes = std::move(resp.body);
    auto gen = resp.Header("x-goog-generation");
    if (!gen) {
      return Status::InvalidInput("gcs backend: the download of " + resource +
                                  " carried no x-goog-generation header, so its version is unknown")
          .WithSuggestion("check that the endpoint is a Cloud Storage JSON API (storage/v1) server");
    }
    NIC_ASSIGN_OR_RETURN(out.generation, ParseInt64(*gen, "gcs backend: x-goog-generation of " + resource));
    std::string want = Md5FromGoogHash(resp.headers.GetOr("x-goog-hash"));
    bool transcoded = resp.headers.GetOr("Content-Encoding").find("gzip") != std::string::npos ||
                      resp.headers.GetOr("x-goog-stored-content-encoding").find("gzip") != std::string::npos;
    if (want.empty() || transcoded || Md5Base64(out.bytes) == want) return std::optional<ObjectContent>(std::move(out));
    if (attempt >= 3) {
      return Status::Unavailable("gcs backend: the content of " + resource + " (generation " + *gen +
                                 ") did not match its MD5 " + want + " in 3 downloads; refusing to use a damaged copy")
          .WithDetail("backend", "gcs");
    }
  }
}

Result<std::optional<ObjectVersion>> GcsClient::Stat(const std::string& object) {
  const std::string resource = GsUrl(object);
  http::Request req;
  req.method = "GET";
  req.url = ObjectPath(object);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(req, resource, nullptr));
  if (resp.status == 404) return std::optional<ObjectVersion>();
  if (!resp.ok()) return ErrorFor(req, resp, resource);
  NIC_ASSIGN_OR_RETURN(ObjectVersion ov, ParseObjectResource(resp.body, resource));
  return std::optional<ObjectVersion>(ov);
}

Result<ObjectVersion> GcsClient::Upload(const std::string& object, std::string_view bytes, std::string_view content_type,
                                        std::optional<int64_t> if_generation_match) {
  const std::string resource = GsUrl(object);
  const std::string md5 = Md5Base64(bytes);
  nlohmann::ordered_json meta;
  meta["name"] = object;
  meta["contentType"] = std::string(content_type);
  meta["md5Hash"] = md5;  // the service refuses the upload if the media does not match
  // A fresh random boundary cannot occur in the media by accident.
  const std::string boundary = "nic_gcs_" + NewUuid();
  std::string body;
  body.reserve(bytes.size() + 512);
  body += "--" + boundary + "\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n" + meta.dump() + "\r\n";
  body += "--" + boundary + "\r\nContent-Type: " + std::string(content_type) + "\r\n\r\n";
  body.append(bytes.data(), bytes.size());
  body += "\r\n--" + boundary + "--\r\n";

  http::Request req;
  req.method = "POST";
  req.url = options_.endpoint + "/upload/storage/v1/b/" + http::UriEncode(options_.bucket) + "/o?uploadType=multipart";
  if (if_generation_match) req.url += "&ifGenerationMatch=" + std::to_string(*if_generation_match);
  req.headers.Set("Content-Type", "multipart/related; boundary=" + boundary);
  req.body = std::move(body);
  // An unconditional insert is not idempotent in general, but replacing an object with the same
  // bytes is; only forced pushes write unconditionally.
  if (!if_generation_match) req.retry = http::RetryMode::kSafe;
  bool retried = false;
  auto sent = Send(req, resource, &retried);
  if (!sent.ok()) {
    Status st = sent.status();
    if (st.code() != ErrorCode::kUnavailable && st.code() != ErrorCode::kTimeout) return st;
    // The last attempt may have reached the service with only its answer lost. If the object now
    // holds exactly our bytes, the write happened; otherwise report the failure as it is.
    auto now = Stat(object);
    if (now.ok() && now.value() && now.value()->md5_base64 == md5) return *now.value();
    st.WithSuggestion("whether the write to " + resource + " landed is unknown; check with nic state show before retrying");
    return st;
  }
  http::Response resp = std::move(sent).value();
  if (resp.ok()) {
    auto ov = ParseObjectResource(resp.body, resource);
    if (ov.ok()) return ov;
    // Written, but the answer is unreadable: find out which generation holds our bytes.
    NIC_ASSIGN_OR_RETURN(auto st, Stat(object));
    if (st && st->md5_base64 == md5) return *st;
    return ov.status();
  }
  if ((resp.status == 412 || resp.status == 304) && retried) {
    // The first attempt may have been applied with its response lost; then the object now holds
    // exactly our bytes and the precondition failure is our own write.
    NIC_ASSIGN_OR_RETURN(auto st, Stat(object));
    if (st && st->md5_base64 == md5) return *st;
  }
  if (resp.status == 404) {
    return Status::NotFound("gcs backend: bucket \"" + options_.bucket + "\" does not exist (writing " + resource + ": " +
                            DescribeErrorBody(resp) + ")")
        .WithSuggestion("create the bucket first (gcloud storage buckets create gs://" + options_.bucket +
                        "), or fix the bucket setting")
        .WithDetail("backend", "gcs")
        .WithDetail("resource", "gs://" + options_.bucket);
  }
  return ErrorFor(req, resp, resource);
}

Status GcsClient::Delete(const std::string& object, std::optional<int64_t> if_generation_match, bool* retried) {
  const std::string resource = GsUrl(object);
  http::Request req;
  req.method = "DELETE";
  req.url = ObjectPath(object);
  if (if_generation_match) req.url += "?ifGenerationMatch=" + std::to_string(*if_generation_match);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(req, resource, retried));
  if (resp.ok()) return Status::OK();
  return ErrorFor(req, resp, resource);
}

Status GcsClient::CheckBucket() {
  const std::string resource = "gs://" + options_.bucket;
  http::Request req;
  req.method = "GET";
  req.url = options_.endpoint + "/storage/v1/b/" + http::UriEncode(options_.bucket);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(req, resource, nullptr));
  if (resp.ok()) return Status::OK();
  if (resp.status == 404) {
    return Status::NotFound("gcs backend: bucket \"" + options_.bucket + "\" does not exist at " + options_.endpoint + " (" +
                            DescribeErrorBody(resp) + ")")
        .WithSuggestion("create the bucket first (gcloud storage buckets create gs://" + options_.bucket +
                        "), or fix the bucket setting")
        .WithDetail("backend", "gcs")
        .WithDetail("resource", resource);
  }
  return ErrorFor(req, resp, resource);
}

}  // namespace nic::gcs
