// A Transport wrapper that injects failures, for tests (like LevelDB's fault-injection Env).
//
// Deterministic for a given seed and request order: a fraction of requests fail with a 5xx,
// a 429, a connection reset, a timeout, or are delayed; the rest reach the wrapped transport.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "nic/http.h"

namespace nic::http {

enum class Fault {
  kNone,
  kServerError500,
  kBadGateway502,
  kUnavailable503,
  kGatewayTimeout504,
  kThrottle429,       // with Retry-After: 0
  kConnectionReset,   // Status kUnavailable, request maybe processed
  kConnectionRefused, // Status kUnavailable, request certainly not sent
  kTimeout,           // Status kTimeout
  kSlow,              // forwarded after `slow_delay`
  kResponseLost,      // forwarded (the server acts), then Status kUnavailable: the reply is lost
  kForbidden403,      // HTTP 403 AccessDenied (a permission revoked mid-command)
};

const char* FaultName(Fault fault);

struct FaultOptions {
  uint64_t seed = 1;
  double rate = 0.0;  // fraction of requests that get a random fault from `kinds`
  std::vector<Fault> kinds = {Fault::kUnavailable503, Fault::kThrottle429, Fault::kConnectionReset,
                              Fault::kTimeout, Fault::kServerError500};
  std::chrono::milliseconds slow_delay{50};
  // Faults for the first requests, in order, before the random ones apply (kNone passes one).
  std::vector<Fault> script;
  // The first `clean_requests` requests pass untouched (after `script`): "fails from the Nth
  // request on", e.g. access denied mid-deploy with rate 1 and kinds {kForbidden403}.
  int clean_requests = 0;
  // Only requests to loopback hosts (emulators) are faulted; others pass. The env hook sets it.
  bool loopback_only = false;
};

class FaultInjectingTransport final : public Transport {
 public:
  FaultInjectingTransport(Transport* target, FaultOptions options);

  Result<Response> Send(const Request& request) override;
  int parallelism() const override { return target_->parallelism(); }
  TransportStats stats() const override { return target_->stats(); }

  int requests() const { return requests_.load(); }
  int injected() const { return injected_.load(); }
  // How many times each fault was injected.
  std::map<Fault, int> counts() const;

 private:
  Fault Next();

  Transport* target_;
  FaultOptions options_;
  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  std::deque<Fault> script_;
  std::map<Fault, int> counts_;
  int passed_clean_ = 0;
  std::atomic<int> requests_{0};
  std::atomic<int> injected_{0};
};

// ---- Test-only hook for child processes -------------------------------------------------------
//
// Tests that run the real `nic` binary (or a driver) in child processes cannot hand it a
// transport, so NewCurlTransport wraps its transport in a FaultInjectingTransport when the
// environment asks for it. This is never enabled by accident:
//   NIC_TEST_FAULTS=1        required; anything else (or unset) disables every variable below
//   NIC_FAULT_RATE=0.1       fraction of requests failed (0..1)
//   NIC_FAULT_SEED=N         seed; mixed with the PID so concurrent processes differ
//   NIC_FAULT_KINDS=503,lost comma-separated FaultName()s (default: every transient kind)
//   NIC_FAULT_AFTER=N        the first N requests of the process pass untouched
// Only requests to loopback addresses (the emulators tests start) are ever faulted, so even a
// stray NIC_TEST_FAULTS=1 cannot touch a real cloud, and a loud warning goes to stderr.
// A malformed value is reported and the hook stays off.
std::unique_ptr<Transport> WrapWithEnvFaults(std::unique_ptr<Transport> transport);

// Totals over every transport the env hook wrapped in this process (for soak drivers).
struct EnvFaultTotals {
  int64_t requests = 0;
  int64_t injected = 0;
  std::map<std::string, int64_t> by_kind;  // FaultName -> count
};
EnvFaultTotals EnvFaultTotalsSoFar();

}  // namespace nic::http
