#include "nic/fault_transport.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <sstream>
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
    case Fault::kResponseLost: return "lost";
    case Fault::kForbidden403: return "403";
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
  } else if (passed_clean_ < options_.clean_requests) {
    ++passed_clean_;
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
  if (options_.loopback_only) {
    auto url = ParseUrl(request.url);
    if (!url.ok() || !IsLoopbackHost(url->host)) return target_->Send(request);
  }
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
    case Fault::kForbidden403: return synth(403, "AccessDenied");
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
    case Fault::kResponseLost: {
      auto sent = target_->Send(request);
      if (!sent.ok()) return sent;
      return Status::Unavailable(where + "connection reset after the request was sent (response lost, injected)");
    }
    case Fault::kNone:
      break;
  }
  return target_->Send(request);
}

// ---- the env hook -----------------------------------------------------------------------------

namespace {

// Counts of every env-wrapped transport, live or gone, for EnvFaultTotalsSoFar.
struct EnvFaultRegistry {
  std::mutex mu;
  std::set<const FaultInjectingTransport*> live;
  EnvFaultTotals gone;
};

EnvFaultRegistry& Registry() {
  static EnvFaultRegistry* r = new EnvFaultRegistry();  // never destroyed: used at exit
  return *r;
}

void AddCounts(EnvFaultTotals* t, const FaultInjectingTransport& f) {
  t->requests += f.requests();
  t->injected += f.injected();
  for (const auto& [fault, n] : f.counts()) t->by_kind[FaultName(fault)] += n;
}

// Owns the wrapped transport; the fault layer sits between NIC and it.
class EnvFaultTransport final : public Transport {
 public:
  EnvFaultTransport(std::unique_ptr<Transport> inner, FaultOptions options)
      : inner_(std::move(inner)), faults_(inner_.get(), std::move(options)) {
    std::lock_guard<std::mutex> lock(Registry().mu);
    Registry().live.insert(&faults_);
  }
  ~EnvFaultTransport() override {
    std::lock_guard<std::mutex> lock(Registry().mu);
    Registry().live.erase(&faults_);
    AddCounts(&Registry().gone, faults_);
  }
  Result<Response> Send(const Request& request) override { return faults_.Send(request); }
  int parallelism() const override { return inner_->parallelism(); }
  TransportStats stats() const override { return inner_->stats(); }

 private:
  std::unique_ptr<Transport> inner_;
  FaultInjectingTransport faults_;
};

const std::vector<Fault>& AllTransientKinds() {
  static const std::vector<Fault> k = {Fault::kServerError500, Fault::kBadGateway502, Fault::kUnavailable503,
                                       Fault::kGatewayTimeout504, Fault::kThrottle429, Fault::kConnectionReset,
                                       Fault::kConnectionRefused, Fault::kTimeout, Fault::kSlow, Fault::kResponseLost};
  return k;
}

std::optional<Fault> FaultByName(const std::string& name) {
  for (Fault f : AllTransientKinds()) {
    if (name == FaultName(f)) return f;
  }
  if (name == FaultName(Fault::kForbidden403)) return Fault::kForbidden403;
  return std::nullopt;
}

// Parses the NIC_FAULT_* variables; nullopt (with a message on stderr) when one is malformed.
std::optional<FaultOptions> OptionsFromEnv() {
  auto get = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  auto bad = [](const std::string& what) {
    std::fprintf(stderr, "NIC_TEST_FAULTS=1 ignored: %s\n", what.c_str());
    return std::nullopt;
  };
  FaultOptions o;
  o.loopback_only = true;
  o.kinds = AllTransientKinds();
  o.rate = 0.1;
  if (std::string r = get("NIC_FAULT_RATE"); !r.empty()) {
    char* end = nullptr;
    o.rate = std::strtod(r.c_str(), &end);
    if (*end != '\0' || o.rate < 0 || o.rate > 1) return bad("NIC_FAULT_RATE must be a number from 0 to 1, not \"" + r + "\"");
  }
  uint64_t seed = 1;
  if (std::string s = get("NIC_FAULT_SEED"); !s.empty()) {
    char* end = nullptr;
    seed = std::strtoull(s.c_str(), &end, 10);
    if (*end != '\0') return bad("NIC_FAULT_SEED must be a whole number, not \"" + s + "\"");
  }
  static std::atomic<uint64_t> transports{0};
  o.seed = seed * 1000003u + static_cast<uint64_t>(::getpid()) * 7919u + transports++;
  if (std::string a = get("NIC_FAULT_AFTER"); !a.empty()) {
    char* end = nullptr;
    long n = std::strtol(a.c_str(), &end, 10);
    if (*end != '\0' || n < 0) return bad("NIC_FAULT_AFTER must be a whole number, not \"" + a + "\"");
    o.clean_requests = static_cast<int>(n);
  }
  if (std::string k = get("NIC_FAULT_KINDS"); !k.empty()) {
    o.kinds.clear();
    std::stringstream in(k);
    std::string item;
    while (std::getline(in, item, ',')) {
      auto f = FaultByName(item);
      if (!f) return bad("NIC_FAULT_KINDS: unknown fault \"" + item + "\" (known: 500,502,503,504,429,reset,refused,timeout,slow,lost,403)");
      o.kinds.push_back(*f);
    }
  }
  return o;
}

}  // namespace

std::unique_ptr<Transport> WrapWithEnvFaults(std::unique_ptr<Transport> transport) {
  const char* on = std::getenv("NIC_TEST_FAULTS");
  if (on == nullptr || std::string(on) != "1") return transport;
  std::optional<FaultOptions> o = OptionsFromEnv();
  if (!o) return transport;
  static std::atomic<bool> warned{false};
  if (!warned.exchange(true)) {
    std::string kinds;
    for (Fault f : o->kinds) kinds += std::string(kinds.empty() ? "" : ",") + FaultName(f);
    std::fprintf(stderr,
                 "WARNING: NIC_TEST_FAULTS=1: this process fails %.0f%%%s of its HTTP requests to loopback endpoints ON "
                 "PURPOSE (%s). This is a test hook; unset NIC_TEST_FAULTS unless you are testing NIC.\n",
                 o->rate * 100, o->clean_requests ? (" (after the first " + std::to_string(o->clean_requests) + ")").c_str() : "",
                 kinds.c_str());
    // The figures at exit, so a test can tell how much was injected into a child process.
    std::atexit([] {
      EnvFaultTotals t = EnvFaultTotalsSoFar();
      std::string kinds;
      for (const auto& [k, n] : t.by_kind) kinds += " " + k + "=" + std::to_string(n);
      std::fprintf(stderr, "NIC_TEST_FAULTS: %lld of %lld loopback requests failed by injection%s\n",
                   static_cast<long long>(t.injected), static_cast<long long>(t.requests), kinds.c_str());
    });
  }
  return std::make_unique<EnvFaultTransport>(std::move(transport), std::move(*o));
}

EnvFaultTotals EnvFaultTotalsSoFar() {
  std::lock_guard<std::mutex> lock(Registry().mu);
  EnvFaultTotals t = Registry().gone;
  for (const FaultInjectingTransport* f : Registry().live) AddCounts(&t, *f);
  return t;
}

}  // namespace nic::http
