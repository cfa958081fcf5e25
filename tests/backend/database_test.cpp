// The Database facade on each backend: transactions, retries, pooled queries.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "keel/database.hpp"
#include "support/backend_test.hpp"

namespace keel {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class DatabaseTest : public testing::BackendTest {
 protected:
  // A Database on this test's namespace with an `items` table.
  std::unique_ptr<Database> with_items() {
    auto db = std::make_unique<Database>(config());
    db->execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
    return db;
  }
  static int count(Database& db, std::string_view table = "items") {
    return db.query_one("SELECT count(*) FROM " + std::string(table))->get<int>(0);
  }
};

TEST_P(DatabaseTest, ReportsItsBackendAndDialect) {
  Database db(config());
  EXPECT_EQ(db.backend(), backend());
  EXPECT_EQ(db.dialect().backend(), backend());
  EXPECT_EQ(db.config().url.redacted(), config().url.redacted());
}

TEST_P(DatabaseTest, ConstructingConnectsNothing) {
  Database db(config());
  EXPECT_EQ(db.pool_stats().open, 0);
  EXPECT_EQ(db.pool_stats().created, 0u);
}

TEST_P(DatabaseTest, ConstructingOnAnUnusableDatabaseDoesNotThrow) {
  Config c = config();
  if (is_sqlite()) {
    std::ofstream(temp_dir() / "plain-file") << "x";
    c.url = parse_url("sqlite:///" + (temp_dir() / "plain-file" / "app.db").string());
  } else {
    c.url.port = "1";  // nothing listens on a privileged loopback port here
    c.url.host = "127.0.0.1";
  }
  std::unique_ptr<Database> db;
  EXPECT_NO_THROW(db = std::make_unique<Database>(c));
  EXPECT_ANY_THROW(db->execute("SELECT 1"));
  EXPECT_EQ(db->pool_stats().in_use, 0);
}

TEST_P(DatabaseTest, SqliteParentDirectoryIsCreated) {
  Config c = config();
  auto nested = temp_dir() / "a" / "b";
  if (is_sqlite()) c.url = parse_url("sqlite:///" + (nested / "app.db").string());
  Database db(c);
  EXPECT_EQ(db.query_one("SELECT 7")->get<int>(0), 7);
  // PostgreSQL keeps nothing on this machine's file system.
  EXPECT_EQ(std::filesystem::exists(nested / "app.db"), is_sqlite());
}

TEST_P(DatabaseTest, TransactionCommitsWhenTheBodyReturns) {
  auto db = with_items();
  db->transaction([](Connection& c) {
    c.execute("INSERT INTO items (id, name) VALUES (?, ?)", {1, "a"});
    c.execute("INSERT INTO items (id, name) VALUES (?, ?)", {2, "b"});
  });
  EXPECT_EQ(count(*db), 2);
  EXPECT_EQ(db->pool_stats().in_use, 0);
  EXPECT_EQ(db->pool_stats().rollbacks, 0u);
}

TEST_P(DatabaseTest, TransactionRollsBackAndRethrowsWhenTheBodyThrows) {
  auto db = with_items();
  EXPECT_THROW(db->transaction([](Connection& c) {
    c.execute("INSERT INTO items (id, name) VALUES (1, 'gone')");
    throw std::runtime_error("body failed");
  }),
               std::runtime_error);
  EXPECT_EQ(count(*db), 0);
  PoolStats s = db->pool_stats();
  EXPECT_EQ(s.in_use, 0);
  EXPECT_EQ(s.discarded, 0u);  // rolled back by the facade: the connection stays usable
  EXPECT_GE(s.idle, 1);
}

TEST_P(DatabaseTest, TransactionRollsBackAfterADatabaseError) {
  auto db = with_items();
  db->execute("INSERT INTO items (id, name) VALUES (1, 'first')");
  EXPECT_THROW(db->transaction([](Connection& c) {
    c.execute("INSERT INTO items (id, name) VALUES (2, 'second')");
    c.execute("INSERT INTO items (id, name) VALUES (1, 'duplicate')");
  }),
               ConstraintError);
  EXPECT_EQ(count(*db), 1);
  // The same pooled connection works afterwards (PostgreSQL: not stuck in an aborted
  // transaction).
  db->transaction([](Connection& c) { c.execute("INSERT INTO items (id, name) VALUES (3, 'c')"); });
  EXPECT_EQ(count(*db), 2);
}

TEST_P(DatabaseTest, TransactionReturnsTheBodysValue) {
  auto db = with_items();
  int id = db->transaction([](Connection& c) {
    c.execute("INSERT INTO items (id, name) VALUES (41, 'x')");
    return 41;
  });
  EXPECT_EQ(id, 41);
  std::string name = db->transaction([](Connection& c) {
    return c.query_one("SELECT name FROM items WHERE id = 41")->get<std::string>(0);
  });
  EXPECT_EQ(name, "x");
}

TEST_P(DatabaseTest, RetryableErrorRunsTheWholeBodyAgain) {
  auto db = with_items();
  int attempts = 0;
  db->transaction(
      [&](Connection& c) {
        ++attempts;
        // Same key every attempt: succeeds only if the first attempt was rolled back.
        c.execute("INSERT INTO items (id, name) VALUES (1, 'once')");
        if (attempts == 1)
          throw ConcurrencyError(ErrorKind::serialization_failure, "simulated conflict");
      },
      TransactionOptions{.retries = 2, .backoff = 1ms});
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(count(*db), 1);
}

TEST_P(DatabaseTest, RetriesRunOutAndTheLastErrorIsRethrown) {
  auto db = with_items();
  int attempts = 0;
  auto start = Clock::now();
  EXPECT_THROW(db->transaction(
                   [&](Connection&) {
                     ++attempts;
                     throw ConcurrencyError(ErrorKind::deadlock, "simulated deadlock");
                   },
                   TransactionOptions{.retries = 3, .backoff = 20ms}),
               ConcurrencyError);
  EXPECT_EQ(attempts, 4);
  // Backoff doubles: 20 + 40 + 80 ms.
  EXPECT_GE(Clock::now() - start, 135ms);
  EXPECT_EQ(db->pool_stats().in_use, 0);
}

TEST_P(DatabaseTest, NonRetryableErrorIsNotRetried) {
  auto db = with_items();
  int attempts = 0;
  EXPECT_THROW(db->transaction(
                   [&](Connection& c) {
                     ++attempts;
                     c.execute("INSERT INTO items (id, name) VALUES (1, NULL)");
                   },
                   TransactionOptions{.retries = 5, .backoff = 1ms}),
               ConstraintError);
  EXPECT_EQ(attempts, 1);
  int plain = 0;
  EXPECT_THROW(db->transaction(
                   [&](Connection&) {
                     ++plain;
                     throw std::logic_error("not a database error");
                   },
                   TransactionOptions{.retries = 5, .backoff = 1ms}),
               std::logic_error);
  EXPECT_EQ(plain, 1);
}

TEST_P(DatabaseTest, ExecuteReturnsRowsAffected) {
  auto db = with_items();
  EXPECT_EQ(db->execute("INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'a')"), 3);
  EXPECT_EQ(db->execute("UPDATE items SET name = ? WHERE name = ?", {"z", "a"}), 2);
  EXPECT_EQ(db->execute("DELETE FROM items WHERE id > ?", {5}), 0);
  EXPECT_EQ(db->execute("DELETE FROM items"), 3);
}

TEST_P(DatabaseTest, QueryStreamsAndReturnsTheConnectionWhenRowsIsDestroyed) {
  auto db = with_items();
  db->transaction([](Connection& c) {
    for (int i = 1; i <= 100; ++i)
      c.execute("INSERT INTO items (id, name) VALUES (?, ?)", {i, "n" + std::to_string(i)});
  });
  {
    Rows rows = db->query("SELECT id, name FROM items ORDER BY id");
    EXPECT_EQ(db->pool_stats().in_use, 1);
    ASSERT_TRUE(rows.next());
    EXPECT_EQ(rows.row().get<int>("id"), 1);
    ASSERT_TRUE(rows.next());
    EXPECT_EQ(rows.row().get<std::string>("name"), "n2");
    EXPECT_EQ(db->pool_stats().in_use, 1);  // half-read: the lease is still out
  }
  EXPECT_EQ(db->pool_stats().in_use, 0);
  int n = 0;
  std::int64_t sum = 0;
  for (const auto& row : db->query("SELECT id FROM items WHERE id > ?", {50})) {
    ++n;
    sum += row.get<std::int64_t>("id");
  }
  EXPECT_EQ(n, 50);
  EXPECT_EQ(sum, (51 + 100) * 50 / 2);
  EXPECT_EQ(db->pool_stats().in_use, 0);
  // The returned connection is clean: usable for a write right away.
  EXPECT_EQ(db->execute("DELETE FROM items WHERE id <= 10"), 10);
}

TEST_P(DatabaseTest, RowsMayOutliveTheDatabase) {
  auto db = with_items();
  db->execute("INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b')");
  Rows rows = db->query("SELECT name FROM items ORDER BY id");
  db.reset();
  auto all = rows.all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].get<std::string>(0), "b");
}

