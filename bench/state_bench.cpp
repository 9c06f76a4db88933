// Micro-benchmarks of the state engine: canonical serialization, parse+validate, and a full
// local-backend cycle (lock, read, write, unlock). End-to-end comparisons against named
// baselines live in bench/run.sh; these show where time goes inside one process.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "nic/backend.h"
#include "nic/env.h"
#include "nic/state.h"
#include "nic/state_manager.h"

namespace {

nic::StateDocument MakeDoc(int node_groups) {
  auto d = nic::StateDocument::NewEmpty("aws", "bench", "us-west-2", nic::Env::Default()->NowMicros());
  nlohmann::json groups = nlohmann::json::array();
  for (int i = 0; i < node_groups; ++i) {
    groups.push_back({{"name", "group-" + std::to_string(i)},
                      {"arn", "arn:aws:eks:us-west-2:123456789012:nodegroup/bench/group-" + std::to_string(i) + "/abc"},
                      {"instance_types", {"m5.xlarge"}},
                      {"scaling_config", {{"min_size", 1}, {"max_size", 5}, {"desired_size", 2}}},
                      {"labels", {{"role", "worker"}}},
                      {"imported", true}});
  }
  d.cloud["node_groups"] = groups;
  return d;
}

void BM_Serialize(benchmark::State& state) {
  auto doc = MakeDoc(static_cast<int>(state.range(0)));
  size_t bytes = 0;
  for (auto _ : state) {
    std::string s = nic::SerializeStateDocument(doc);
    bytes = s.size();
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_Serialize)->Arg(10)->Arg(1000)->Arg(10000);

void BM_ParseAndValidate(benchmark::State& state) {
  std::string s = nic::SerializeStateDocument(MakeDoc(static_cast<int>(state.range(0))));
  for (auto _ : state) {
    auto r = nic::ParseStateDocument(s, "bench");
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.size()));
}
BENCHMARK(BM_ParseAndValidate)->Arg(10)->Arg(1000)->Arg(10000);

void BM_LocalCycle(benchmark::State& state) {
  auto dir = std::filesystem::temp_directory_path() / ("nic-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  nic::BackendConfig cfg;
  cfg.values["path"] = (dir / "state.json").string();
  auto backend = nic::OpenBackend(cfg).value();
  auto doc = MakeDoc(static_cast<int>(state.range(0)));
  // bench/run.sh gives the fsync floor (bench/fsync_floor.c) the same number of bytes.
  state.counters["state_bytes"] = static_cast<double>(nic::SerializeStateDocument(doc).size());
  for (auto _ : state) {
    nic::StateManager mgr(backend.get(), {});
    if (!mgr.Lock("bench").ok()) state.SkipWithError("lock");
    auto cur = mgr.Read();
    // Moved, not copied: a command works on the document it read.
    nic::StateDocument d = cur.ok() && cur.value() ? std::move(*cur.value()) : doc;
    if (!mgr.Persist(d, "bench").ok()) state.SkipWithError("persist");
    if (!mgr.Unlock().ok()) state.SkipWithError("unlock");
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_LocalCycle)->Arg(10)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace
