// Per-operation cost of keel against the raw C APIs it wraps, in one run.
//
// Each workload (point SELECT by key, single-row INSERT in autocommit and inside
// one open transaction, UPSERT, 100-row range scan) runs on the same tables and
// data (ops_common.hpp) as: the raw C API (sqlite3 with prepared, reused
// statements; libpq with PQprepare/PQexecPrepared), keel through a held
// Connection, and keel through Database (pool acquire included in every
// operation). soci_bench.cpp and python/sqlalchemy_ops.py add the peers.
// Every contender reads every column of every row into a native value. Each is a
// Contender (ops_common.hpp): set up once, then ops(n) for Google Benchmark's loop or
// for the short slices of keel_bench --paired (bench/main.cpp).
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

// The sqlite3 contenders: one prepared statement, reused.
class RawSqliteOp : public Contender {
 public:
  explicit RawSqliteOp(const char* sql) : st_(raw_.prepare_stmt(sql)) {}
  ~RawSqliteOp() override { sqlite3_finalize(st_); }

 protected:
  RawSqlite raw_;
  sqlite3_stmt* st_;
  std::int64_t n_ = 0, sum_ = 0;
};

class RawSqlitePointSelect final : public RawSqliteOp {
 public:
  RawSqlitePointSelect() : RawSqliteOp(kSelect) {}
  void ops(std::int64_t count) override {
    for (std::int64_t i = 0; i < count; ++i) {
      sqlite3_bind_int64(st_, 1, n_++ % kRows);
      if (sqlite3_step(st_) != SQLITE_ROW) throw std::runtime_error("point select found no row");
      read_row(st_, sum_);
      sqlite3_reset(st_);
    }
    benchmark::DoNotOptimize(sum_);
  }
};

class RawSqliteInsert final : public RawSqliteOp {
 public:
  explicit RawSqliteInsert(bool in_transaction)
      : RawSqliteOp((reset_log(Backend::sqlite), kInsert)), in_transaction_(in_transaction) {}
  void slice(const std::function<void()>& timed) override {
    if (in_transaction_) raw_.exec("BEGIN IMMEDIATE");
    timed();
    if (in_transaction_) raw_.exec("COMMIT");
  }
  void ops(std::int64_t count) override {
    for (std::int64_t i = 0; i < count; ++i) {
      std::int64_t id = next_log_id();
      sqlite3_bind_int64(st_, 1, id);
      sqlite3_bind_text(st_, 2, kLogName, -1, SQLITE_STATIC);
      sqlite3_bind_double(st_, 3, static_cast<double>(id) * 0.5);
      raw_.done(st_, sqlite3_step(st_));
    }
  }

 private:
  bool in_transaction_;
};

class RawSqliteUpsert final : public RawSqliteOp {
 public:
  RawSqliteUpsert() : RawSqliteOp(kUpsert) {}
  void ops(std::int64_t count) override {
    for (std::int64_t i = 0; i < count; ++i) {
      std::int64_t id = n_++ % kRows;
      std::string name = item_name(id);
      sqlite3_bind_int64(st_, 1, id);
      sqlite3_bind_text(st_, 2, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
      sqlite3_bind_double(st_, 3, static_cast<double>(id) * 0.5);
      raw_.done(st_, sqlite3_step(st_));
    }
  }
};

class RawSqliteRangeScan final : public RawSqliteOp {
 public:
  RawSqliteRangeScan() : RawSqliteOp(kScan) {}
  void ops(std::int64_t count) override {
    for (std::int64_t i = 0; i < count; ++i) {
      std::int64_t lo = (n_++ * kScanRows) % (kRows - kScanRows);
      sqlite3_bind_int64(st_, 1, lo);
      sqlite3_bind_int64(st_, 2, lo + kScanRows);
      int rows = 0, rc;
      while ((rc = sqlite3_step(st_)) == SQLITE_ROW) {
        read_row(st_, sum_);
        ++rows;
      }
      raw_.done(st_, rc);
      if (rows != kScanRows) throw std::runtime_error("range scan read a wrong number of rows");
    }
    benchmark::DoNotOptimize(sum_);
  }
};

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

// The libpq contenders: one statement prepared with PQprepare, run with
// PQexecPrepared and text parameters.
class RawPqOp : public Contender {
 public:
  RawPqOp(const char* sql, int params) { raw_.prepare_stmt("st", sql, params); }

