// libFuzzer target: the GCS client's reading of Cloud Storage JSON API answers (object
// resources, error bodies, x-goog-* headers), driven through the client by a transport that
// answers with the fuzzer's response.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "backends/gcs/gcs_client.h"
#include "tests/fuzz/fuzz_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nic::gcs::ClientOptions o;
  o.endpoint = "http://127.0.0.1:1";
  o.bucket = "bucket";
  o.transport = std::make_shared<nic::fuzz::OneResponseTransport>(nic::fuzz::ResponseFromBytes(data, size));
  o.retry.policy.max_attempts = 1;
  nic::gcs::GcsClient client(o);
  (void)client.Stat("state/default.tfstate");
  (void)client.Download("state/default.tfstate");
  (void)client.Upload("state/default.tfstate", "{}", "application/json", 0);
  (void)client.Delete("state/default.tflock", 7);
  (void)client.CheckBucket();
  return 0;
}
