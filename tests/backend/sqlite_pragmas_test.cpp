// Config::sqlite becomes PRAGMAs on every new SQLite connection, and never
// reaches PostgreSQL: there the same config connects as if it were not set.
#include <gmock/gmock.h>

#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "support/backend_test.hpp"

namespace keel {
namespace {

using ::testing::HasSubstr;

class SqlitePragmasTest : public testing::BackendTest {
 protected:
  static std::string pragma(Connection& c, std::string_view name) {
    auto row = c.query_one(fmt::format("PRAGMA {}", name));
    EXPECT_TRUE(row) << name;
    return row ? row->values().at(0).to_display() : std::string();
  }

  // PostgreSQL's side of every test: the connection works and is set up the
  // PostgreSQL way, whatever Config::sqlite says.
  static void expect_plain_postgresql(Connection& c) {
    EXPECT_TRUE(c.ping());
    EXPECT_EQ(c.query_one("SHOW TimeZone")->get<std::string>(0), "UTC");
  }

  static SqliteOptions exotic() {
    SqliteOptions o;
    o.journal_mode = "DELETE";  // case does not matter
    o.synchronous = "full";
    o.foreign_keys = false;
    o.busy_timeout_ms = 1234;
    o.cache_size = -4000;
    o.temp_store = "memory";
    return o;
  }
};

TEST_P(SqlitePragmasTest, DefaultsApplyToEveryNewConnection) {
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    auto c = connect();
    if (is_postgresql()) {
      expect_plain_postgresql(*c);
      continue;
    }
    EXPECT_EQ(pragma(*c, "journal_mode"), "wal");
    EXPECT_EQ(pragma(*c, "synchronous"), "1");  // NORMAL
    EXPECT_EQ(pragma(*c, "foreign_keys"), "1");
    EXPECT_EQ(pragma(*c, "busy_timeout"), "5000");
  }
}

TEST_P(SqlitePragmasTest, NonDefaultOptionsApplyToEveryNewConnection) {
  Config cfg = config();
  cfg.sqlite = exotic();
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    auto c = keel::connect(cfg);
    if (is_postgresql()) {
      expect_plain_postgresql(*c);
      continue;
    }
    EXPECT_EQ(pragma(*c, "journal_mode"), "delete");
    EXPECT_EQ(pragma(*c, "synchronous"), "2");  // FULL
    EXPECT_EQ(pragma(*c, "foreign_keys"), "0");
    EXPECT_EQ(pragma(*c, "busy_timeout"), "1234");
    EXPECT_EQ(pragma(*c, "cache_size"), "-4000");
    EXPECT_EQ(pragma(*c, "temp_store"), "2");  // MEMORY
  }
}

TEST_P(SqlitePragmasTest, ForeignKeysOffLetsAnOrphanIn) {
  Config cfg = config();
  cfg.sqlite.foreign_keys = false;
  auto c = keel::connect(cfg);
  c->execute_script(
      "CREATE TABLE p (id integer PRIMARY KEY);"
      "CREATE TABLE k (id integer PRIMARY KEY, p_id integer REFERENCES p (id))");
  if (is_sqlite()) {
    EXPECT_EQ(c->execute("INSERT INTO k (id, p_id) VALUES (1, 42)"), 1);
  } else {
    // PostgreSQL always enforces foreign keys.
    EXPECT_THROW(c->execute("INSERT INTO k (id, p_id) VALUES (1, 42)"), ConstraintError);
  }
}

TEST_P(SqlitePragmasTest, PragmaInAScriptTakesEffect) {
  auto c = connect();
  if (is_postgresql()) {
    expect_plain_postgresql(*c);
    return;
  }
  // foreign_keys is silently ignored inside a transaction, so a script that
  // sets it must not be wrapped in one at that point.
  c->execute_script("CREATE TABLE s (x integer); PRAGMA foreign_keys = OFF; INSERT INTO s VALUES (1)");
  EXPECT_EQ(pragma(*c, "foreign_keys"), "0");
  EXPECT_EQ(c->query_one("SELECT count(*) AS n FROM s")->get<int>("n"), 1);
}