TEST_P(DatabaseTest, QueryOneGivesTheFirstRowOrNothing) {
  auto db = with_items();
  db->execute("INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b')");
  auto row = db->query_one("SELECT name FROM items ORDER BY id DESC");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->get<std::string>("name"), "b");
  EXPECT_FALSE(db->query_one("SELECT name FROM items WHERE id = ?", {99}).has_value());
  EXPECT_EQ(db->pool_stats().in_use, 0);
}

TEST_P(DatabaseTest, QueryAllGivesEveryRowAndReturnsTheConnection) {
  auto db = with_items();
  db->execute("INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')");
  auto rows = db->query_all("SELECT id, name FROM items WHERE id >= ? ORDER BY id", {2});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].get<int>("id"), 2);
  EXPECT_EQ(rows[1].get<std::string>("name"), "c");
  EXPECT_EQ(db->pool_stats().in_use, 0);
  EXPECT_TRUE(db->query_all("SELECT id FROM items WHERE id > ?", {99}).empty());
  EXPECT_THROW(db->query_all("SELECT no_such_column FROM items"), Error);
  EXPECT_EQ(db->pool_stats().in_use, 0);
}

TEST_P(DatabaseTest, ConnectionLeaseComesFromThePool) {
  Database db(config());
  {
    auto lease = db.connection();
    EXPECT_EQ(lease->backend(), backend());
    EXPECT_EQ(db.pool_stats().in_use, 1);
  }
  EXPECT_EQ(db.pool_stats().in_use, 0);
  EXPECT_EQ(db.pool_stats().idle, 1);
}

