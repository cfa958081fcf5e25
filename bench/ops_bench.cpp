// Per-operation cost of keel against the raw C APIs it wraps, in one run.
//
// Each workload (point SELECT by key, single-row INSERT in autocommit and inside
// one open transaction, UPSERT, 100-row range scan) runs on the same tables and
// data (ops_common.hpp) as: the raw C API (sqlite3 with prepared, reused
// statements; libpq with PQprepare/PQexecPrepared), keel through a held
// Connection, and keel through Database (pool acquire included in every
// operation). soci_bench.cpp and python/sqlalchemy_ops.py add the peers.
// Every contender reads every column of every row into a native value.
// bench/run_ops.py interleaves the contenders and turns medians into ratios.
#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <charconv>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <type_traits>
#include <vector>

#include "ops_common.hpp"

namespace {

using keel::Backend;
using namespace keel::bench::ops;

// ---- raw sqlite3 ----------------------------------------------------------------

struct RawSqlite {
  sqlite3* db = nullptr;
  RawSqlite() {
    prepare(Backend::sqlite);
    if (sqlite3_open_v2(sqlite_path().c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
      throw std::runtime_error(sqlite3_errmsg(db));
    exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000");
  }
  ~RawSqlite() { sqlite3_close(db); }
  void exec(const char* sql) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
      throw std::runtime_error(sqlite3_errmsg(db));
  }
  sqlite3_stmt* prepare_stmt(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK)
      throw std::runtime_error(sqlite3_errmsg(db));
    return st;
  }
  void done(sqlite3_stmt* st, int rc) {
    if (rc != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
    sqlite3_reset(st);
  }
};

// Reads one row of (id, name, score) the way every contender does.
void read_row(sqlite3_stmt* st, std::int64_t& sum) {
  sum += sqlite3_column_int64(st, 0);
  std::string name(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)),
                   static_cast<std::size_t>(sqlite3_column_bytes(st, 1)));
  benchmark::DoNotOptimize(name);
  benchmark::DoNotOptimize(sqlite3_column_double(st, 2));
}

void BM_PointSelect_Raw_Sqlite(benchmark::State& state) {
  RawSqlite raw;
  sqlite3_stmt* st = raw.prepare_stmt(kSelect);
  std::int64_t id = 0, sum = 0;
  for (auto _ : state) {
    sqlite3_bind_int64(st, 1, id++ % kRows);
    if (sqlite3_step(st) != SQLITE_ROW) throw std::runtime_error("point select found no row");
    read_row(st, sum);
    sqlite3_reset(st);
  }
  benchmark::DoNotOptimize(sum);
  sqlite3_finalize(st);
}

void raw_sqlite_insert(benchmark::State& state, bool in_transaction) {
  reset_log(Backend::sqlite);
  RawSqlite raw;
  sqlite3_stmt* st = raw.prepare_stmt(kInsert);
  if (in_transaction) raw.exec("BEGIN IMMEDIATE");
  for (auto _ : state) {
    std::int64_t id = next_log_id();
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, kLogName, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, static_cast<double>(id) * 0.5);
    raw.done(st, sqlite3_step(st));
  }
  if (in_transaction) raw.exec("COMMIT");
  sqlite3_finalize(st);
}
void BM_InsertAutocommit_Raw_Sqlite(benchmark::State& s) { raw_sqlite_insert(s, false); }
void BM_InsertInTransaction_Raw_Sqlite(benchmark::State& s) { raw_sqlite_insert(s, true); }

void BM_Upsert_Raw_Sqlite(benchmark::State& state) {
  RawSqlite raw;
  sqlite3_stmt* st = raw.prepare_stmt(kUpsert);
  std::int64_t n = 0;
  for (auto _ : state) {
    std::int64_t id = n++ % kRows;
    std::string name = item_name(id);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
    sqlite3_bind_double(st, 3, static_cast<double>(id) * 0.5);
    raw.done(st, sqlite3_step(st));
  }
  sqlite3_finalize(st);
}

void BM_RangeScan_Raw_Sqlite(benchmark::State& state) {
  RawSqlite raw;
  sqlite3_stmt* st = raw.prepare_stmt(kScan);
  std::int64_t n = 0, sum = 0;
  for (auto _ : state) {
    std::int64_t lo = (n++ * kScanRows) % (kRows - kScanRows);
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, lo + kScanRows);
    int rows = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      read_row(st, sum);
      ++rows;
    }
    raw.done(st, rc);
    if (rows != kScanRows) throw std::runtime_error("range scan read a wrong number of rows");
  }
  benchmark::DoNotOptimize(sum);
  sqlite3_finalize(st);
}

// ---- raw libpq ------------------------------------------------------------------

struct RawPq {
  PGconn* conn = nullptr;
  RawPq() {
    prepare(Backend::postgresql);
    conn = PQconnectdb(keel::bench::pg_url().c_str());
    if (PQstatus(conn) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn));
  }
  ~RawPq() { PQfinish(conn); }
  void check(PGresult* r, ExecStatusType want) {
    bool ok = PQresultStatus(r) == want;
    PQclear(r);
    if (!ok) throw std::runtime_error(PQerrorMessage(conn));
  }
  void prepare_stmt(const char* name, const char* sql, int params) {
    check(PQprepare(conn, name, sql, params, nullptr), PGRES_COMMAND_OK);
  }
  PGresult* run(const char* name, int n, const char* const* values) {
    return PQexecPrepared(conn, name, n, values, nullptr, nullptr, 0);
  }
};

// Text parameters, as an application using libpq directly would send them.
struct Num {
  char buf[32];
  const char* set(std::int64_t v) {
    *std::to_chars(buf, buf + sizeof buf - 1, v).ptr = '\0';
    return buf;
  }
  const char* set(double v) {
    *std::to_chars(buf, buf + sizeof buf - 1, v).ptr = '\0';
    return buf;
  }
};

void read_row(PGresult* r, int i, std::int64_t& sum) {
  sum += std::strtoll(PQgetvalue(r, i, 0), nullptr, 10);
  std::string name(PQgetvalue(r, i, 1), static_cast<std::size_t>(PQgetlength(r, i, 1)));
  benchmark::DoNotOptimize(name);
  benchmark::DoNotOptimize(std::strtod(PQgetvalue(r, i, 2), nullptr));
}

void BM_PointSelect_Raw_Postgresql(benchmark::State& state) {
  RawPq raw;
  raw.prepare_stmt("sel", kSelectPq, 1);
  std::int64_t id = 0, sum = 0;
  Num key;
  for (auto _ : state) {
    const char* values[1] = {key.set(id++ % kRows)};
    PGresult* r = raw.run("sel", 1, values);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
      throw std::runtime_error("point select found no row");
    read_row(r, 0, sum);
    PQclear(r);
  }
  benchmark::DoNotOptimize(sum);
}

void raw_pq_insert(benchmark::State& state, bool in_transaction) {
  reset_log(Backend::postgresql);
  RawPq raw;
  raw.prepare_stmt("ins", kInsertPq, 3);
  if (in_transaction) raw.check(PQexec(raw.conn, "BEGIN"), PGRES_COMMAND_OK);
  Num key, score;
  for (auto _ : state) {
    std::int64_t id = next_log_id();
    const char* values[3] = {key.set(id), kLogName, score.set(static_cast<double>(id) * 0.5)};
    raw.check(raw.run("ins", 3, values), PGRES_COMMAND_OK);
  }
  if (in_transaction) raw.check(PQexec(raw.conn, "COMMIT"), PGRES_COMMAND_OK);
}
void BM_InsertAutocommit_Raw_Postgresql(benchmark::State& s) { raw_pq_insert(s, false); }
void BM_InsertInTransaction_Raw_Postgresql(benchmark::State& s) { raw_pq_insert(s, true); }

void BM_Upsert_Raw_Postgresql(benchmark::State& state) {
  RawPq raw;
  raw.prepare_stmt("ups", kUpsertPq, 3);
  Num key, score;
  std::int64_t n = 0;
  for (auto _ : state) {
    std::int64_t id = n++ % kRows;
    std::string name = item_name(id);
    const char* values[3] = {key.set(id), name.c_str(), score.set(static_cast<double>(id) * 0.5)};
    raw.check(raw.run("ups", 3, values), PGRES_COMMAND_OK);
  }
}

void BM_RangeScan_Raw_Postgresql(benchmark::State& state) {
  RawPq raw;
  raw.prepare_stmt("scan", kScanPq, 2);
  Num lo_text, hi_text;
  std::int64_t n = 0, sum = 0;
  for (auto _ : state) {
    std::int64_t lo = (n++ * kScanRows) % (kRows - kScanRows);
    const char* values[2] = {lo_text.set(lo), hi_text.set(lo + kScanRows)};
    PGresult* r = raw.run("scan", 2, values);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != kScanRows)
      throw std::runtime_error("range scan read a wrong number of rows");
    for (int i = 0; i < kScanRows; ++i) read_row(r, i, sum);
    PQclear(r);
  }
  benchmark::DoNotOptimize(sum);
}

// ---- keel: a held Connection, and Database (a pool lease per operation) ------------

void read_row(const keel::Row& row, std::int64_t& sum) {
  sum += row.get<std::int64_t>(0);
  benchmark::DoNotOptimize(row.get<std::string>(1));
  benchmark::DoNotOptimize(row.get<double>(2));
}

// The same loop body serves both: `target` is a Connection or the Database.
template <class Target>
void keel_point_select(benchmark::State& state, Target& target) {
  std::int64_t id = 0, sum = 0;
  for (auto _ : state) {
    auto row = target.query_one(kSelect, {id++ % kRows});
    if (!row) throw std::runtime_error("point select found no row");
    read_row(*row, sum);
  }
  benchmark::DoNotOptimize(sum);
}

template <class Target>
void keel_insert(benchmark::State& state, Target& target) {
  for (auto _ : state) {
    std::int64_t id = next_log_id();
    target.execute(kInsert, {id, kLogName, static_cast<double>(id) * 0.5});
  }
}

template <class Target>
void keel_upsert(benchmark::State& state, Target& target) {
  std::int64_t n = 0;
  for (auto _ : state) {
    std::int64_t id = n++ % kRows;
    target.execute(kUpsert, {id, item_name(id), static_cast<double>(id) * 0.5});
  }
}

// The scan's bounds cap it at kScanRows rows. On a PostgreSQL Connection,
// query_all() is the call for a result known to be that small (one result from the
// server instead of one per row); SQLite's rows come from the engine in-process, so
// streaming them with query() costs nothing to give up. Database has only query().
template <class Rows>
int read_scan(Rows&& rows, std::int64_t& sum) {
  int n = 0;
  for (const keel::Row& row : rows) {
    read_row(row, sum);
    ++n;
  }
  return n;
}

template <class Target>
void keel_range_scan(benchmark::State& state, Target& target) {
  std::int64_t n = 0, sum = 0;
  for (auto _ : state) {
    std::int64_t lo = (n++ * kScanRows) % (kRows - kScanRows);
    int rows = 0;
    keel::Params bounds{lo, lo + kScanRows};
    if constexpr (std::is_same_v<Target, keel::Connection>) {
      rows = target.backend() == keel::Backend::postgresql
                 ? read_scan(target.query_all(kScan, bounds), sum)
                 : read_scan(target.query(kScan, bounds), sum);
    } else {
      rows = read_scan(target.query(kScan, bounds), sum);
    }
    if (rows != kScanRows) throw std::runtime_error("range scan read a wrong number of rows");
  }
  benchmark::DoNotOptimize(sum);
}

void point_select_connection(benchmark::State& s, Backend b) {
  prepare(b);
  auto c = keel::connect(config_for(b));
  keel_point_select(s, *c);
}
void point_select_database(benchmark::State& s, Backend b) {
  prepare(b);
  keel::Database db(config_for(b));
  keel_point_select(s, db);
}
void insert_autocommit_connection(benchmark::State& s, Backend b) {
  reset_log(b);
  auto c = keel::connect(config_for(b));
  keel_insert(s, *c);
}
void insert_autocommit_database(benchmark::State& s, Backend b) {
  reset_log(b);
  keel::Database db(config_for(b));
  keel_insert(s, db);
}
void insert_in_transaction_connection(benchmark::State& s, Backend b) {
  reset_log(b);
  auto c = keel::connect(config_for(b));
  c->transaction([&] { keel_insert(s, *c); });
}
// One Database transaction around the loop: the lease is taken once, as an
// application writing a batch would.
void insert_in_transaction_database(benchmark::State& s, Backend b) {
  reset_log(b);
  keel::Database db(config_for(b));
  db.transaction([&](keel::Connection& c) { keel_insert(s, c); });
}
void upsert_connection(benchmark::State& s, Backend b) {
  prepare(b);
  auto c = keel::connect(config_for(b));
  keel_upsert(s, *c);
}
void upsert_database(benchmark::State& s, Backend b) {
  prepare(b);
  keel::Database db(config_for(b));
  keel_upsert(s, db);
}
void range_scan_connection(benchmark::State& s, Backend b) {
  prepare(b);
  auto c = keel::connect(config_for(b));
  keel_range_scan(s, *c);
}
void range_scan_database(benchmark::State& s, Backend b) {
  prepare(b);
  keel::Database db(config_for(b));
  keel_range_scan(s, db);
}

// ---- pool: acquire and release, uncontended and from 2 and 8 threads ----------------

// kPoolSize connections, no overflow; the other settings keel's defaults (pre-ping on).
std::unique_ptr<keel::Database> shared_db;

void pool_acquire(benchmark::State& state, Backend b) {
  if (state.thread_index() == 0) {
    prepare(b);
    keel::Config config = config_for(b);
    config.pool.size = kPoolSize;
    config.pool.max_overflow = 0;
    shared_db = std::make_unique<keel::Database>(config);
    { auto warm = shared_db->connection(); }
  }
  for (auto _ : state) {
    auto lease = shared_db->connection();
    benchmark::DoNotOptimize(lease.get().backend());
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    state.counters["opened"] = static_cast<double>(shared_db->pool_stats().created);
    shared_db.reset();
  }
}

}  // namespace

void keel::bench::ops::add_raw_and_keel(std::vector<Entry>& out) {
  using Fn = void (*)(benchmark::State&);
  const std::pair<const char*, std::pair<Fn, Fn>> raw[] = {
      {"PointSelect", {BM_PointSelect_Raw_Sqlite, BM_PointSelect_Raw_Postgresql}},
      {"InsertAutocommit", {BM_InsertAutocommit_Raw_Sqlite, BM_InsertAutocommit_Raw_Postgresql}},
      {"InsertInTransaction",
       {BM_InsertInTransaction_Raw_Sqlite, BM_InsertInTransaction_Raw_Postgresql}},
      {"Upsert", {BM_Upsert_Raw_Sqlite, BM_Upsert_Raw_Postgresql}},
      {"RangeScan", {BM_RangeScan_Raw_Sqlite, BM_RangeScan_Raw_Postgresql}},
  };
  for (const auto& [workload, fns] : raw) {
    out.push_back({workload, "Raw", Backend::sqlite, fns.first});
    out.push_back({workload, "Raw", Backend::postgresql, fns.second});
  }
  using KeelFn = void (*)(benchmark::State&, Backend);
  const std::tuple<const char*, KeelFn, KeelFn> keel[] = {
      {"PointSelect", point_select_connection, point_select_database},
      {"InsertAutocommit", insert_autocommit_connection, insert_autocommit_database},
      {"InsertInTransaction", insert_in_transaction_connection, insert_in_transaction_database},
      {"Upsert", upsert_connection, upsert_database},
      {"RangeScan", range_scan_connection, range_scan_database},
  };
  for (Backend b : {Backend::sqlite, Backend::postgresql}) {
    for (const auto& [workload, connection, database] : keel) {
      out.push_back({workload, "KeelConnection", b, [fn = connection, b](auto& s) { fn(s, b); }});
      out.push_back({workload, "KeelDatabase", b, [fn = database, b](auto& s) { fn(s, b); }});
    }
    out.push_back({"PoolAcquire", "Keel", b, [b](auto& s) { pool_acquire(s, b); }, true});
  }
}
