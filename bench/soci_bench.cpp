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
#include <optional>
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

// A held session; the statement, prepared once in each subclass's constructor,
// binds the members it reads and writes.
class SociOp : public Contender {
 public:
  explicit SociOp(Backend b) : backend_(b) {
    prepare(b);
    open_session(sql_, b);
  }
  void slice(const std::function<void()>& timed) override {
    timed();
    end_slice();
  }

 protected:
  // On SQLite, SOCI resets a statement that returned a row only at its next
  // execute, so between operations its session holds a read transaction open. Left
  // open while the other contenders of keel_bench --paired take their turn, that
  // reader changes what their reads cost (point SELECT by the others: 1.2 µs instead
  // of the 1.8 µs each takes alone), so every slice ends with the statement reset,
  // untimed. Its own operations are as before: each resets the previous one's.
  void end_slice() {
    if (backend_ == Backend::sqlite)
      sqlite_api::sqlite3_reset(
          static_cast<soci::sqlite3_statement_backend*>(st_->get_backend())->stmt_);
  }
  Backend backend_;
  soci::session sql_;
  // Reset by each subclass's destructor, before the variables it binds go.
  std::optional<soci::statement> st_;
  long long n_ = 0, sum_ = 0;
};

class SociPointSelect final : public SociOp {
 public:
  explicit SociPointSelect(Backend b) : SociOp(b) {
    st_.emplace((sql_.prepare << kSelectSoci, soci::use(id_), soci::into(rid_),
                 soci::into(name_), soci::into(score_)));
  }
  ~SociPointSelect() override { st_.reset(); }
  void ops(std::int64_t count) override {
    for (std::int64_t i = 0; i < count; ++i) {
      id_ = n_++ % kRows;
      if (!st_->execute(true)) throw std::runtime_error("point select found no row");
      sum_ += rid_;
      benchmark::DoNotOptimize(name_);
      benchmark::DoNotOptimize(score_);
    }
    benchmark::DoNotOptimize(sum_);
  }

 private:
  long long id_ = 0, rid_ = 0;
  std::string name_;
  double score_ = 0;
};

class SociInsert final : public SociOp {
 public:
  SociInsert(Backend b, bool in_transaction)
      : SociOp((reset_log(b), b)), in_transaction_(in_transaction) {
    st_.emplace((sql_.prepare << kInsertSoci, soci::use(id_), soci::use(name_),
                 soci::use(score_)));
  }
  void slice(const std::function<void()>& timed) override {
    if (in_transaction_) sql_.begin();
    timed();
    end_slice();
    if (in_transaction_) sql_.commit();
  }
  ~SociInsert() override { st_.reset(); }
  void ops(std::int64_t count) override {
    for (std::int64_t i = 0; i < count; ++i) {
      id_ = next_log_id();
      score_ = static_cast<double>(id_) * 0.5;
      st_->execute(true);
    }
  }

 private:
  bool in_transaction_;
  long long id_ = 0;
  std::string name_ = kLogName;
  double score_ = 0;
};

class SociUpsert final : public SociOp {
 public:
  explicit SociUpsert(Backend b) : SociOp(b) {
    st_.emplace((sql_.prepare << kUpsertSoci, soci::use(id_), soci::use(name_),
                 soci::use(score_)));
  }
  ~SociUpsert() override { st_.reset(); }
  void ops(std::int64_t count) override {
    for (std::int64_t i = 0; i < count; ++i) {
      id_ = n_++ % kRows;
      name_ = item_name(id_);
      score_ = static_cast<double>(id_) * 0.5;
      st_->execute(true);
    }
  }

 private:
  long long id_ = 0;
  std::string name_;
  double score_ = 0;
};

class SociRangeScan final : public SociOp {
 public:
  explicit SociRangeScan(Backend b) : SociOp(b) {
    st_.emplace((sql_.prepare << kScanSoci, soci::use(lo_), soci::use(hi_), soci::into(ids_),
                 soci::into(names_), soci::into(scores_)));
  }
  ~SociRangeScan() override { st_.reset(); }
  void ops(std::int64_t count) override {
    for (std::int64_t i = 0; i < count; ++i) {
      lo_ = (n_++ * kScanRows) % (kRows - kScanRows);
      hi_ = lo_ + kScanRows;
      // A bulk fetch fills as many rows as the vectors hold and shrinks them to fit.
      ids_.resize(kScanRows);
      names_.resize(kScanRows);
      scores_.resize(kScanRows);
      st_->execute(true);
      if (ids_.size() != static_cast<std::size_t>(kScanRows))
        throw std::runtime_error("range scan read a wrong number of rows");
      for (std::size_t j = 0; j < ids_.size(); ++j) {
        sum_ += ids_[j];
        benchmark::DoNotOptimize(names_[j]);
        benchmark::DoNotOptimize(scores_[j]);
      }
    }
    benchmark::DoNotOptimize(sum_);
  }

 private:
  long long lo_ = 0, hi_ = 0;
  std::vector<long long> ids_ = std::vector<long long>(kScanRows);
  std::vector<std::string> names_ = std::vector<std::string>(kScanRows);
  std::vector<double> scores_ = std::vector<double>(kScanRows);
};

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
  for (Backend b : {Backend::sqlite, Backend::postgresql}) {
    auto add = [&](const char* workload, std::function<std::unique_ptr<Contender>()> make) {
      out.push_back({workload, "Soci", b, std::move(make), {}});
    };
    add("PointSelect", [b] { return std::make_unique<SociPointSelect>(b); });
    add("InsertAutocommit", [b] { return std::make_unique<SociInsert>(b, false); });
    add("InsertInTransaction", [b] { return std::make_unique<SociInsert>(b, true); });
    add("Upsert", [b] { return std::make_unique<SociUpsert>(b); });
    add("RangeScan", [b] { return std::make_unique<SociRangeScan>(b); });
    out.push_back({"PoolAcquire", "Soci", b, {}, [b](auto& s) { pool_acquire(s, b); }, true});
  }
}
