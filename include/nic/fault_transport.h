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
#include <mutex>
#include <random>
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
  std::atomic<int> requests_{0};
  std::atomic<int> injected_{0};
};

}  // namespace nic::http