 protected:
  PGresult* run(int n, const char* const* values) { return raw_.run("st", n, values); }
  RawPq raw_;
  Num key_, other_;
  std::int64_t n_ = 0, sum_ = 0;
};

class RawPqPointSelect final : public RawPqOp {
 public:
  RawPqPointSelect() : RawPqOp(kSelectPq, 1) {}
  void ops(std::int64_t count) override {
    for (std::int64_t i = 0; i < count; ++i) {
      const char* values[1] = {key_.set(n_++ % kRows)};
      PGresult* r = run(1, values);
      if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        throw std::runtime_error("point select found no row");
      read_row(r, 0, sum_);
      PQclear(r);
    }
    benchmark::DoNotOptimize(sum_);
  }
};

class RawPqInsert final : public RawPqOp {
 public:
  explicit RawPqInsert(bool in_transaction)
      : RawPqOp((reset_log(Backend::postgresql), kInsertPq), 3), in_transaction_(in_transaction) {}
  void slice(const std::function<void()>& timed) override {
    if (in_transaction_) raw_.check(PQexec(raw_.conn, "BEGIN"), PGRES_COMMAND_OK);
    timed();
    if (in_transaction_) raw_.check(PQexec(raw_.conn, "COMMIT"), PGRES_COMMAND_OK);
  }
  void ops(std::int64_t count) override {
    for (std::int64_t i = 0; i < count; ++i) {
      std::int64_t id = next_log_id();
      const char* values[3] = {key_.set(id), kLogName, other_.set(static_cast<double>(id) * 0.5)};
      raw_.check(run(3, values), PGRES_COMMAND_OK);
    }
  }

 private:
  bool in_transaction_;
};

class RawPqUpsert final : public RawPqOp {
 public:
  RawPqUpsert() : RawPqOp(kUpsertPq, 3) {}
  void ops(std::int64_t count) override {
    for (std::int64_t i = 0; i < count; ++i) {
      std::int64_t id = n_++ % kRows;
      std::string name = item_name(id);
      const char* values[3] = {key_.set(id), name.c_str(),
                               other_.set(static_cast<double>(id) * 0.5)};
      raw_.check(run(3, values), PGRES_COMMAND_OK);
    }
  }
};

class RawPqRangeScan final : public RawPqOp {
 public:
  RawPqRangeScan() : RawPqOp(kScanPq, 2) {}
  void ops(std::int64_t count) override {
    for (std::int64_t i = 0; i < count; ++i) {
      std::int64_t lo = (n_++ * kScanRows) % (kRows - kScanRows);
      const char* values[2] = {key_.set(lo), other_.set(lo + kScanRows)};
      PGresult* r = run(2, values);
      if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != kScanRows)
        throw std::runtime_error("range scan read a wrong number of rows");
      for (int j = 0; j < kScanRows; ++j) read_row(r, j, sum_);
      PQclear(r);
    }
    benchmark::DoNotOptimize(sum_);
  }
};

// ---- keel: a held Connection, and Database (a pool lease per operation) ------------

void read_row(const keel::Row& row, std::int64_t& sum) {
  sum += row.get<std::int64_t>(0);
  benchmark::DoNotOptimize(row.get<std::string>(1));
  benchmark::DoNotOptimize(row.get<double>(2));
}

// The keel contenders are templates over their target: a held Connection, or the
// Database (a pool lease per operation).
template <class Target>
std::unique_ptr<Target> open_target(Backend b) {
  if constexpr (std::is_same_v<Target, keel::Connection>)
    return keel::connect(config_for(b));
  else
    return std::make_unique<keel::Database>(config_for(b));
}

template <class Target>
class KeelOp : public Contender {
 public:
  explicit KeelOp(Backend b) : backend_(b), target_((prepare(b), open_target<Target>(b))) {}

 protected:
  Backend backend_;
  std::unique_ptr<Target> target_;
  std::int64_t n_ = 0, sum_ = 0;
};

template <class Target>
class KeelPointSelect final : public KeelOp<Target> {
 public:
  using KeelOp<Target>::KeelOp;
  void ops(std::int64_t count) override {
    for (std::int64_t i = 0; i < count; ++i) {
      auto row = this->target_->query_one(kSelect, {this->n_++ % kRows});
      if (!row) throw std::runtime_error("point select found no row");
      read_row(*row, this->sum_);
    }
    benchmark::DoNotOptimize(this->sum_);
  }
};

// INSERT in one transaction: on a Connection, its transaction(); on Database, one
// db.transaction around the slice, so the lease is taken once, as an application
// writing a batch would.
template <class Target>
class KeelInsert final : public KeelOp<Target> {
 public:
  KeelInsert(Backend b, bool in_transaction)
      : KeelOp<Target>((reset_log(b), b)), in_transaction_(in_transaction) {}
  void slice(const std::function<void()>& timed) override {
    if (!in_transaction_) return timed();
    if constexpr (std::is_same_v<Target, keel::Database>)
      this->target_->transaction([&](keel::Connection& c) {
        open_ = &c;
        timed();
      });
    else
      this->target_->transaction([&] {
        open_ = this->target_.get();
        timed();
      });
    open_ = nullptr;
  }
  void ops(std::int64_t count) override {
    if (open_)
      insert(*open_, count);
    else
      insert(*this->target_, count);
  }

