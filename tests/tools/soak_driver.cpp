// nic_soak_driver: one process of the fault soak (tests/py/test_fault_soak.py runs 16 of them).
//
//   nic_soak_driver seed   --backend TYPE --backend-config k=v ... --history DB
//   nic_soak_driver cycles --backend TYPE --backend-config k=v ... --history DB --journal FILE
//                          --cycles N --result FILE [--lock-timeout SECONDS]
//   nic_soak_driver verify --backend TYPE --backend-config k=v ... --history DB
//
// `seed` creates the Azure container if needed and writes serial 1 (deploy_count 1). `cycles`
// runs full lock/read/modify/write/unlock cycles through the engine's StateManager (the path
// every nic command takes) and writes a JSON result: the serials it committed, its failures by
// error code, and the faults the test hook injected (NIC_TEST_FAULTS, see fault_transport.h).
// `verify` prints the stored state and history as JSON, read without faults.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/azurerm/azurerm_backend.h"
#include "nic/auth.h"
#include "nic/backend.h"
#include "nic/env.h"
#include "nic/fault_transport.h"
#include "nic/history.h"
#include "nic/state.h"
#include "nic/state_manager.h"
#include "tests/support/soak.h"

namespace nic {
namespace {

struct Args {
  std::string mode;
  BackendConfig backend;
  std::string history, journal, result;
  int cycles = 1;
  int64_t lock_timeout_micros = 600LL * 1000000;
};

int Usage(const std::string& why) {
  std::fprintf(stderr, "nic_soak_driver: %s\nusage: nic_soak_driver seed|cycles|verify --backend TYPE "
               "[--backend-config k=v]... --history DB [--journal FILE --cycles N --result FILE --lock-timeout S]\n",
               why.c_str());
  return 4;
}

bool Parse(int argc, char** argv, Args* a, std::string* err) {
  if (argc < 2) {
    *err = "missing mode";
    return false;
  }
  a->mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) {
      *err = k + " needs a value";
      return false;
    }
    std::string v = argv[++i];
    if (k == "--backend") a->backend.type = v;
    else if (k == "--backend-config") {
      auto eq = v.find('=');
      if (eq == std::string::npos) {
        *err = "--backend-config takes key=value, not " + v;
        return false;
      }
      a->backend.values[v.substr(0, eq)] = v.substr(eq + 1);
    } else if (k == "--history") a->history = v;
    else if (k == "--journal") a->journal = v;
    else if (k == "--result") a->result = v;
    else if (k == "--cycles") a->cycles = std::atoi(v.c_str());
    else if (k == "--lock-timeout") a->lock_timeout_micros = std::atoll(v.c_str()) * 1000000;
    else {
      *err = "unknown flag " + k;
      return false;
    }
  }
  return true;
}

Status Seed(const Args& a) {
  if (a.backend.type == "azurerm") {
    NIC_ASSIGN_OR_RETURN(AzurermBackendOptions o, AzurermBackend::ResolveOptions(a.backend, auth::ProcessEnv()));
    azurerm::BlobClient client(o.client);
    NIC_RETURN_IF_ERROR(client.CreateContainer());
  }
  NIC_ASSIGN_OR_RETURN(auto backend, OpenBackend(a.backend));
  NIC_ASSIGN_OR_RETURN(auto history, HistoryDb::Open(a.history));
  StateManagerOptions opts;
  opts.history = history.get();
  StateManager m(backend.get(), opts);
  NIC_RETURN_IF_ERROR(m.Lock("soak seed").status());
  StateDocument d = StateDocument::NewEmpty("aws", "soak", "us-west-2", Env::Default()->NowMicros());
  d.metadata.deploy_count = 1;
  NIC_RETURN_IF_ERROR(m.Persist(d, "soak seed"));
  return m.Unlock();
}

