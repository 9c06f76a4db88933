#include "nic/fault_transport.h"

#include <thread>

namespace nic::http {

const char* FaultName(Fault fault) {
  switch (fault) {
    case Fault::kNone: return "none";
    case Fault::kServerError500: return "500";
    case Fault::kBadGateway502: return "502";
    case Fault::kUnavailable503: return "503";
    case Fault::kGatewayTimeout504: return "504";
    case Fault::kThrottle429: return "429";
    case Fault::kConnectionReset: return "reset";
    case Fault::kConnectionRefused: return "refused";
    case Fault::kTimeout: return "timeout";
    case Fault::kSlow: return "slow";
  }
  return "?";
}

FaultInjectingTransport::FaultInjectingTransport(Transport* target, FaultOptions options)
    : target_(target), options_(std::move(options)), rng_(options_.seed),
      script_(options_.script.begin(), options_.script.end()) {}

std::map<Fault, int> FaultInjectingTransport::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

Fault FaultInjectingTransport::Next() {
  std::lock_guard<std::mutex> lock(mu_);
  Fault f = Fault::kNone;
  if (!script_.empty()) {
    f = script_.front();
    script_.pop_front();
  } else if (options_.rate > 0 && !options_.kinds.empty()) {
    std::uniform_real_distribution<double> u(0.0, 1.0);
    if (u(rng_) < options_.rate) {
      std::uniform_int_distribution<size_t> pick(0, options_.kinds.size() - 1);
      f = options_.kinds[pick(rng_)];
    }
  }
  if (f != Fault::kNone) counts_[f]++;
  return f;
}

Result<Response> FaultInjectingTransport::Send(const Request& request) {
  requests_++;
  Fault f = Next();
  if (f == Fault::kNone) return target_->Send(request);
  injected_++;
  auto synth = [&](int status, const char* code) {
    Response r;
    r.status = status;
    r.headers.Set("Content-Type", "application/xml");
    r.headers.Set("x-nic-injected-fault", FaultName(f));
    if (status == 429) r.headers.Set("Retry-After", "0");
    r.body = std::string("<Error><Code>") + code + "</Code><Message>injected fault</Message></Error>";
    return r;
  };
  std::string where = DescribeRequest(request) + ": ";
  switch (f) {
    case Fault::kServerError500: return synth(500, "InternalError");
    case Fault::kBadGateway502: return synth(502, "BadGateway");
    case Fault::kUnavailable503: return synth(503, "ServiceUnavailable");
    case Fault::kGatewayTimeout504: return synth(504, "GatewayTimeout");
    case Fault::kThrottle429: return synth(429, "Throttling");
    case Fault::kConnectionReset:
      return Status::Unavailable(where + "connection reset by peer (injected)");
    case Fault::kConnectionRefused: {
      Status st = Status::Unavailable(where + "could not connect (injected)");
      st.WithDetail("request_sent", "false");
      return st;
    }
    case Fault::kTimeout:
      return Status::Timeout(where + "timed out (injected)");
    case Fault::kSlow:
      std::this_thread::sleep_for(options_.slow_delay);
      return target_->Send(request);
    case Fault::kNone:
      break;
  }
  return target_->Send(request);
}

}  // namespace nic::http
