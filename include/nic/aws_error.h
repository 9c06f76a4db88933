// AWS error responses -> error code, message and a NIC Status.
//
// Handles the three shapes: XML (<Error><Code> for S3, <ErrorResponse><Error> for query
// services, <Response><Errors><Error> for EC2), JSON ("__type" / "code" + "message"), and the
// x-amzn-ErrorType header of REST-JSON services.
#pragma once

#include <string>

#include "nic/http.h"
#include "nic/status.h"

namespace nic::aws {

struct AwsError {
  std::string code;     // "NoSuchKey", "ConditionalCheckFailedException", "SignatureDoesNotMatch"
  std::string message;  // the service's sentence
  std::string request_id;
};

AwsError ParseError(const http::Response& response);

// Maps a non-2xx response to a Status kind, using the code first and the HTTP status second:
// credential errors -> kUnauthenticated, AccessDenied/UnauthorizedOperation -> kPermissionDenied,
// *NotFound/NoSuch* -> kNotFound, PreconditionFailed/ConditionalCheckFailed -> kConflict,
// throttling and 5xx -> kUnavailable. The message names the request and quotes code+message;
// details carry "aws_code", "http_status" and "request_id".
Status ErrorStatus(const http::Request& request, const http::Response& response);

}  // namespace nic::aws
