// Real failures on each backend land in the same class and kind, with the
// backend's own code kept for those who need it.
#include <gmock/gmock.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "keel/instance_lock.hpp"
#include "support/backend_test.hpp"
#include "support/loopback.hpp"

namespace keel {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ErrorsTest : public testing::BackendTest {
 protected:
  std::unique_ptr<Connection> with_schema() {
    auto c = connect();
    c->execute_script(R"(
      CREATE TABLE parent (id integer PRIMARY KEY, email text UNIQUE);
      CREATE TABLE child (id integer PRIMARY KEY,
                          parent_id integer NOT NULL REFERENCES parent (id),
                          qty integer CHECK (qty > 0));
      INSERT INTO parent (id, email) VALUES (1, 'ann@example.org');
    )");
    return c;
  }

  // Runs `sql` and returns the DatabaseError it raises (a failure when none).
  template <class E = DatabaseError>
  E raised(Connection& c, std::string_view sql, const Params& params = {}) {
    try {
      c.execute(sql, params);
    } catch (const E& e) {
      return e;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "wrong exception for " << sql << ": " << e.what();
      throw;
    }
    ADD_FAILURE() << "no error from " << sql;
    return E(ErrorKind::other, "none");
  }

  // The code to compare: SQLite's extended result code or PostgreSQL's SQLSTATE.
  std::string code(const DatabaseError& e) const {
    return is_sqlite() ? std::to_string(e.native_code()) : e.sqlstate();
  }
  std::string expect_code(int sqlite, std::string_view sqlstate) const {
    return is_sqlite() ? std::to_string(sqlite) : std::string(sqlstate);
  }
};

TEST_P(ErrorsTest, DuplicateUniqueValueIsUniqueViolation) {
  auto c = with_schema();
  auto e = raised<ConstraintError>(*c, "INSERT INTO parent (id, email) VALUES (?, ?)",
                                   {2, "ann@example.org"});
  EXPECT_EQ(e.kind(), ErrorKind::unique_violation);
  EXPECT_EQ(code(e), expect_code(2067, "23505"));  // SQLITE_CONSTRAINT_UNIQUE
  EXPECT_THAT(e.what(), HasSubstr("email"));
  EXPECT_FALSE(e.retryable());
}

TEST_P(ErrorsTest, DuplicatePrimaryKeyIsUniqueViolation) {
  auto c = with_schema();
  auto e = raised<ConstraintError>(*c, "INSERT INTO parent (id, email) VALUES (1, 'x')");
  EXPECT_EQ(e.kind(), ErrorKind::unique_violation);
  EXPECT_EQ(code(e), expect_code(1555, "23505"));  // SQLITE_CONSTRAINT_PRIMARYKEY
}

TEST_P(ErrorsTest, SameCatchBlockHandlesADuplicateOnEveryBackend) {
  auto c = with_schema();
  // What application code writes, once.
  auto insert_or_report = [&](int id, std::string_view email) -> std::string {
    try {
      c->execute("INSERT INTO parent (id, email) VALUES (?, ?)", {id, email});
      return "inserted";
    } catch (const ConstraintError& e) {
      if (e.kind() == ErrorKind::unique_violation) return "duplicate";
      throw;
    }
  };
  EXPECT_EQ(insert_or_report(2, "bob@example.org"), "inserted");
  EXPECT_EQ(insert_or_report(3, "bob@example.org"), "duplicate");
  EXPECT_EQ(insert_or_report(2, "cy@example.org"), "duplicate");
  EXPECT_EQ(c->query_one("SELECT count(*) AS n FROM parent")->get<int>("n"), 2);
}

TEST_P(ErrorsTest, MissingParentIsForeignKeyViolation) {
  auto c = with_schema();  // foreign_keys=true is the default SQLite configuration
  auto e = raised<ConstraintError>(*c, "INSERT INTO child (id, parent_id, qty) VALUES (1, 99, 1)");
  EXPECT_EQ(e.kind(), ErrorKind::foreign_key_violation);
  EXPECT_EQ(code(e), expect_code(787, "23503"));  // SQLITE_CONSTRAINT_FOREIGNKEY
}

TEST_P(ErrorsTest, NullInNotNullColumnIsNotNullViolation) {
  auto c = with_schema();
  auto e = raised<ConstraintError>(*c, "INSERT INTO child (id, parent_id, qty) VALUES (?, ?, ?)",
                                   {1, nullptr, 1});
  EXPECT_EQ(e.kind(), ErrorKind::not_null_violation);
  EXPECT_EQ(code(e), expect_code(1299, "23502"));  // SQLITE_CONSTRAINT_NOTNULL
}

TEST_P(ErrorsTest, FailedCheckIsCheckViolation) {
  auto c = with_schema();
  auto e = raised<ConstraintError>(*c, "INSERT INTO child (id, parent_id, qty) VALUES (1, 1, 0)");
  EXPECT_EQ(e.kind(), ErrorKind::check_violation);
  EXPECT_EQ(code(e), expect_code(275, "23514"));  // SQLITE_CONSTRAINT_CHECK
  EXPECT_EQ(c->query_one("SELECT count(*) AS n FROM child")->get<int>("n"), 0);
}

TEST_P(ErrorsTest, BadSyntaxIsSqlErrorOfKindSyntax) {
  auto c = with_schema();
  auto e = raised<SqlError>(*c, "SELEKT id FROM parent");
  EXPECT_EQ(e.kind(), ErrorKind::syntax);
  EXPECT_EQ(code(e), expect_code(1, "42601"));
  // The message quotes the statement, so a log line says which one.
  EXPECT_THAT(e.what(), HasSubstr("SELEKT"));
}

TEST_P(ErrorsTest, MissingTableOrColumnIsUndefinedObject) {
  auto c = with_schema();
  auto table = raised<SqlError>(*c, "SELECT * FROM no_such_table");
  EXPECT_EQ(table.kind(), ErrorKind::undefined_object);
  EXPECT_EQ(code(table), expect_code(1, "42P01"));
  EXPECT_THAT(table.what(), HasSubstr("no_such_table"));

  auto column = raised<SqlError>(*c, "SELECT no_such_column FROM parent");
  EXPECT_EQ(column.kind(), ErrorKind::undefined_object);
  EXPECT_EQ(code(column), expect_code(1, "42703"));
  EXPECT_THAT(column.what(), HasSubstr("no_such_column"));
}

TEST_P(ErrorsTest, WriterBlockedPastTheLockWaitIsBusyAndRetryable) {
  auto c = with_schema();
  Config impatient = config();
  impatient.sqlite.busy_timeout_ms = 50;
  auto other = keel::connect(impatient);
  // PostgreSQL's counterpart of SQLite's busy timeout is lock_timeout.
  if (is_postgresql()) other->execute("SET lock_timeout = '50ms'");

  c->begin();  // SQLite: BEGIN IMMEDIATE takes the write lock now
  c->execute("UPDATE parent SET email = 'a@example.org' WHERE id = 1");
  auto e =
      raised<ConcurrencyError>(*other, "UPDATE parent SET email = 'b@example.org' WHERE id = 1");
  EXPECT_EQ(e.kind(), ErrorKind::busy);
  EXPECT_TRUE(e.retryable());
  EXPECT_EQ(code(e), expect_code(5, "55P03"));  // SQLITE_BUSY
  c->commit();

  // Once the holder is done, the same work succeeds.
  EXPECT_EQ(other->execute("UPDATE parent SET email = 'b@example.org' WHERE id = 1"), 1);
}

TEST_P(ErrorsTest, WriteOnAStaleSnapshotIsSerializationFailure) {
  auto c = with_schema();
  auto reader = connect();
  // SQLite: a deferred transaction's snapshot starts at its first read. PostgreSQL:
  // REPEATABLE READ refuses to update a row changed since its snapshot.
  reader->execute(is_sqlite() ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ");
  EXPECT_EQ(reader->query_one("SELECT email FROM parent WHERE id = 1")->get<std::string>("email"),
            "ann@example.org");
  EXPECT_EQ(c->execute("UPDATE parent SET email = 'new@example.org' WHERE id = 1"), 1);

  auto e = raised<ConcurrencyError>(*reader,
                                    "UPDATE parent SET email = 'mine@example.org' WHERE id = 1");
  EXPECT_EQ(e.kind(), ErrorKind::serialization_failure);
  EXPECT_TRUE(e.retryable());
  EXPECT_EQ(code(e), expect_code(517, "40001"));  // SQLITE_BUSY_SNAPSHOT
  reader->abandon_transaction();
  EXPECT_EQ(reader->query_one("SELECT email FROM parent WHERE id = 1")->get<std::string>("email"),
            "new@example.org");
}

TEST_P(ErrorsTest, StatementTimeoutIsTimeoutErrorWhereTheBackendHasOne) {
  auto c = with_schema();
  if (is_postgresql()) {
    c->execute("SET statement_timeout = '50ms'");
    try {
      c->query_one("SELECT pg_sleep(5)");
      FAIL() << "pg_sleep(5) was not cancelled";
    } catch (const TimeoutError& e) {
      EXPECT_EQ(e.kind(), ErrorKind::timeout);
      EXPECT_EQ(e.sqlstate(), "57014");
      EXPECT_FALSE(e.retryable());
    }
    c->execute("SET statement_timeout = 0");
  } else {
    // SQLite has no statement timeout (only sqlite3_interrupt(), which keel does
    // not expose): slow work runs to the end rather than being cut short.
    auto row = c->query_one(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
        "SELECT sum(i) AS s FROM n");
    EXPECT_EQ(row->get<std::int64_t>("s"), std::int64_t{300000} * 300001 / 2);
  }
  // Either way the connection carries on.
  EXPECT_EQ(c->query_one("SELECT 1 AS one")->get<int>("one"), 1);
}

TEST_P(ErrorsTest, FailedStatementLeavesStoredDataUntouched) {
  auto c = with_schema();
  EXPECT_THROW(c->execute("INSERT INTO parent (id, email) VALUES (2, 'b'), (3, 'ann@example.org')"),
               ConstraintError);
  EXPECT_EQ(c->query_one("SELECT count(*) AS n FROM parent")->get<int>("n"), 1);
}


TEST_P(ErrorsTest, UnreachableDatabaseIsConnectionErrorNamingItWithoutThePassword) {
  Config bad = config();
  std::string where;
  if (is_sqlite()) {
    // A read-only open does not create the file, so a missing one cannot be opened.
    bad.url = parse_url("sqlite:///" + (temp_dir() / "missing.db").string() + "?mode=ro");
    where = "missing.db";
  } else {
    bad.url.host = "127.0.0.1";
    bad.url.port = std::to_string(testing::closed_loopback_port());
    bad.url.password = "s3cret-pw";
    bad.postgresql.connect_timeout_s = 2;
    where = bad.url.port;
  }
  try {
    keel::connect(bad);
    FAIL() << "connected to " << bad.url.redacted();
  } catch (const ConnectionError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::connection);
    EXPECT_THAT(e.what(), HasSubstr(where));
    EXPECT_THAT(e.what(), Not(HasSubstr("s3cret-pw")));
  }
}

TEST_P(ErrorsTest, HeldInstanceLockRaisesAlreadyRunning) {
  auto lock = acquire_instance_lock(config(), "worker");
  ASSERT_TRUE(lock);
  EXPECT_TRUE(lock->held());
  EXPECT_EQ(lock->name(), "worker");
  // Also within one process: a second holder is refused, not silently granted.
  try {
    acquire_instance_lock(config(), "worker");
    FAIL() << "the lock was granted twice";
  } catch (const AlreadyRunning& e) {
    EXPECT_EQ(e.kind(), ErrorKind::already_running);
    EXPECT_THAT(e.what(), HasSubstr("worker"));
    if (is_sqlite()) {
      EXPECT_THAT(e.what(), HasSubstr(fmt::format("pid {}", ::getpid())));
      EXPECT_THAT(e.what(), HasSubstr(lock->where()));
    }
  }
  // Another name is another lock.
  EXPECT_TRUE(acquire_instance_lock(config(), "reporter")->held());
  lock.reset();
  EXPECT_TRUE(acquire_instance_lock(config(), "worker")->held());
}

TEST_P(ErrorsTest, InstanceLockRefusesAnotherProcess) {
  auto lock = acquire_instance_lock(config(), "daemon");
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child reports what it got and leaves without running destructors (it
    // shares the parent's connections' sockets).
    ::close(out[0]);
    std::string result;
    try {
      auto mine = acquire_instance_lock(config(), "daemon");
      result = "acquired";
    } catch (const AlreadyRunning& e) {
      result = std::string("refused: ") + e.what();
    } catch (const std::exception& e) {
      result = std::string("error: ") + e.what();
    }
    ssize_t written = ::write(out[1], result.data(), result.size());
    ::_exit(written == static_cast<ssize_t>(result.size()) ? 0 : 1);
  }
  ::close(out[1]);
  std::string result;
  char buf[512];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0) result.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_THAT(result, HasSubstr("refused: another instance is already running"));
  EXPECT_THAT(result, HasSubstr("daemon"));
  if (is_sqlite()) {
    EXPECT_THAT(result, HasSubstr(fmt::format("held by pid {} on host ", ::getpid())));
    EXPECT_THAT(result, HasSubstr(" since "));
  }
}

KEEL_BACKEND_TEST_SUITE(ErrorsTest);

}  // namespace
}  // namespace keel
