// The per-operation workloads of ops_bench.cpp through SOCI (Debian's libsoci-dev,
// its sqlite3 and postgresql backends): the C++ peer a user would pick instead of
// keel. Written the way SOCI's documentation recommends for speed: statements
// prepared once and executed again with bound variables (`sql.prepare`, which is
// PQprepare on PostgreSQL), the range scan as a bulk fetch into vectors, and
// soci::connection_pool for the pool workload.
#include <benchmark/benchmark.h>
// Debian builds SOCI with SOCI_HAVE_BOOST but libsoci-dev does not depend on Boost's
// headers; only Boost.Fusion binding helpers (templates, unused here) need them.
#include <soci/soci-config.h>
#undef SOCI_HAVE_BOOST
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ops_common.hpp"

namespace {

using keel::Backend;
using namespace keel::bench::ops;

void open_session(soci::session& sql, Backend b) {
  if (b == Backend::sqlite) {
    sql.open(soci::sqlite3, "db=" + sqlite_path() + " timeout=5");
    sql << "PRAGMA journal_mode=WAL";
    sql << "PRAGMA synchronous=NORMAL";
  } else {
    // SOCI reads keyword=value pairs, not a URL.
    keel::Url u = keel::parse_url(keel::bench::pg_url());
    sql.open(soci::postgresql, fmt::format("host={} port={} dbname={} user={} password={}", u.host,
                                           u.port, u.dbname, u.user, u.password.value_or("")));
  }
}

void point_select(benchmark::State& state, Backend b) {
  prepare(b);
  soci::session sql;
  open_session(sql, b);
  long long id = 0, rid = 0, sum = 0, n = 0;
  std::string name;
  double score = 0;
  soci::statement st = (sql.prepare << kSelectSoci, soci::use(id), soci::into(rid),
                        soci::into(name), soci::into(score));
  for (auto _ : state) {
    id = n++ % kRows;
    if (!st.execute(true)) throw std::runtime_error("point select found no row");
    sum += rid;
    benchmark::DoNotOptimize(name);
    benchmark::DoNotOptimize(score);
  }
  benchmark::DoNotOptimize(sum);
}

void insert(benchmark::State& state, Backend b, bool in_transaction) {
  reset_log(b);
  soci::session sql;
  open_session(sql, b);
  long long id = 0;
  std::string name = kLogName;
  double score = 0;
  soci::statement st = (sql.prepare << kInsertSoci, soci::use(id), soci::use(name),
                        soci::use(score));
  if (in_transaction) sql.begin();
  for (auto _ : state) {
    id = next_log_id();
    score = static_cast<double>(id) * 0.5;
    st.execute(true);
  }
  if (in_transaction) sql.commit();
}
void insert_autocommit(benchmark::State& s, Backend b) { insert(s, b, false); }
void insert_in_transaction(benchmark::State& s, Backend b) { insert(s, b, true); }

void upsert(benchmark::State& state, Backend b) {
  prepare(b);
  soci::session sql;
  open_session(sql, b);
  long long id = 0, n = 0;
  std::string name;
  double score = 0;
  soci::statement st = (sql.prepare << kUpsertSoci, soci::use(id), soci::use(name),
                        soci::use(score));
  for (auto _ : state) {
    id = n++ % kRows;
    name = item_name(id);
    score = static_cast<double>(id) * 0.5;
    st.execute(true);
  }
}

void range_scan(benchmark::State& state, Backend b) {
  prepare(b);
  soci::session sql;
  open_session(sql, b);
  long long lo = 0, hi = 0, n = 0, sum = 0;
  std::vector<long long> ids(kScanRows);
  std::vector<std::string> names(kScanRows);
  std::vector<double> scores(kScanRows);
  soci::statement st = (sql.prepare << kScanSoci, soci::use(lo), soci::use(hi), soci::into(ids),
                        soci::into(names), soci::into(scores));
  for (auto _ : state) {
    lo = (n++ * kScanRows) % (kRows - kScanRows);
    hi = lo + kScanRows;
    // A bulk fetch fills as many rows as the vectors hold and shrinks them to fit.
    ids.resize(kScanRows);
    names.resize(kScanRows);
    scores.resize(kScanRows);
    st.execute(true);
    if (ids.size() != static_cast<std::size_t>(kScanRows))
      throw std::runtime_error("range scan read a wrong number of rows");
    for (std::size_t i = 0; i < ids.size(); ++i) {
      sum += ids[i];
      benchmark::DoNotOptimize(names[i]);
      benchmark::DoNotOptimize(scores[i]);
    }
  }
  benchmark::DoNotOptimize(sum);
}

// soci::connection_pool has a fixed size and no overflow: kPoolSize connections,
// as keel's and SQLAlchemy's pools are given for this workload.
std::unique_ptr<soci::connection_pool> shared_pool;

void pool_acquire(benchmark::State& state, Backend b) {
  if (state.thread_index() == 0) {
    prepare(b);
    shared_pool = std::make_unique<soci::connection_pool>(kPoolSize);
    for (int i = 0; i < kPoolSize; ++i) open_session(shared_pool->at(static_cast<std::size_t>(i)), b);
  }
  for (auto _ : state) {
    soci::session lease(*shared_pool);
    benchmark::DoNotOptimize(&lease);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) shared_pool.reset();
}

}  // namespace

void keel::bench::ops::add_soci(std::vector<Entry>& out) {
  using Fn = void (*)(benchmark::State&, Backend);
  const std::pair<const char*, Fn> workloads[] = {
      {"PointSelect", point_select},     {"InsertAutocommit", insert_autocommit},
      {"InsertInTransaction", insert_in_transaction}, {"Upsert", upsert},
      {"RangeScan", range_scan},
  };
  for (Backend b : {Backend::sqlite, Backend::postgresql}) {
    for (const auto& [workload, fn] : workloads)
      out.push_back({workload, "Soci", b, [fn = fn, b](auto& s) { fn(s, b); }});
    out.push_back({"PoolAcquire", "Soci", b, [b](auto& s) { pool_acquire(s, b); }, true});
  }
}
