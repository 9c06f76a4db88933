// libcurl plumbing shared by every libcurl-based Transport (the shared CurlTransport and the
// Kubernetes transport, which needs per-cluster TLS material): process-wide initialisation and
// the body/header callbacks, so the response-size cap and header parsing have one definition.
#pragma once

#include <cstddef>
#include <string>

namespace nic::http::curl_io {

// curl_global_init, once per process.
void GlobalInit();

// Where WriteBody puts a response body, and how much it may hold.
struct BodySink {
  std::string* body = nullptr;
  size_t limit = 0;
  bool exceeded = false;
};

// CURLOPT_WRITEFUNCTION with a BodySink*: appends, or aborts the transfer (CURLE_WRITE_ERROR)
// and sets `exceeded` when the body would pass the limit.
size_t WriteBody(char* data, size_t size, size_t n, void* user);

// CURLOPT_HEADERFUNCTION with a Response*: fills Response::headers, starting over at each new
// status line (100 Continue, proxy CONNECT).
size_t WriteHeader(char* data, size_t size, size_t n, void* user);

}  // namespace nic::http::curl_io
