// libFuzzer target: the AWS error parser (XML and JSON bodies, x-amzn-ErrorType), the retry
// layer's cloud error code (JSON error bodies of GCS and Azure too), the generic status mapping,
// and the S3 backend's DynamoDB item reader.
#include <cstddef>
#include <cstdint>

#include "backends/s3/aws_calls.h"
#include "backends/s3/dynamo_lock.h"
#include "nic/aws_error.h"
#include "nic/retry.h"
#include "tests/fuzz/fuzz_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nic::http::Response resp = nic::fuzz::ResponseFromBytes(data, size);
  nic::http::Request req;
  req.method = "PUT";
  req.url = "https://s3.us-east-1.amazonaws.com/bucket/key?X-Amz-Signature=secret";
  req.service = "s3";
  (void)nic::aws::ParseError(resp);
  (void)nic::aws::ErrorStatus(req, resp).ToString();
  (void)nic::http::CloudErrorCode(resp);
  (void)nic::http::StatusFromResponse(req, resp, "detail").ToString();
  (void)nic::s3::AwsCode(resp);
  bool present = false;
  (void)nic::s3::ItemString(resp.body, "Info", &present);
  return 0;
}
