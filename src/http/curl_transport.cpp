// libcurl Transport: a pool of easy handles that share one DNS cache, TLS session cache and
// connection cache (so keep-alive connections are reused across threads), and a semaphore that
// bounds how many requests are in flight.
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <semaphore>
#include <vector>

#include "nic/fault_transport.h"
#include "nic/http.h"
#include "nic/log.h"
#include "src/http/curl_io.h"

namespace nic::http {
namespace {

// Metadata services are plain http by design and reachable only from inside the instance.
bool IsMetadataHost(std::string_view host) {
  return host == "169.254.169.254" || host == "fd00:ec2::254" || host == "metadata.google.internal" ||
         host == "169.254.170.2";
}

std::string EnvOr(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(TransportOptions options)
      : options_(std::move(options)), slots_(std::max(1, options_.parallelism)) {
    curl_io::GlobalInit();
    if (options_.parallelism < 1) options_.parallelism = 1;
    if (options_.ca_bundle.empty()) options_.ca_bundle = EnvOr("SSL_CERT_FILE");
    if (options_.ca_bundle.empty()) options_.ca_bundle = EnvOr("CURL_CA_BUNDLE");
    ca_dir_ = EnvOr("SSL_CERT_DIR");
    share_ = curl_share_init();
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &CurlTransport::Lock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &CurlTransport::Unlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    if (options_.allow_insecure_http) {
      Log(LogLevel::kWarn,
          "plain http is allowed to non-loopback endpoints (insecure transport flag): credentials "
          "and state will cross the network unencrypted");
    }
  }

  ~CurlTransport() override {
    for (CURL* h : idle_) curl_easy_cleanup(h);
    curl_share_cleanup(share_);
  }

  int parallelism() const override { return options_.parallelism; }

  TransportStats stats() const override {
    TransportStats st;
    st.requests = requests_.load();
    st.connections_opened = connections_.load();
    st.max_in_flight = max_in_flight_.load();
    return st;
  }

  Result<Response> Send(const Request& request) override {
    NIC_ASSIGN_OR_RETURN(Url url, ParseUrl(request.url));
    bool loopback = IsLoopbackHost(url.host);
    if (url.scheme == "http" && !loopback && !IsMetadataHost(url.host) && !options_.allow_insecure_http) {
      return Status::Refused(DescribeRequest(request) +
                             ": plain http to a non-loopback host is refused; use https (or the "
                             "insecure-transport flag for a trusted test network)");
    }
    slots_.acquire();
    int now_in_flight = ++in_flight_;
    for (int seen = max_in_flight_.load(); now_in_flight > seen && !max_in_flight_.compare_exchange_weak(seen, now_in_flight);) {
    }
    CURL* h = Acquire();
    Response resp;
    auto start = std::chrono::steady_clock::now();
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_slist* hdrs = nullptr;

    curl_easy_setopt(h, CURLOPT_SHARE, share_);
    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    // The shared connection cache keeps at most this many idle connections; libcurl's default
    // (5) is below --parallelism and would close and reopen connections under load.
    curl_easy_setopt(h, CURLOPT_MAXCONNECTS, static_cast<long>(std::max(10, 2 * options_.parallelism)));
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_bundle.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_bundle.c_str());
    if (!ca_dir_.empty()) curl_easy_setopt(h, CURLOPT_CAPATH, ca_dir_.c_str());
    // A proxy cannot reach our loopback; never send local emulator traffic through one.
    if (loopback) curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    auto total = request.timeout.count() > 0 ? request.timeout : options_.total_timeout;
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(total.count()));
    curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_io::BodySink sink{&resp.body, options_.max_response_bytes};
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &curl_io::WriteBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    // Refuses a declared Content-Length above the limit before reading the body.
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options_.max_response_bytes));
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &curl_io::WriteHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp);

    if (request.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (request.method == "GET" && request.body.empty()) {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    }
    for (const auto& [name, value] : request.headers.entries()) {
      // "Name;" is libcurl's spelling of a header with an empty value.
      std::string line = value.empty() ? name + ";" : name + ": " + value;
      hdrs = curl_slist_append(hdrs, line.c_str());
    }
    // libcurl would otherwise add "Content-Type: application/x-www-form-urlencoded" to every
    // body (moto then stores S3 objects empty) and "Expect: 100-continue" to large ones.
    if (!request.headers.Has("Content-Type")) hdrs = curl_slist_append(hdrs, "Content-Type:");
    if (!request.headers.Has("Expect")) hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    long new_connections = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &new_connections);
    curl_slist_free_all(hdrs);
    Release(h);
    --in_flight_;
    slots_.release();
    ++requests_;
    connections_ += new_connections;

    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    if (rc != CURLE_OK) {
      Status st = rc == CURLE_FILESIZE_EXCEEDED || (rc == CURLE_WRITE_ERROR && sink.exceeded)
                      ? ResponseTooLarge(request, resp.headers, options_.max_response_bytes)
                      : MapCurlError(request, rc, errbuf);
      if (LogEnabled(LogLevel::kDebug)) {
        Log(LogLevel::kDebug, "http: " + DescribeRequest(request) + " failed after " + std::to_string(ms) +
                                  " ms: " + st.message() + " [request headers: " + RedactHeaders(request.headers) + "]");
      }
      return st;
    }
    resp.status = static_cast<int>(status);
    if (LogEnabled(LogLevel::kDebug)) {
      Log(LogLevel::kDebug, "http: " + DescribeRequest(request) + " -> " + std::to_string(resp.status) + " in " +
                                std::to_string(ms) + " ms (sent " + std::to_string(request.body.size()) +
                                " B, received " + std::to_string(resp.body.size()) + " B) [request headers: " +
                                RedactHeaders(request.headers) + "] [response headers: " +
                                RedactHeaders(resp.headers) + "]");
    }
    return resp;
  }

 private:
  static Status MapCurlError(const Request& request, CURLcode rc, const char* errbuf) {
    std::string what = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    std::string prefix = DescribeRequest(request) + ": ";
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT:
        return Status::Timeout(prefix + "timed out (" + what + ")");
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
      case CURLE_COULDNT_CONNECT: {
        Status st = Status::Unavailable(prefix + "could not connect (" + what + ")");
        // Nothing reached the server, so even a non-idempotent request may be sent again.
        st.WithDetail("request_sent", "false");
        return st;
      }
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CACERT_BADFILE: {
        Status st = Status::Unavailable(prefix + "TLS failure (" + what +
                                        "); set SSL_CERT_FILE to a CA bundle if a proxy or private CA is in use");
        st.WithDetail("retryable", "false");
        return st;
      }
      default:
        return Status::Unavailable(prefix + "connection failed (" + what + ")");
    }
  }

  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        // Reset clears options but keeps the handle's connections and caches.
        curl_easy_reset(h);
        return h;
      }
    }
    return curl_easy_init();
  }

  void Release(CURL* h) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    idle_.push_back(h);
  }

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<CurlTransport*>(user)->share_mu_[static_cast<size_t>(data) % kLocks].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<CurlTransport*>(user)->share_mu_[static_cast<size_t>(data) % kLocks].unlock();
  }

  static constexpr size_t kLocks = CURL_LOCK_DATA_LAST;
  TransportOptions options_;
  std::string ca_dir_;
  std::counting_semaphore<> slots_;
  CURLSH* share_ = nullptr;
  std::mutex share_mu_[kLocks];
  std::mutex pool_mu_;
  std::vector<CURL*> idle_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  std::atomic<int64_t> requests_{0};
  std::atomic<int64_t> connections_{0};
};

}  // namespace

std::unique_ptr<Transport> NewCurlTransport(const TransportOptions& options) {
  // Off unless NIC_TEST_FAULTS=1 (tests of child processes; see fault_transport.h).
  return WrapWithEnvFaults(std::make_unique<CurlTransport>(options));
}

}  // namespace nic::http
