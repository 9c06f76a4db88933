// libFuzzer target: the Azure blob client's reading of Blob service answers (XML error bodies,
// x-ms-* headers, ETags, lease and metadata headers, Content-MD5), driven through the client by a
// transport that answers with the fuzzer's response.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "backends/azurerm/blob_client.h"
#include "tests/fuzz/fuzz_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nic::azurerm::ClientOptions o;
  o.endpoint = "http://127.0.0.1:1/devstoreaccount1";
  o.account = "devstoreaccount1";
  o.container = "tfstate";
  o.transport = std::make_shared<nic::fuzz::OneResponseTransport>(nic::fuzz::ResponseFromBytes(data, size));
  o.retry.policy.max_attempts = 1;
  nic::azurerm::BlobClient client(o);
  (void)client.GetProperties("prod.tfstate");
  (void)client.Get("prod.tfstate", "lease");
  nic::azurerm::PutOptions put;
  put.if_match = "\"0x1\"";
  (void)client.Put("prod.tfstate", "{}", put);
  nic::azurerm::LeaseRequest lease;
  (void)client.Lease("prod.tfstate", lease);
  (void)client.Snapshot("prod.tfstate", "", "");
  (void)client.CreateContainer();
  (void)nic::azurerm::Base64Decode(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
