#include "nic/aws_error.h"
#include "nic/json_limits.h"

#include <nlohmann/json.hpp>

#include "nic/xml.h"

namespace nic::aws {
namespace {

bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

bool OneOf(const std::string& s, std::initializer_list<const char*> list) {
  for (const char* x : list) {
    if (s == x) return true;
  }
  return false;
}

}  // namespace

AwsError ParseError(const http::Response& r) {
  AwsError e;
  e.request_id = r.headers.GetOr("x-amzn-RequestId", r.headers.GetOr("x-amz-request-id"));
  if (auto t = r.headers.Get("x-amzn-ErrorType")) e.code = t->substr(0, t->find(':'));
  size_t i = r.body.find_first_not_of(" \t\r\n");
  if (i != std::string::npos && r.body[i] == '<') {
    auto doc = xml::Parse(r.body);
    if (doc.ok()) {
      const xml::Node* err = doc->name == "Error" ? &*doc : doc->Find("Error");
      if (err != nullptr) {
        if (e.code.empty()) e.code = err->ChildText("Code");
        e.message = err->ChildText("Message");
      }
      if (e.request_id.empty()) {
        e.request_id = doc->ChildText("RequestId");
        if (e.request_id.empty()) e.request_id = doc->ChildText("RequestID");
      }
    }
  } else if (i != std::string::npos && r.body[i] == '{') {
    auto j = ParseJsonBounded(r.body);
    if (!j.is_discarded() && j.is_object()) {
      auto str = [&](const char* k) {
        return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
      };
      if (e.code.empty()) {
        std::string t = str("__type");
        if (t.empty()) t = str("code");
        if (t.empty()) t = str("Code");
        size_t hash = t.rfind('#');
        e.code = hash == std::string::npos ? t : t.substr(hash + 1);
      }
      e.message = str("message");
      if (e.message.empty()) e.message = str("Message");
    }
  }
  return e;
}

Status ErrorStatus(const http::Request& request, const http::Response& response) {
  AwsError e = ParseError(response);
  std::string detail = e.code;
  if (!e.message.empty()) detail += (detail.empty() ? "" : ": ") + e.message;
  Status st = http::StatusFromResponse(request, response, detail);
  ErrorCode code = st.code();
  const std::string& c = e.code;
  if (OneOf(c, {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId", "ExpiredToken",
                "ExpiredTokenException", "UnrecognizedClientException", "AuthFailure", "InvalidToken",
                "MissingAuthenticationToken", "IncompleteSignature", "RequestExpired",
                "InvalidSignatureException", "TokenRefreshRequired"})) {
    code = ErrorCode::kUnauthenticated;
  } else if (OneOf(c, {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                       "UnauthorizedAccess", "AllAccessDisabled"})) {
    code = ErrorCode::kPermissionDenied;
  } else if (Contains(c, "NotFound") || c.rfind("NoSuch", 0) == 0) {
    code = ErrorCode::kNotFound;
  } else if (OneOf(c, {"PreconditionFailed", "ConditionalCheckFailedException", "TransactionConflictException",
                       "ResourceInUseException", "BucketAlreadyOwnedByYou", "EntityAlreadyExists",
                       "InvalidGroup.Duplicate", "FileSystemAlreadyExists"}) ||
             Contains(c, "AlreadyExists") || Contains(c, ".Duplicate") || Contains(c, "Conflict")) {
    code = ErrorCode::kConflict;
  } else if (OneOf(c, {"Throttling", "ThrottlingException", "RequestLimitExceeded", "SlowDown",
                       "ProvisionedThroughputExceededException", "TooManyRequestsException",
                       "ServiceUnavailable", "InternalError", "InternalFailure"})) {
    code = ErrorCode::kUnavailable;
  }
  Status out(code, st.message());
  for (const auto& [k, v] : st.details()) out.WithDetail(k, v);
  if (!c.empty()) out.WithDetail("aws_code", c);
  if (!e.request_id.empty()) out.WithDetail("request_id", e.request_id);
  if (code == ErrorCode::kUnauthenticated) {
    out.WithSuggestion("check the AWS credentials in use (AWS_PROFILE, AWS_ACCESS_KEY_ID, the role) and the clock");
  }
  return out;
}

}  // namespace nic::aws
