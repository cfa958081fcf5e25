// Workload 2 of the benchmarks: a bulk load of narrow rows (id, name of 16
// characters, value, flag) into an empty table in one transaction, through keel's
// Connection::bulk_insert against the raw C APIs doing the same work: sqlite3
// with one prepared INSERT reused for every row; libpq COPY in text and in binary
// format (binary is the floor keel is measured against). Each iteration is one
// whole load; the table is recreated before it, outside the timing.
// KEEL_BENCH_ROWS sets the number of rows (default 1,000,000).
#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <array>
#include <bit>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "keel/keel.hpp"
#include "support.hpp"

namespace {

std::int64_t rows_to_load() {
  static const std::int64_t n = [] {
    const char* env = std::getenv("KEEL_BENCH_ROWS");
    return env ? std::max<std::int64_t>(1, std::atoll(env)) : std::int64_t{1000000};
  }();
  return n;
}

using keel::bench::pg_url;

std::string sqlite_path() {
  static const std::string path = keel::bench::fresh_sqlite_path("keel-bulk-bench");
  return path;
}

keel::Config config_for(keel::Backend b) { return keel::bench::config_for(b, sqlite_path()); }

constexpr const char* kCreate =
    "DROP TABLE IF EXISTS bulk_items;"
    "CREATE TABLE bulk_items (id bigint NOT NULL, name text NOT NULL, value double precision, "
    "flag boolean)";

// The row generator every contender shares: "name-" and 11 digits, a value, a flag.
struct Generated {
  char name[16];
  double value;
  bool flag;
};
inline void generate(std::int64_t i, Generated& g) {
  std::memcpy(g.name, "name-", 5);
  std::uint64_t x = static_cast<std::uint64_t>(i) * 2654435761u % 100000000000u;
  for (int k = 15; k >= 5; --k) {
    g.name[k] = static_cast<char>('0' + x % 10);
    x /= 10;
  }
  g.value = static_cast<double>(i) * 0.25;
  g.flag = (i & 1) != 0;
}

void recreate_table(keel::Backend b) { keel::connect(config_for(b))->execute_script(kCreate); }

void finish_counters(benchmark::State& state) {
  state.counters["rows"] = static_cast<double>(rows_to_load());
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(rows_to_load()), benchmark::Counter::kIsRate);
}

// ---- SQLite -------------------------------------------------------------------

void check_sqlite(int rc, sqlite3* db) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
}

