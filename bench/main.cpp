// keel_bench's main: registers the per-operation and pool benchmarks in an order
// that makes their ratios fair on a noisy machine. Contenders of one workload on one
// backend run back to back (so they share the machine's state of the moment); the
// workloads, and the contenders within each, are shuffled with KEEL_BENCH_SEED
// (bench/run_ops.py passes a new seed per repetition). Without a seed the order is
// the fixed one the files add them in. The bulk load registers itself (bulk_bench.cpp).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ops_common.hpp"

int main(int argc, char** argv) {
  using keel::bench::ops::Entry;
  std::vector<Entry> entries;
  keel::bench::ops::add_raw_and_keel(entries);
  keel::bench::ops::add_soci(entries);

  std::vector<std::vector<Entry>> groups;
  std::map<std::pair<std::string, keel::Backend>, std::size_t> index;
  for (Entry& e : entries) {
    auto [it, fresh] = index.try_emplace({e.workload, e.backend}, groups.size());
    if (fresh) groups.emplace_back();
    groups[it->second].push_back(std::move(e));
  }
  if (const char* seed = std::getenv("KEEL_BENCH_SEED")) {
    std::mt19937_64 rng(std::strtoull(seed, nullptr, 10));
    std::shuffle(groups.begin(), groups.end(), rng);
    for (auto& g : groups) std::shuffle(g.begin(), g.end(), rng);
  }
  for (const auto& group : groups) {
    for (const Entry& e : group) {
      // Wall time, also to size the runs: a round trip to PostgreSQL costs the
      // client little CPU, and CPU time would stretch a run many times past min_time.
      auto* b = benchmark::RegisterBenchmark(e.name().c_str(), e.run)->UseRealTime();
      if (e.threaded) b->Threads(1)->Threads(2)->Threads(8);
    }
  }

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // The SQLite files fresh_sqlite_path() named for this process (support.hpp).
  for (const char* stem : {"keel-ops-bench", "keel-bulk-bench"}) {
    for (const char* tail : {"", "-wal", "-shm"}) {
      std::error_code ignored;
      std::filesystem::remove(std::filesystem::temp_directory_path() /
                                  fmt::format("{}-{}.db{}", stem, ::getpid(), tail),
                              ignored);
    }
  }
  return 0;
}