TEST_P(DatabaseTest, SeveralCallsSeeTheSameDatabase) {
  // sqlite:///:memory: is a database per connection, so the pool holds exactly
  // one; PostgreSQL keeps its configured pool and sees the same data regardless.
  Config c = config();
  if (is_sqlite()) c.url = parse_url("sqlite:///:memory:");
  Database db(c);
  db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)");
  db.execute("INSERT INTO notes (id, body) VALUES (1, 'one')");
  db.transaction([](Connection& conn) {
    conn.execute("INSERT INTO notes (id, body) VALUES (2, 'two')");
  });
  EXPECT_EQ(db.query_one("SELECT count(*) FROM notes")->get<int>(0), 2);
  EXPECT_EQ(db.query("SELECT body FROM notes ORDER BY id").all().size(), 2u);
  PoolStats s = db.pool_stats();
  if (is_sqlite()) {
    EXPECT_EQ(s.size, 1);
    EXPECT_EQ(s.max_overflow, 0);
    EXPECT_EQ(s.created, 1u);
  } else {
    EXPECT_EQ(s.size, c.pool.size);
    EXPECT_EQ(s.max_overflow, c.pool.max_overflow);
  }
}

TEST_P(DatabaseTest, ConcurrentReadThenWriteTransactionsNeverSeeLocked) {
  Database db(config());
  db.execute("CREATE TABLE log (thread INTEGER NOT NULL, n INTEGER NOT NULL, "
             "PRIMARY KEY (thread, n))");
  db.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
  db.execute("INSERT INTO counter (id, n) VALUES (1, 0)");
  constexpr int kThreads = 4;
  constexpr int kTransactions = 200;
  std::mutex mu;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTransactions; ++i) {
        try {
          db.transaction([&](Connection& c) {
            // Read, then write what was read: the classic lock upgrade that fails
            // with "database is locked" under a deferred BEGIN.
            auto n = c.query_one("SELECT count(*) FROM log WHERE thread = ?", {t})
                         ->get<std::int64_t>(0);
            c.execute("INSERT INTO log (thread, n) VALUES (?, ?)", {t, n});
            c.execute("UPDATE counter SET n = n + 1 WHERE id = 1");
          });
        } catch (const std::exception& e) {
          std::lock_guard lock(mu);
          errors.push_back(e.what());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(errors.empty()) << errors.size() << " failed, first: " << errors.front();
  EXPECT_EQ(count(db, "log"), kThreads * kTransactions);
  EXPECT_EQ(db.query_one("SELECT n FROM counter")->get<int>(0), kThreads * kTransactions);
  EXPECT_EQ(db.query_one("SELECT max(n) FROM log")->get<int>(0), kTransactions - 1);
  PoolStats s = db.pool_stats();
  EXPECT_EQ(s.in_use, 0);
  EXPECT_EQ(s.rollbacks, 0u);
}

TEST_P(DatabaseTest, InstanceLockIsExclusive) {
  Database db(config());
  // PostgreSQL's advisory locks are server-wide: a name of this test's own.
  const std::string name = "daemon" + pg_schema();
  auto lock = db.instance_lock(name);
  ASSERT_TRUE(lock);
  EXPECT_EQ(lock->name(), name);
  EXPECT_TRUE(lock->held());
  EXPECT_THROW(db.instance_lock(name), AlreadyRunning);
  lock.reset();
  EXPECT_NO_THROW(db.instance_lock(name));
}

KEEL_BACKEND_TEST_SUITE(DatabaseTest);

}  // namespace
}  // namespace keel
