// bench/ops_common.hpp — the schema, data and SQL every per-operation contender
// shares (keel, the raw C APIs, SOCI; bench/python/sqlalchemy_ops.py mirrors it).
//
// bench_items holds kRows rows (id, "item-<id>", id * 0.5) read by the point
// SELECT and range scan and rewritten (to the same values) by the UPSERT;
// bench_log receives the single-row INSERTs and is emptied before each INSERT
// benchmark, so no contender pays for a table another one grew.
#pragma once

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "keel/keel.hpp"
#include "support.hpp"

namespace keel::bench::ops {

constexpr int kRows = 10000;
constexpr int kScanRows = 100;
// The pool workload's pools, keel's, SOCI's and SQLAlchemy's alike: this many
// connections and no overflow, so 8 threads measure the pool's hand-over rather
// than opening overflow connections (SOCI's pool has no overflow to compare).
constexpr int kPoolSize = 8;
// The text every INSERT writes beside its id and score.
constexpr const char* kLogName = "a log entry of 24 chars";

// keel's placeholders; SOCI's and libpq's spellings follow each statement.
constexpr const char* kSelect = "SELECT id, name, score FROM bench_items WHERE id = ?";
constexpr const char* kInsert = "INSERT INTO bench_log (id, name, score) VALUES (?, ?, ?)";
constexpr const char* kUpsert =
    "INSERT INTO bench_items (id, name, score) VALUES (?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, score = excluded.score";
constexpr const char* kScan =
    "SELECT id, name, score FROM bench_items WHERE id >= ? AND id < ? ORDER BY id";

constexpr const char* kSelectPq = "SELECT id, name, score FROM bench_items WHERE id = $1";
constexpr const char* kInsertPq = "INSERT INTO bench_log (id, name, score) VALUES ($1, $2, $3)";
constexpr const char* kUpsertPq =
    "INSERT INTO bench_items (id, name, score) VALUES ($1, $2, $3) "
    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, score = excluded.score";
constexpr const char* kScanPq =
    "SELECT id, name, score FROM bench_items WHERE id >= $1 AND id < $2 ORDER BY id";

constexpr const char* kSelectSoci = "SELECT id, name, score FROM bench_items WHERE id = :id";
constexpr const char* kInsertSoci =
    "INSERT INTO bench_log (id, name, score) VALUES (:id, :name, :score)";
constexpr const char* kUpsertSoci =
    "INSERT INTO bench_items (id, name, score) VALUES (:id, :name, :score) "
    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, score = excluded.score";
constexpr const char* kScanSoci =
    "SELECT id, name, score FROM bench_items WHERE id >= :lo AND id < :hi ORDER BY id";

inline const std::string& sqlite_path() {
  static const std::string path = fresh_sqlite_path("keel-ops-bench");
  return path;
}

inline Config config_for(Backend b) { return bench::config_for(b, sqlite_path()); }

inline const char* suffix(Backend b) { return b == Backend::sqlite ? "Sqlite" : "Postgresql"; }

// The name bench_items holds for `id`; an UPSERT writes the same.
inline std::string item_name(std::int64_t id) { return "item-" + std::to_string(id); }

// Creates and fills both tables once per backend and process (the file is WAL).
inline void prepare(Backend b) {
  static bool done[2] = {false, false};
  if (done[static_cast<int>(b)]) return;
  auto c = connect(config_for(b));
  c->execute_script(
      "DROP TABLE IF EXISTS bench_items;"
      "DROP TABLE IF EXISTS bench_log;"
      "CREATE TABLE bench_items (id bigint PRIMARY KEY, name text NOT NULL, "
      "score double precision);"
      "CREATE TABLE bench_log (id bigint PRIMARY KEY, name text NOT NULL, "
      "score double precision)");
  c->transaction([&] {
    for (int i = 0; i < kRows; ++i) c->execute(kUpsert, {i, item_name(i), i * 0.5});
  });
  done[static_cast<int>(b)] = true;
}

// Empties bench_log before an INSERT benchmark (outside the timing).
inline void reset_log(Backend b) {
  prepare(b);
  connect(config_for(b))
      ->execute_script(b == Backend::sqlite ? "DELETE FROM bench_log" : "TRUNCATE bench_log");
}

// Keys for bench_log, fresh for every INSERT in this process.
inline std::int64_t next_log_id() {
  static std::atomic<std::int64_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed);
}

// One contender of one per-operation workload, its state (connection or session
// open, statements prepared, counters) set up by its constructor, before any timing.
// ops(n) does the next n operations and nothing else; slice(timed) runs timed(),
// which calls ops(), inside what a run of operations needs around it untimed (the
// open transaction of INSERT in one transaction). Google Benchmark runs one slice
// around its whole timing loop; bench/main.cpp's paired mode runs many short ones,
// the contenders of a workload taking turns.
class Contender {
 public:
  virtual ~Contender() = default;
  virtual void ops(std::int64_t n) = 0;
  virtual void slice(const std::function<void()>& timed) { timed(); }
};

// One contender doing one workload on one backend; bench/main.cpp registers them.
// A per-operation entry has `make`; the pool workload (threaded) has `run`.
struct Entry {
  std::string workload;   // PointSelect, InsertAutocommit, …, PoolAcquire
  std::string contender;  // Raw, KeelConnection, KeelDatabase, Keel, Soci
  Backend backend;
  std::function<std::unique_ptr<Contender>()> make;
  std::function<void(benchmark::State&)> run;
  bool threaded = false;  // runs from 1, 2 and 8 threads
  std::string name() const { return "BM_" + workload + "_" + contender + "_" + suffix(backend); }
};
// The raw C APIs' and keel's entries (ops_bench.cpp), SOCI's (soci_bench.cpp).
void add_raw_and_keel(std::vector<Entry>& out);
void add_soci(std::vector<Entry>& out);

}  // namespace keel::bench::ops
