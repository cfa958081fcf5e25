// Per-operation cost of keel against the raw C APIs it wraps, in one run.
//
// Each workload runs three ways on the same table and data: the raw C API
// (sqlite3 with a prepared, reused statement; libpq with PQprepare/PQexecPrepared),
// keel through a held Connection, and keel through Database (pool acquire
// included). scripts/run-bench turns the medians into ratios against raw; a ratio
// near 1.0 means keel's convenience costs nothing measurable.
#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "keel/keel.hpp"

namespace {

constexpr int kRows = 10000;

std::string sqlite_path() {
  static const std::string path = [] {
    auto p = std::filesystem::temp_directory_path() / fmt::format("keel-bench-{}.db", ::getpid());
    std::filesystem::remove(p);
    return p.string();
  }();
  return path;
}

std::string pg_url() {
  const char* url = std::getenv("KEEL_BENCH_PG_URL");
  if (!url) throw std::runtime_error("KEEL_BENCH_PG_URL is not set (scripts/run-bench sets it)");
  return url;
}

keel::Config config_for(keel::Backend b) {
  keel::Config c = keel::default_config();
  c.url = keel::parse_url(b == keel::Backend::sqlite ? "sqlite:///" + sqlite_path() : pg_url());
  return c;
}

// Creates and fills the table once per backend.
void ensure_table(keel::Backend b) {
  static bool done[2] = {false, false};
  if (done[static_cast<int>(b)]) return;
  auto c = keel::connect(config_for(b));
  c->execute_script(
      "DROP TABLE IF EXISTS bench_items;"
      "CREATE TABLE bench_items (id bigint PRIMARY KEY, name text NOT NULL, score double precision)");
  c->transaction([&] {
    for (int i = 0; i < kRows; ++i)
      c->execute("INSERT INTO bench_items (id, name, score) VALUES (?, ?, ?)",
                 {i, fmt::format("item-{}", i), i * 0.5});
  });
  done[static_cast<int>(b)] = true;
}

const char* kSelect = "SELECT id, name, score FROM bench_items WHERE id = ?";

// ---- point SELECT by primary key ---------------------------------------------

void BM_PointSelect_RawSqlite(benchmark::State& state) {
  ensure_table(keel::Backend::sqlite);
  sqlite3* db = nullptr;
  sqlite3_open_v2(sqlite_path().c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, kSelect, -1, &st, nullptr);
  std::int64_t id = 0, sum = 0;
  for (auto _ : state) {
    sqlite3_bind_int64(st, 1, id++ % kRows);
    if (sqlite3_step(st) == SQLITE_ROW) {
      sum += sqlite3_column_int64(st, 0);
      std::string name(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)),
                       sqlite3_column_bytes(st, 1));
      benchmark::DoNotOptimize(name);
      benchmark::DoNotOptimize(sqlite3_column_double(st, 2));
    }
    sqlite3_reset(st);
  }
  benchmark::DoNotOptimize(sum);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

void BM_PointSelect_RawLibpq(benchmark::State& state) {
  ensure_table(keel::Backend::postgresql);
  PGconn* conn = PQconnectdb(pg_url().c_str());
  PQclear(PQprepare(conn, "sel", "SELECT id, name, score FROM bench_items WHERE id = $1", 1,
                    nullptr));
  std::int64_t id = 0, sum = 0;
  for (auto _ : state) {
    std::string key = std::to_string(id++ % kRows);
    const char* values[1] = {key.c_str()};
    PGresult* r = PQexecPrepared(conn, "sel", 1, values, nullptr, nullptr, 0);
    if (PQntuples(r) == 1) {
      sum += std::strtoll(PQgetvalue(r, 0, 0), nullptr, 10);
      std::string name(PQgetvalue(r, 0, 1), PQgetlength(r, 0, 1));
      benchmark::DoNotOptimize(name);
      benchmark::DoNotOptimize(std::strtod(PQgetvalue(r, 0, 2), nullptr));
    }
    PQclear(r);
  }
  benchmark::DoNotOptimize(sum);
  PQfinish(conn);
}

void point_select_connection(benchmark::State& state, keel::Backend b) {
  ensure_table(b);
  auto c = keel::connect(config_for(b));
  std::int64_t id = 0, sum = 0;
  for (auto _ : state) {
    auto row = c->query_one(kSelect, {id++ % kRows});
    sum += row->get<std::int64_t>(0);
    benchmark::DoNotOptimize(row->get<std::string>(1));
    benchmark::DoNotOptimize(row->get<double>(2));
  }
  benchmark::DoNotOptimize(sum);
}

void point_select_database(benchmark::State& state, keel::Backend b) {
  ensure_table(b);
  keel::Database db(config_for(b));
  std::int64_t id = 0, sum = 0;
  for (auto _ : state) {
    auto row = db.query_one(kSelect, {id++ % kRows});
    sum += row->get<std::int64_t>(0);
    benchmark::DoNotOptimize(row->get<std::string>(1));
    benchmark::DoNotOptimize(row->get<double>(2));
  }
  benchmark::DoNotOptimize(sum);
}

void BM_PointSelect_KeelConnection_Sqlite(benchmark::State& s) {
  point_select_connection(s, keel::Backend::sqlite);
}
void BM_PointSelect_KeelDatabase_Sqlite(benchmark::State& s) {
  point_select_database(s, keel::Backend::sqlite);
}
void BM_PointSelect_KeelConnection_Postgresql(benchmark::State& s) {
  point_select_connection(s, keel::Backend::postgresql);
}
void BM_PointSelect_KeelDatabase_Postgresql(benchmark::State& s) {
  point_select_database(s, keel::Backend::postgresql);
}

// ---- pool acquire/release, uncontended ----------------------------------------

void BM_PoolAcquireRelease_Sqlite(benchmark::State& state) {
  keel::Database db(config_for(keel::Backend::sqlite));
  { auto warm = db.connection(); }
  for (auto _ : state) {
    auto lease = db.connection();
    benchmark::DoNotOptimize(lease.get().backend());
  }
}

}  // namespace

// Interleaved by registration order: raw, then keel, per backend.
BENCHMARK(BM_PointSelect_RawSqlite);
BENCHMARK(BM_PointSelect_KeelConnection_Sqlite);
BENCHMARK(BM_PointSelect_KeelDatabase_Sqlite);
BENCHMARK(BM_PointSelect_RawLibpq);
BENCHMARK(BM_PointSelect_KeelConnection_Postgresql);
BENCHMARK(BM_PointSelect_KeelDatabase_Postgresql);
BENCHMARK(BM_PoolAcquireRelease_Sqlite);

BENCHMARK_MAIN();