TEST_P(SqlitePragmasTest, InvalidPragmaValueIsConfigErrorNamingTheKey) {
  Config cfg = config();
  cfg.sqlite.journal_mode = "wal; DROP TABLE x";
  if (is_postgresql()) {
    expect_plain_postgresql(*keel::connect(cfg));
    return;
  }
  try {
    keel::connect(cfg);
    FAIL() << "connected with journal_mode " << cfg.sqlite.journal_mode;
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("journal_mode"));
    EXPECT_THAT(e.what(), HasSubstr("wal; DROP TABLE x"));
  }
  cfg = config();
  cfg.sqlite.synchronous = "sometimes";
  EXPECT_THROW(keel::connect(cfg), ConfigError);
}

TEST_P(SqlitePragmasTest, MemoryDatabaseNeedsNoFile) {
  Config cfg = config();
  if (is_sqlite()) cfg.url = parse_url("sqlite:///:memory:");
  auto c = keel::connect(cfg);
  c->execute_script("CREATE TABLE m (x integer)");
  EXPECT_EQ(c->execute("INSERT INTO m (x) VALUES (1), (2)"), 2);
  if (is_sqlite()) {
    // WAL needs a file; an in-memory database keeps its own journal mode.
    EXPECT_EQ(pragma(*c, "journal_mode"), "memory");
    // Each connection to :memory: is a database of its own.
    EXPECT_THROW(keel::connect(cfg)->query_one("SELECT x FROM m"), SqlError);
  } else {
    expect_plain_postgresql(*c);
  }
}

TEST_P(SqlitePragmasTest, MissingParentDirectoryIsCreated) {
  Config cfg = config();
  auto file = temp_dir() / "nested" / "deeper" / "app.db";
  if (is_sqlite()) cfg.url = parse_url("sqlite:///" + file.string());
  auto c = keel::connect(cfg);
  c->execute_script("CREATE TABLE d (x integer)");
  if (is_sqlite()) {
    EXPECT_TRUE(std::filesystem::exists(file));
  } else {
    EXPECT_FALSE(std::filesystem::exists(file.parent_path()));
    expect_plain_postgresql(*c);
  }
}

TEST_P(SqlitePragmasTest, UrlParametersReachSqlite) {
  connect()->execute_script("CREATE TABLE r (x integer); INSERT INTO r (x) VALUES (7)");
  Config cfg = config();
  if (is_sqlite()) cfg.url.params["mode"] = "ro";
  auto c = keel::connect(cfg);
  EXPECT_EQ(c->query_one("SELECT x FROM r")->get<int>("x"), 7);
  if (is_sqlite()) {
    // mode=ro: reads work, writes are refused by SQLite itself.
    EXPECT_THROW(c->execute("INSERT INTO r (x) VALUES (8)"), DatabaseError);
    c->transaction([&] { EXPECT_EQ(c->query_one("SELECT x FROM r")->get<int>("x"), 7); });
  } else {
    expect_plain_postgresql(*c);
  }
}

TEST_P(SqlitePragmasTest, WalCheckpointTruncatesTheLog) {
  auto c = connect();
  c->execute_script("CREATE TABLE w (x integer)");
  for (int i = 0; i < 50; ++i) c->execute("INSERT INTO w (x) VALUES (?)", {i});
  c->wal_checkpoint(CheckpointMode::truncate);
  c->wal_checkpoint();  // passive
  if (is_sqlite()) {
    auto wal = config().url.path + "-wal";
    ASSERT_TRUE(std::filesystem::exists(wal));
    EXPECT_EQ(std::filesystem::file_size(wal), 0u);
  } else {
    expect_plain_postgresql(*c);  // a no-op there
  }
  EXPECT_EQ(c->query_one("SELECT count(*) AS n FROM w")->get<int>("n"), 50);
}

TEST_P(SqlitePragmasTest, ServerVersionIsTheLibraryVersion) {
  auto c = connect();
  auto version = c->server_version();
  if (is_sqlite()) {
    EXPECT_EQ(version, c->query_one("SELECT sqlite_version() AS v")->get<std::string>("v"));
  } else {
    EXPECT_THAT(version, ::testing::MatchesRegex("[0-9]+\\.[0-9]+.*"));
  }
}

KEEL_BACKEND_TEST_SUITE(SqlitePragmasTest);

}  // namespace
}  // namespace keel