void BM_BulkLoad_RawSqlite(benchmark::State& state) {
  const std::int64_t n = rows_to_load();
  for (auto _ : state) {
    state.PauseTiming();
    recreate_table(keel::Backend::sqlite);
    sqlite3* db = nullptr;
    sqlite3_open_v2(sqlite_path().c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
    check_sqlite(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", nullptr,
                              nullptr, nullptr),
                 db);
    state.ResumeTiming();
    check_sqlite(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db);
    sqlite3_stmt* st = nullptr;
    check_sqlite(sqlite3_prepare_v2(db,
                                    "INSERT INTO bulk_items (id, name, value, flag) "
                                    "VALUES (?, ?, ?, ?)",
                                    -1, &st, nullptr),
                 db);
    Generated g;
    for (std::int64_t i = 1; i <= n; ++i) {
      generate(i, g);
      sqlite3_bind_int64(st, 1, i);
      sqlite3_bind_text(st, 2, g.name, sizeof g.name, SQLITE_STATIC);
      sqlite3_bind_double(st, 3, g.value);
      sqlite3_bind_int(st, 4, g.flag ? 1 : 0);
      check_sqlite(sqlite3_step(st), db);
      sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    check_sqlite(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db);
    state.PauseTiming();
    sqlite3_close(db);
    state.ResumeTiming();
  }
  finish_counters(state);
}

// keel: the loop an application writes, one reused row of Values.
void bulk_keel(benchmark::State& state, keel::Backend b) {
  const std::int64_t n = rows_to_load();
  for (auto _ : state) {
    state.PauseTiming();
    recreate_table(b);
    auto c = keel::connect(config_for(b));
    state.ResumeTiming();
    auto w = c->bulk_insert("bulk_items", {"id", "name", "value", "flag"});
    std::array<keel::Value, 4> row;
    Generated g;
    for (std::int64_t i = 1; i <= n; ++i) {
      generate(i, g);
      row[0] = i;
      row[1] = std::string_view(g.name, sizeof g.name);
      row[2] = g.value;
      row[3] = g.flag;
      w->add(row);
    }
    if (w->finish() != n) throw std::runtime_error("bulk insert lost rows");
    state.PauseTiming();
    c.reset();
    state.ResumeTiming();
  }
  finish_counters(state);
}

void BM_BulkLoad_Keel_Sqlite(benchmark::State& s) { bulk_keel(s, keel::Backend::sqlite); }
void BM_BulkLoad_Keel_Postgresql(benchmark::State& s) { bulk_keel(s, keel::Backend::postgresql); }

// ---- PostgreSQL -----------------------------------------------------------------

constexpr std::size_t kChunk = 128 * 1024;

void check_pg(PGresult* r, PGconn* conn, ExecStatusType want) {
  bool ok = PQresultStatus(r) == want;
  PQclear(r);
  if (!ok) throw std::runtime_error(PQerrorMessage(conn));
}

void put(PGconn* conn, std::string& buf) {
  if (PQputCopyData(conn, buf.data(), static_cast<int>(buf.size())) != 1)
    throw std::runtime_error(PQerrorMessage(conn));
  buf.clear();
}

template <class Encode>
void raw_copy(benchmark::State& state, const char* options, Encode encode, bool binary) {
  const std::int64_t n = rows_to_load();
  for (auto _ : state) {
    state.PauseTiming();
    recreate_table(keel::Backend::postgresql);
    PGconn* conn = PQconnectdb(pg_url().c_str());
    if (PQstatus(conn) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn));
    state.ResumeTiming();
    check_pg(PQexec(conn, "BEGIN"), conn, PGRES_COMMAND_OK);
    check_pg(PQexec(conn, fmt::format("COPY bulk_items (id, name, value, flag) FROM STDIN{}",
                                      options)
                              .c_str()),
             conn, PGRES_COPY_IN);
    std::string buf;
    buf.reserve(kChunk + 4096);
    if (binary) {
      buf.append("PGCOPY\n\377\r\n\0", 11);
      buf.append(8, '\0');
    }
    Generated g;
    for (std::int64_t i = 1; i <= n; ++i) {
      generate(i, g);
      encode(buf, i, g);
      if (buf.size() >= kChunk) put(conn, buf);
    }
    if (binary) buf.append("\xFF\xFF", 2);
    put(conn, buf);
    if (PQputCopyEnd(conn, nullptr) != 1) throw std::runtime_error(PQerrorMessage(conn));
    check_pg(PQgetResult(conn), conn, PGRES_COMMAND_OK);
    while (PGresult* r = PQgetResult(conn)) PQclear(r);
    check_pg(PQexec(conn, "COMMIT"), conn, PGRES_COMMAND_OK);
    state.PauseTiming();
    PQfinish(conn);
    state.ResumeTiming();
  }
  finish_counters(state);
}

void BM_BulkLoad_RawLibpqCopyText(benchmark::State& state) {
  raw_copy(
      state, "",
      [](std::string& buf, std::int64_t id, const Generated& g) {
        char num[32];
        auto end = std::to_chars(num, num + sizeof num, id).ptr;
        buf.append(num, end);
        buf += '\t';
        buf.append(g.name, sizeof g.name);
        buf += '\t';
        end = std::to_chars(num, num + sizeof num, g.value).ptr;
        buf.append(num, end);
        buf += g.flag ? "\tt\n" : "\tf\n";
      },
      false);
}

void append32(std::string& buf, std::uint32_t v) {
  v = __builtin_bswap32(v);
  buf.append(reinterpret_cast<const char*>(&v), 4);
}
void append64(std::string& buf, std::uint64_t v) {
  v = __builtin_bswap64(v);
  buf.append(reinterpret_cast<const char*>(&v), 8);
}

void BM_BulkLoad_RawLibpqCopyBinary(benchmark::State& state) {
  raw_copy(
      state, " (FORMAT binary)",
      [](std::string& buf, std::int64_t id, const Generated& g) {
        buf.append("\0\4", 2);
        append32(buf, 8);
        append64(buf, static_cast<std::uint64_t>(id));
        append32(buf, sizeof g.name);
        buf.append(g.name, sizeof g.name);
        append32(buf, 8);
        append64(buf, std::bit_cast<std::uint64_t>(g.value));
        append32(buf, 1);
        buf += static_cast<char>(g.flag ? 1 : 0);
      },
      true);
}

}  // namespace

// One load per iteration; repetitions are interleaved by scripts/run-bench.
BENCHMARK(BM_BulkLoad_RawSqlite)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BulkLoad_Keel_Sqlite)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BulkLoad_RawLibpqCopyText)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BulkLoad_RawLibpqCopyBinary)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BulkLoad_Keel_Postgresql)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
