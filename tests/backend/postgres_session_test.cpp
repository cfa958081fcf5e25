// Per-connection session set-up and the life of a session: what every new
// connection is configured with, what it does with open and abandoned results,
// and how it notices that the server has gone.
#include <gmock/gmock.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "support/backend_test.hpp"

namespace keel {
namespace {

using namespace std::chrono;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class PostgresSessionTest : public testing::BackendTest {
 protected:
  // A connection whose session settings differ from the defaults.
  std::unique_ptr<Connection> connect_with_settings() {
    Config c = config();
    c.postgresql.statement_timeout_ms = 1500;
    c.postgresql.application_name = "keel-session-test";
    c.sqlite.busy_timeout_ms = 1500;
    return keel::connect(c);
  }

  // A table of `n` integer rows 1..n.
  std::unique_ptr<Connection> with_numbers(int n) {
    auto c = connect();
    c->execute_script("CREATE TABLE nums (n integer PRIMARY KEY)");
    c->begin();
    for (int i = 1; i <= n; ++i) c->execute("INSERT INTO nums (n) VALUES (?)", {i});
    c->commit();
    return c;
  }
};

// 2024-03-01T12:34:56.5Z
const Timestamp kInstant =
    sys_days{2024y / March / 1} + hours(12) + minutes(34) + seconds(56) + milliseconds(500);

TEST_P(PostgresSessionTest, NewSessionRunsInUtcWithTheConfiguredSettings) {
  auto c = connect_with_settings();
  if (is_postgresql()) {
    EXPECT_EQ(c->query_one("SHOW TimeZone")->get<std::string>(0), "UTC");
    EXPECT_EQ(c->query_one("SHOW statement_timeout")->get<std::string>(0), "1500ms");
    EXPECT_EQ(c->query_one("SHOW application_name")->get<std::string>(0), "keel-session-test");
    EXPECT_EQ(c->query_one("SHOW client_encoding")->get<std::string>(0), "UTF8");
    // The harness's own `options` (search_path) survive next to ours.
    EXPECT_EQ(c->query_one("SELECT current_schema()")->get<std::string>(0), pg_schema());
  } else {
    // SQLite's per-connection set-up is its PRAGMAs; the PostgreSQL section is unused.
    EXPECT_EQ(c->query_one("PRAGMA busy_timeout")->get<std::int64_t>(0), 1500);
    EXPECT_EQ(c->query_one("PRAGMA foreign_keys")->get<std::int64_t>(0), 1);
  }
}

TEST_P(PostgresSessionTest, UrlParametersWinOverTheConfigSection) {
  Config c = config();
  c.postgresql.application_name = "from-config";
  c.url.params["application_name"] = "from-url";
  if (is_sqlite()) c.url.params.clear();  // SQLite URI parameters are its own
  auto conn = keel::connect(c);
  if (is_postgresql()) {
    EXPECT_EQ(conn->query_one("SHOW application_name")->get<std::string>(0), "from-url");
  } else {
    EXPECT_EQ(conn->query_one("SELECT 'from-config' AS v")->get<std::string>(0), "from-config");
  }
}

TEST_P(PostgresSessionTest, TimestampWithoutOffsetIsTheUtcInstant) {
  auto c = connect();
  c->execute_script(is_postgresql() ? "CREATE TABLE ev (id integer, at timestamptz)"
                                    : "CREATE TABLE ev (id integer, at TEXT)");
  c->execute("INSERT INTO ev (id, at) VALUES (?, ?)", {1, kInstant});
  EXPECT_EQ(c->query_one("SELECT at FROM ev WHERE id = 1")->get<Timestamp>(0), kInstant);
  if (is_postgresql()) {
    // Text without an offset means UTC because the session is UTC, whatever the
    // server's own TimeZone.
    c->execute("INSERT INTO ev (id, at) VALUES (2, '2024-03-01 12:34:56.5')");
    EXPECT_EQ(c->query_one("SELECT at FROM ev WHERE id = 2")->get<Timestamp>(0), kInstant);
    EXPECT_EQ(c->query_one("SELECT at::text FROM ev WHERE id = 2")->get<std::string>(0),
              "2024-03-01 12:34:56.5+00");
    // timestamp without time zone is read as UTC too.
    EXPECT_EQ(
        c->query_one("SELECT '2024-03-01 12:34:56.5'::timestamp")->get<Timestamp>(0), kInstant);
  } else {
    // SQLite keeps the UTC text form, ending in Z.
    EXPECT_THAT(c->query_one("SELECT at FROM ev WHERE id = 1")->get<std::string>(0),
                EndsWith("Z"));
  }
}

TEST_P(PostgresSessionTest, InfiniteDateReadsAsTextAndAsDateIsTypeErrorNamingTheColumn) {
  auto c = connect();
  c->execute_script(is_postgresql() ? "CREATE TABLE d (due date)" : "CREATE TABLE d (due TEXT)");
  c->execute("INSERT INTO d (due) VALUES ('infinity')");
  auto row = c->query_one("SELECT due FROM d");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->get<std::string>("due"), "infinity");
  try {
    row->get<Date>("due");
    ADD_FAILURE() << "no TypeError";
  } catch (const TypeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("due"));
  }
}

TEST_P(PostgresSessionTest, InfiniteRealsRoundTrip) {
  auto c = connect();
  // PostgreSQL infers a bare `?` as text, so the SQL says which type it means.
  const char* sql = is_postgresql() ? "SELECT CAST(? AS double precision) AS v" : "SELECT ? AS v";
  for (double d : {HUGE_VAL, -HUGE_VAL, 0.1, 1e308, 5e-324})
    EXPECT_EQ(c->query_one(sql, {d})->get<double>("v"), d);
  if (is_postgresql()) {
    EXPECT_TRUE(std::isnan(
        c->query_one("SELECT CAST(? AS double precision)", {std::nan("")})->get<double>(0)));
  }
}

TEST_P(PostgresSessionTest, HalfReadRowsAndAnotherStatementBothComplete) {
  auto c = with_numbers(200);
  c->execute_script("CREATE TABLE log (n integer)");
  Rows rows = c->query("SELECT n FROM nums ORDER BY n");
  std::int64_t expected = 0;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(rows.next());
    EXPECT_EQ(rows.row().get<std::int64_t>("n"), ++expected);
  }
  // Another statement and another full query while `rows` is open.
  EXPECT_EQ(c->execute("INSERT INTO log (n) SELECT n FROM nums WHERE n <= ?", {50}), 50);
  EXPECT_EQ(c->query("SELECT n FROM log").all().size(), 50u);
  // The first result is still whole.
  while (rows.next()) EXPECT_EQ(rows.row().get<std::int64_t>("n"), ++expected);
  EXPECT_EQ(expected, 200);
  EXPECT_FALSE(rows.next());
}

TEST_P(PostgresSessionTest, AbandonedLongResultLeavesTheConnectionUsable) {
  auto c = connect();
  const char* many =
      "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 200000) "
      "SELECT n FROM s";
  auto start = steady_clock::now();
  {
    Rows rows = c->query(many);
    ASSERT_TRUE(rows.next());
    EXPECT_EQ(rows.row().get<std::int64_t>(0), 1);
  }
  EXPECT_FALSE(c->in_transaction());
  EXPECT_EQ(c->query_one("SELECT 2 AS two")->get<int>("two"), 2);
  // Dropped, not read out: well under the time 200k rows take on a slow machine.
  EXPECT_LT(steady_clock::now() - start, seconds(20));
}

TEST_P(PostgresSessionTest, AbandonedResultInsideATransactionKeepsTheTransaction) {
  auto c = with_numbers(3000);
  c->begin();
  c->execute("DELETE FROM nums WHERE n > ?", {2500});
  {
    Rows rows = c->query("SELECT n FROM nums ORDER BY n");
    ASSERT_TRUE(rows.next());
  }
  // Not cancelled: a cancel would have aborted the transaction and lost the delete.
  EXPECT_TRUE(c->in_transaction());
  c->commit();
  EXPECT_EQ(c->query_one("SELECT count(*) FROM nums")->get<std::int64_t>(0), 2500);
}

TEST_P(PostgresSessionTest, TableChangedUnderACachedStatementIsReadAfresh) {
  auto c = with_numbers(2);
  const char* all = "SELECT * FROM nums ORDER BY n";
  EXPECT_EQ(c->query_one(all)->size(), 1u);
  c->execute_script("ALTER TABLE nums ADD COLUMN label text DEFAULT 'x'");
  // PostgreSQL says "cached plan must not change result type"; the driver prepares
  // again and retries. SQLite re-prepares by itself.
  auto row = c->query_one(all);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->size(), 2u);
  EXPECT_EQ(row->get<std::string>("label"), "x");
}

TEST_P(PostgresSessionTest, ServerVersionIsDottedNumbers) {
  auto c = connect();
  std::string v = c->server_version();
  EXPECT_THAT(v, MatchesRegex("[0-9]+\\.[0-9]+(\\.[0-9]+)?")) << v;
  if (is_postgresql()) {
    auto num = c->query_one("SHOW server_version_num")->get<std::string>(0);
    EXPECT_EQ(std::to_string(std::stoi(num) / 10000), v.substr(0, v.find('.')));
  }
}

TEST_P(PostgresSessionTest, TextWithNulByteMustBeBoundAsBlob) {
  auto c = connect();
  std::string with_nul("a\0b", 3);
  if (is_postgresql()) {
    try {
      c->query_one("SELECT CAST(? AS text)", {with_nul});
      ADD_FAILURE() << "no TypeError";
    } catch (const TypeError& e) {
      EXPECT_THAT(e.what(), HasSubstr("Blob"));
      EXPECT_THAT(e.what(), HasSubstr("$1"));
    }
    EXPECT_TRUE(c->ping());  // nothing was sent
  } else {
    EXPECT_EQ(c->query_one("SELECT length(CAST(? AS BLOB))", {with_nul})->get<int>(0), 3);
  }
  Blob blob{'a', 0, 'b'};
  EXPECT_EQ(c->query_one(is_postgresql() ? "SELECT CAST(? AS bytea)" : "SELECT ?", {blob})
                ->get<Blob>(0),
            blob);
}

TEST_P(PostgresSessionTest, LastInsertIdWithoutASequenceSaysToUseReturning) {
  auto c = connect();
  c->execute_script("CREATE TABLE plain (k integer)");
  c->begin();
  c->execute("INSERT INTO plain (k) VALUES (?)", {5});
  if (is_postgresql()) {
    try {
      c->last_insert_id();
      ADD_FAILURE() << "no UsageError";
    } catch (const UsageError& e) {
      EXPECT_THAT(e.what(), HasSubstr("RETURNING"));
    }
  } else {
    EXPECT_EQ(c->last_insert_id(), 1);  // SQLite's rowid
  }
  // Either way the transaction is intact.
  c->commit();
  EXPECT_EQ(c->query_one("SELECT count(*) FROM plain")->get<int>(0), 1);
}

TEST_P(PostgresSessionTest, SqlErrorLeavesTheConnectionUsable) {
  auto c = connect();
  EXPECT_THROW(c->execute("SELEC 1"), SqlError);
  EXPECT_FALSE(c->broken());
  EXPECT_TRUE(c->alive());
  EXPECT_TRUE(c->ping());
}

TEST_P(PostgresSessionTest, SessionEndedByTheServerIsNoticedWithoutARoundTrip) {
  auto c = connect();
  EXPECT_TRUE(c->alive());
  if (is_sqlite()) {
    // No server to lose: an embedded connection stays alive while open.
    EXPECT_EQ(c->query_one("SELECT 1")->get<int>(0), 1);
    EXPECT_TRUE(c->alive());
    EXPECT_FALSE(c->broken());
    return;
  }
  auto pid = c->query_one("SELECT pg_backend_pid()")->get<std::int64_t>(0);
  auto admin = connect();
  EXPECT_TRUE(admin->query_one("SELECT pg_terminate_backend(?, 5000)", {pid})->get<bool>(0));
  bool alive = true;
  for (auto until = steady_clock::now() + seconds(5); alive && steady_clock::now() < until;) {
    alive = c->alive();
    if (alive) std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_FALSE(alive);
  EXPECT_TRUE(c->broken());
  EXPECT_FALSE(c->ping());
  EXPECT_THROW(c->execute("SELECT 1"), ConnectionError);
}

TEST_P(PostgresSessionTest, StatementOnAKilledSessionIsConnectionError) {
  auto c = connect();
  if (is_sqlite()) {
    EXPECT_EQ(c->query_one("SELECT 1")->get<int>(0), 1);
    EXPECT_FALSE(c->broken());
    return;
  }
  auto pid = c->query_one("SELECT pg_backend_pid()")->get<std::int64_t>(0);
  connect()->query_one("SELECT pg_terminate_backend(?, 5000)", {pid});
  try {
    c->execute("SELECT 1");
    ADD_FAILURE() << "no ConnectionError";
  } catch (const ConnectionError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::connection);
    EXPECT_THAT(e.what(), HasSubstr(config().url.redacted()));
  }
  EXPECT_TRUE(c->broken());
}

KEEL_BACKEND_TEST_SUITE(PostgresSessionTest);

}  // namespace
}  // namespace keel
