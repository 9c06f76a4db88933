#include "providers/kubernetes/kube_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <semaphore>
#include <vector>

#include "nic/log.h"
#include "src/http/curl_io.h"

namespace nic::kubeprov {
namespace {

// libcurl copies a blob when CURL_BLOB_COPY is given, so the blobs may point at our strings.
curl_blob Blob(const std::string& s) {
  curl_blob b;
  b.data = const_cast<char*>(s.data());
  b.len = s.size();
  b.flags = CURL_BLOB_COPY;
  return b;
}

class KubeTransport final : public http::Transport {
 public:
  KubeTransport(kube::Connection c, KubeTransportOptions o)
      : conn_(std::move(c)), options_(o), slots_(std::max(1, o.parallelism)) {
    http::curl_io::GlobalInit();
    if (options_.parallelism < 1) options_.parallelism = 1;
    if (!conn_.tls_server_name.empty()) {
      Log(LogLevel::kWarn, "kubeconfig cluster \"" + conn_.cluster_name + "\" sets tls-server-name \"" +
                               conn_.tls_server_name + "\", which NIC ignores; the certificate must match " + conn_.server);
    }
  }
  ~KubeTransport() override {
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }

  int parallelism() const override { return options_.parallelism; }
  http::TransportStats stats() const override {
    http::TransportStats st;
    st.requests = requests_.load();
    return st;
  }

  Result<http::Response> Send(const http::Request& request) override {
    NIC_ASSIGN_OR_RETURN(http::Url url, http::ParseUrl(request.url));
    if (url.scheme == "http" && !http::IsLoopbackHost(url.host)) {
      return Status::Refused(http::DescribeRequest(request) +
                             ": plain http to a non-loopback Kubernetes API server is refused; use https");
    }
    slots_.acquire();
    CURL* h = Acquire();
    http::Response resp;
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_slist* hdrs = nullptr;
    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (http::IsLoopbackHost(url.host)) curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    if (conn_.insecure_skip_tls_verify) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
      if (!conn_.ca_pem.empty()) {
        // The cluster CA replaces the system roots, as it does for kubectl.
        curl_blob ca = Blob(conn_.ca_pem);
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
      }
    }
    if (!conn_.client_cert_pem.empty()) {
      curl_blob cert = Blob(conn_.client_cert_pem);
      curl_blob key = Blob(conn_.client_key_pem);
      curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
      curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
      curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
    }
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    auto total = request.timeout.count() > 0 ? request.timeout : options_.total_timeout;
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(total.count()));
    curl_easy_setopt(h, CURLOPT_USERAGENT, "nic/0.1");
    http::curl_io::BodySink sink{&resp.body, options_.max_response_bytes};
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &http::curl_io::WriteBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options_.max_response_bytes));
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &http::curl_io::WriteHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp);
    if (request.method == "GET" && request.body.empty()) {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    }
    for (const auto& [name, value] : request.headers.entries()) {
      std::string line = value.empty() ? name + ";" : name + ": " + value;
      hdrs = curl_slist_append(hdrs, line.c_str());
    }
    if (!request.headers.Has("Content-Type")) hdrs = curl_slist_append(hdrs, "Content-Type:");
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    Release(h);
    slots_.release();
    ++requests_;
    if (rc == CURLE_FILESIZE_EXCEEDED || (rc == CURLE_WRITE_ERROR && sink.exceeded)) {
      return http::ResponseTooLarge(request, resp.headers, options_.max_response_bytes);
    }
    if (rc != CURLE_OK) return MapCurlError(request, rc, errbuf);
    resp.status = static_cast<int>(status);
    if (LogEnabled(LogLevel::kDebug)) {
      Log(LogLevel::kDebug, "k8s: " + http::DescribeRequest(request) + " -> " + std::to_string(resp.status));
    }
    return resp;
  }

 private:
  Status MapCurlError(const http::Request& request, CURLcode rc, const char* errbuf) const {
    std::string what = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    std::string prefix = http::DescribeRequest(request) + ": ";
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT:
        return Status::Timeout(prefix + "timed out (" + what + ")");
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_CONNECT: {
        Status st = Status::Unavailable(prefix + "could not connect to the Kubernetes API server of kubeconfig cluster \"" +
                                        conn_.cluster_name + "\" (" + what + ")");
        st.WithDetail("request_sent", "false");
        return st;
      }
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CACERT_BADFILE: {
        std::string hint = conn_.ca_pem.empty()
                               ? "the cluster has no certificate-authority(-data) in the kubeconfig, so the system trust "
                                 "store was used"
                               : "the server certificate was checked against " + conn_.ca_source;
        if (!conn_.client_cert_pem.empty()) hint += "; a client certificate of user \"" + conn_.user_name + "\" was offered";
        Status st = Status::Unavailable(prefix + "TLS failure (" + what + "); " + hint);
        st.WithDetail("retryable", "false");
        return st;
      }
      default:
        return Status::Unavailable(prefix + "connection failed (" + what + ")");
    }
  }

  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        curl_easy_reset(h);  // keeps the handle's live connection for reuse
        return h;
      }
    }
    return curl_easy_init();
  }
  void Release(CURL* h) {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(h);
  }

  kube::Connection conn_;
  KubeTransportOptions options_;
  std::counting_semaphore<> slots_;
  std::mutex mu_;
  std::vector<CURL*> idle_;
  std::atomic<int64_t> requests_{0};
};

}  // namespace

std::unique_ptr<http::Transport> NewKubeTransport(const kube::Connection& connection, const KubeTransportOptions& options) {
  return std::make_unique<KubeTransport>(connection, options);
}

}  // namespace nic::kubeprov