 private:
  template <class T>
  static void insert(T& target, std::int64_t count) {
    for (std::int64_t i = 0; i < count; ++i) {
      std::int64_t id = next_log_id();
      target.execute(kInsert, {id, kLogName, static_cast<double>(id) * 0.5});
    }
  }
  bool in_transaction_;
  keel::Connection* open_ = nullptr;  // inside slice() of a transaction
};

template <class Target>
class KeelUpsert final : public KeelOp<Target> {
 public:
  using KeelOp<Target>::KeelOp;
  void ops(std::int64_t count) override {
    for (std::int64_t i = 0; i < count; ++i) {
      std::int64_t id = this->n_++ % kRows;
      this->target_->execute(kUpsert, {id, item_name(id), static_cast<double>(id) * 0.5});
    }
  }
};

// The scan's bounds cap it at kScanRows rows. On a PostgreSQL Connection,
// query_all() is the call for a result known to be that small (one result from the
// server instead of one per row); SQLite's rows come from the engine in-process, so
// streaming them with query() costs nothing to give up. The same for Database.
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
class KeelRangeScan final : public KeelOp<Target> {
 public:
  using KeelOp<Target>::KeelOp;
  void ops(std::int64_t count) override {
    Target& target = *this->target_;
    for (std::int64_t i = 0; i < count; ++i) {
      std::int64_t lo = (this->n_++ * kScanRows) % (kRows - kScanRows);
      int rows = 0;
      keel::Params bounds{lo, lo + kScanRows};
      rows = this->backend_ == keel::Backend::postgresql
                 ? read_scan(target.query_all(kScan, bounds), this->sum_)
                 : read_scan(target.query(kScan, bounds), this->sum_);
      if (rows != kScanRows) throw std::runtime_error("range scan read a wrong number of rows");
    }
    benchmark::DoNotOptimize(this->sum_);
  }
};

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
  using Make = std::function<std::unique_ptr<Contender>()>;
  auto add = [&](const char* workload, const char* contender, Backend b, Make make) {
    out.push_back({workload, contender, b, std::move(make), {}});
  };
  using S = Backend;
  add("PointSelect", "Raw", S::sqlite, [] { return std::make_unique<RawSqlitePointSelect>(); });
  add("InsertAutocommit", "Raw", S::sqlite, [] { return std::make_unique<RawSqliteInsert>(false); });
  add("InsertInTransaction", "Raw", S::sqlite,
      [] { return std::make_unique<RawSqliteInsert>(true); });
  add("Upsert", "Raw", S::sqlite, [] { return std::make_unique<RawSqliteUpsert>(); });
  add("RangeScan", "Raw", S::sqlite, [] { return std::make_unique<RawSqliteRangeScan>(); });
  add("PointSelect", "Raw", S::postgresql, [] { return std::make_unique<RawPqPointSelect>(); });
  add("InsertAutocommit", "Raw", S::postgresql, [] { return std::make_unique<RawPqInsert>(false); });
  add("InsertInTransaction", "Raw", S::postgresql,
      [] { return std::make_unique<RawPqInsert>(true); });
  add("Upsert", "Raw", S::postgresql, [] { return std::make_unique<RawPqUpsert>(); });
  add("RangeScan", "Raw", S::postgresql, [] { return std::make_unique<RawPqRangeScan>(); });

  for (Backend b : {Backend::sqlite, Backend::postgresql}) {
    auto both = [&]<template <class> class Op>(const char* workload, auto... args) {
      add(workload, "KeelConnection", b,
          [=] { return std::make_unique<Op<keel::Connection>>(b, args...); });
      add(workload, "KeelDatabase", b,
          [=] { return std::make_unique<Op<keel::Database>>(b, args...); });
    };
    both.template operator()<KeelPointSelect>("PointSelect");
    both.template operator()<KeelInsert>("InsertAutocommit", false);
    both.template operator()<KeelInsert>("InsertInTransaction", true);
    both.template operator()<KeelUpsert>("Upsert");
    both.template operator()<KeelRangeScan>("RangeScan");
    out.push_back({"PoolAcquire", "Keel", b, {}, [b](auto& s) { pool_acquire(s, b); }, true});
  }
}
