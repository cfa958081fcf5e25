// keel_bench's main, in two modes.
//
// Google Benchmark (the default): registers the per-operation and pool benchmarks.
// Contenders of one workload on one backend run back to back (so they share the
// machine's state of the moment); the workloads, and the contenders within each, are
// shuffled with KEEL_BENCH_SEED (bench/run_ops.py passes a new seed per repetition).
// Without a seed the order is the fixed one the files add them in. The bulk load
// registers itself (bulk_bench.cpp).
//
// --paired [--filter=REGEX] [--rounds=N] [--slice-ms=MS] [--client-cpu=N]
// [--server-cpu=N]: the per-operation workloads with their contenders interleaved at
// a fine grain, for ratios that a noisy machine does not move. Every contender of a
// workload is set up, then warmed up alike; then, for N rounds, each runs one slice
// of the same number of operations (sized so the slowest contender's slice lasts
// about MS), in an order rotated every round and reversed every other cycle, so no
// contender always follows the same one. Each slice is timed alone (wall clock).
// With the CPUs given, this process runs on one and the PostgreSQL server's backends
// on the other (see pin_server_backends()). JSON on stdout in Google Benchmark's
// shape, one run per contender with its slice times (round_ns, in round order).
#include <benchmark/benchmark.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ops_common.hpp"

namespace {

using keel::bench::ops::Contender;
using keel::bench::ops::Entry;
using Clock = std::chrono::steady_clock;

// The nanoseconds one slice of `n` operations of `c` takes (what it does around
// them, such as BEGIN and COMMIT, untimed).
std::int64_t timed_slice(Contender& c, std::int64_t n) {
  std::int64_t ns = 0;
  c.slice([&] {
    auto t0 = Clock::now();
    c.ops(n);
    ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
  });
  return ns;
}

struct PairedOptions {
  std::string filter;
  int rounds = 24;
  double slice_ms = 20;
  int client_cpu = -1;  // the CPU this process runs on; -1: unpinned
  int server_cpu = -1;  // the CPU the PostgreSQL server's backends run on; -1: unpinned
};

bool pin(pid_t pid, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return ::sched_setaffinity(pid, sizeof set, &set) == 0;
}

// Whether a PostgreSQL backend runs on the client's core or the other one changes a
// round trip's cost several times over (on a 2-core machine, a point SELECT: 12 µs
// on the same core, 88 µs across), and the scheduler's choice for a connection tends
// to hold for seconds, so unpinned, two contenders of one workload could run many
// rounds apart at different costs. keel_bench --paired runs on one CPU and moves
// every backend of the server to another (a deployment's server does not share the
// client's core either), so every contender's round trips cost alike. Returns how
// many backends it pinned, or -1 when the server's processes may not be moved.
int pin_server_backends(keel::Backend b, int cpu) {
  auto c = keel::connect(keel::bench::ops::config_for(b));
  int pinned = 0;
  for (const keel::Row& row :
       c->query_all("SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
                    "AND datname = current_database() AND usename = current_user")) {
    if (!pin(static_cast<pid_t>(row.get<std::int64_t>(0)), cpu)) return -1;
    ++pinned;
  }
  return pinned;
}

// One workload on one backend: its contenders' slice times, round by round.
void run_paired_group(const std::vector<const Entry*>& group, const PairedOptions& opt,
                      std::vector<std::string>& json) {
  std::vector<std::unique_ptr<Contender>> cs;
  for (const Entry* e : group) cs.push_back(e->make());
  const keel::Backend backend = group.front()->backend;
  const std::size_t m = cs.size();

  // Warm-up and sizing, the same for every contender: slices of 1, 2, 4, …
  // operations until one lasts 2 ms (the first operations on a fresh connection are
  // slow), then three more of that size, the fastest of which sizes the slices (a
  // slice the scheduler or the server held up would size them too small).
  double slowest_ns_per_op = 0;
  for (auto& c : cs) {
    std::int64_t n = 1;
    while (timed_slice(*c, n) < 2'000'000) n *= 2;
    std::int64_t fastest = timed_slice(*c, n);
    for (int k = 0; k < 2; ++k) fastest = std::min(fastest, timed_slice(*c, n));
    slowest_ns_per_op = std::max(slowest_ns_per_op, static_cast<double>(fastest) / n);
  }
  // Every connection is open now (Database opens its first at its first operation).
  int pinned = 0;
  if (opt.server_cpu >= 0 && backend == keel::Backend::postgresql)
    pinned = pin_server_backends(backend, opt.server_cpu);
  const auto per_slice =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(opt.slice_ms * 1e6 / slowest_ns_per_op));
  for (auto& c : cs) timed_slice(*c, per_slice);

  std::vector<std::vector<std::int64_t>> round_ns(m);
  for (int r = 0; r < opt.rounds; ++r) {
    const std::size_t shift = static_cast<std::size_t>(r) % m;
    const bool reversed = (static_cast<std::size_t>(r) / m) % 2 == 1;
    for (std::size_t k = 0; k < m; ++k) {
      std::size_t i = (k + shift) % m;
      if (reversed) i = m - 1 - i;
      round_ns[i].push_back(timed_slice(*cs[i], per_slice));
    }
  }
  cs.clear();  // connections closed before the next workload's are opened