int Cycles(const Args& a) {
  nlohmann::json out;
  out["pid"] = ::getpid();
  out["committed"] = nlohmann::json::array();
  std::map<std::string, int> failures;
  std::vector<std::string> messages;
  int failed = 0;
  for (int c = 0; c < a.cycles; ++c) {
    // A fresh backend per cycle, as each nic command opens its own.
    auto backend = OpenBackend(a.backend);
    Status st = backend.ok() ? Status::OK() : backend.status();
    uint64_t serial = 0;
    if (st.ok()) {
      st = testing::SoakCycle(backend->get(), a.history, a.journal, a.lock_timeout_micros, /*create_if_missing=*/false,
                              &serial);
    }
    if (serial != 0) out["committed"].push_back(serial);  // Persist succeeded, whatever followed
    if (!st.ok()) {
      ++failed;
      failures[ErrorCodeName(st.code())]++;
      if (messages.size() < 5) messages.push_back(st.ToString());
    }
  }
  http::EnvFaultTotals t = http::EnvFaultTotalsSoFar();
  out["failed"] = failed;
  out["failures"] = failures;
  out["messages"] = messages;
  out["requests"] = t.requests;
  out["injected"] = t.injected;
  out["faults"] = t.by_kind;
  std::ofstream f(a.result);
  f << out.dump() << "\n";
  return f.good() ? 0 : 1;
}

int Verify(const Args& a) {
  nlohmann::json out;
  auto backend = OpenBackend(a.backend);
  if (!backend.ok()) {
    std::fprintf(stderr, "%s\n", backend.status().ToString().c_str());
    return 1;
  }
  auto blob = (*backend)->ReadState();
  if (!blob.ok() || !blob->exists) {
    std::fprintf(stderr, "no state: %s\n", blob.status().ToString().c_str());
    return 1;
  }
  // Parsing checks the checksum and the whole document: a torn write fails here.
  auto doc = ParseStateDocument(blob->bytes, (*backend)->Location());
  out["parses"] = doc.ok();
  out["parse_error"] = doc.ok() ? "" : doc.status().ToString();
  if (doc.ok()) {
    out["serial"] = doc->serial;
    out["deploy_count"] = doc->metadata.deploy_count;
  }
  auto lock = (*backend)->CurrentLock();
  out["locked"] = !lock.ok() || lock->has_value();
  if (lock.ok() && lock->has_value()) out["lock_id"] = (**lock).id;
  auto history = HistoryDb::Open(a.history);
  if (history.ok() && doc.ok()) {
    auto versions = (*history)->ListVersions(doc->lineage, 100000);
    nlohmann::json serials = nlohmann::json::array();
    if (versions.ok()) {
      for (const auto& v : *versions) serials.push_back(v.serial);
    }
    out["history_serials"] = serials;
    auto top = (*history)->GetVersion(doc->lineage, static_cast<int64_t>(doc->serial));
    out["history_top_matches"] = top.ok() && top->document == blob->bytes;
    // Every recorded version is a whole document whose deploy_count equals its serial.
    int bad = 0;
    if (versions.ok()) {
      for (const auto& v : *versions) {
        auto full = (*history)->GetVersion(doc->lineage, v.serial);
        auto d = full.ok() ? ParseStateDocument(full->document, "history") : Result<StateDocument>(full.status());
        if (!d.ok() || d->metadata.deploy_count != v.serial || static_cast<int64_t>(d->serial) != v.serial) ++bad;
      }
    }
    out["history_bad_versions"] = bad;
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace
}  // namespace nic

int main(int argc, char** argv) {
  nic::Args a;
  std::string err;
  if (!nic::Parse(argc, argv, &a, &err)) return nic::Usage(err);
  if (a.history.empty()) return nic::Usage("--history is required");
  if (a.mode == "seed") {
    nic::Status st = nic::Seed(a);
    if (!st.ok()) std::fprintf(stderr, "seed: %s\n", st.ToString().c_str());
    return st.ok() ? 0 : 1;
  }
  if (a.mode == "cycles") {
    if (a.journal.empty() || a.result.empty()) return nic::Usage("cycles needs --journal and --result");
    return nic::Cycles(a);
  }
  if (a.mode == "verify") return nic::Verify(a);
  return nic::Usage("unknown mode " + a.mode);
}