  for (std::size_t i = 0; i < m; ++i) {
    std::int64_t total = 0;
    std::string slices;
    for (std::int64_t ns : round_ns[i]) {
      total += ns;
      if (!slices.empty()) slices += ", ";
      slices += std::to_string(ns);
    }
    const std::int64_t ops = per_slice * opt.rounds;
    json.push_back(fmt::format(
        "  {{\"name\": \"{}\", \"run_type\": \"iteration\", \"paired\": true, "
        "\"iterations\": {}, \"real_time\": {:.3f}, \"time_unit\": \"ns\", "
        "\"ops_per_slice\": {}, \"server_backends_pinned\": {}, \"round_ns\": [{}]}}",
        group[i]->name(), ops, static_cast<double>(total) / static_cast<double>(ops), per_slice,
        pinned, slices));
  }
  std::fprintf(stderr, "keel_bench --paired: %s_%s: %d rounds of %lld operations%s\n",
               group.front()->workload.c_str(), keel::bench::ops::suffix(backend), opt.rounds,
               static_cast<long long>(per_slice),
               pinned < 0 ? " (the server's backends could not be pinned)" : "");
}

int run_paired(const std::vector<std::vector<Entry>>& groups, PairedOptions opt,
               const char* seed) {
  const std::regex filter(opt.filter.empty() ? "." : opt.filter);
  if (opt.client_cpu >= 0 && !pin(0, opt.client_cpu)) {
    std::fprintf(stderr, "keel_bench --paired: cannot run on CPU %d; runs unpinned\n",
                 opt.client_cpu);
    opt.client_cpu = -1;
  }
  std::vector<std::string> json;
  for (const auto& g : groups) {
    std::vector<const Entry*> chosen;
    for (const Entry& e : g)
      if (e.make && std::regex_search(e.name(), filter)) chosen.push_back(&e);
    if (!chosen.empty()) run_paired_group(chosen, opt, json);
  }
  std::string body;
  for (const auto& j : json) {
    if (!body.empty()) body += ",\n";
    body += j;
  }
  std::printf(
      "{\"context\": {\"mode\": \"paired\", \"rounds\": %d, \"slice_ms\": %g, "
      "\"client_cpu\": %d, \"server_cpu\": %d, \"seed\": \"%s\"},\n"
      "\"benchmarks\": [\n%s\n]}\n",
      opt.rounds, opt.slice_ms, opt.client_cpu, opt.server_cpu, seed ? seed : "", body.c_str());
  return 0;
}

// `--name=value` → value, else nullptr.
const char* flag(const char* arg, std::string_view name) {
  std::string_view a(arg);
  if (a.size() > name.size() + 3 && a.substr(0, 2) == "--" && a.substr(2, name.size()) == name &&
      a[name.size() + 2] == '=')
    return arg + name.size() + 3;
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
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
  const char* seed = std::getenv("KEEL_BENCH_SEED");
  if (seed) {
    std::mt19937_64 rng(std::strtoull(seed, nullptr, 10));
    std::shuffle(groups.begin(), groups.end(), rng);
    for (auto& g : groups) std::shuffle(g.begin(), g.end(), rng);
  }

  int status = 0;
  if (argc > 1 && std::strcmp(argv[1], "--paired") == 0) {
    PairedOptions opt;
    for (int i = 2; i < argc; ++i) {
      if (const char* f = flag(argv[i], "filter")) {
        opt.filter = f;
      } else if (const char* r = flag(argv[i], "rounds")) {
        opt.rounds = std::max(1, std::atoi(r));
      } else if (const char* ms = flag(argv[i], "slice-ms")) {
        opt.slice_ms = std::max(0.1, std::atof(ms));
      } else if (const char* cpu = flag(argv[i], "client-cpu")) {
        opt.client_cpu = std::atoi(cpu);
      } else if (const char* cpu2 = flag(argv[i], "server-cpu")) {
        opt.server_cpu = std::atoi(cpu2);
      } else {
        std::fprintf(stderr, "keel_bench --paired: unknown argument %s\n", argv[i]);
        return 1;
      }
    }
    status = run_paired(groups, opt, seed);
  } else {
    for (const auto& group : groups) {
      for (const Entry& e : group) {
        benchmark::internal::Benchmark* b = nullptr;
        if (e.make) {
          b = benchmark::RegisterBenchmark(e.name().c_str(), [make = e.make](benchmark::State& s) {
            auto c = make();
            c->slice([&] {
              for (auto _ : s) c->ops(1);
            });
          });
        } else {
          b = benchmark::RegisterBenchmark(e.name().c_str(), e.run);
        }
        // Wall time, also to size the runs: a round trip to PostgreSQL costs the
        // client little CPU, and CPU time would stretch a run many times past min_time.
        b->UseRealTime();
        if (e.threaded) b->Threads(1)->Threads(2)->Threads(8);
      }
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
  }
  // The SQLite files fresh_sqlite_path() named for this process (support.hpp).
  for (const char* stem : {"keel-ops-bench", "keel-bulk-bench"}) {
    for (const char* tail : {"", "-wal", "-shm"}) {
      std::error_code ignored;
      std::filesystem::remove(std::filesystem::temp_directory_path() /
                                  fmt::format("{}-{}.db{}", stem, ::getpid(), tail),
                              ignored);
    }
  }
  return status;
}
