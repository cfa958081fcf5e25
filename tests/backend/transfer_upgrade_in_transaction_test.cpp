// migrate::upgrade_in_transaction, which the transfer uses to build its target: the
// history runs inside the caller's transaction (a savepoint per revision), so the
// caller's rollback undoes every revision and keel_version with it. SQLite refuses
// it: its table rebuilds need foreign keys off, which SQLite ignores in a transaction.
#include <gtest/gtest.h>

#include "keel/database.hpp"
#include "keel/instance_lock.hpp"
#include "keel/migrate.hpp"
#include "keel/schema.hpp"
#include "support/revision_fixtures.hpp"

namespace keel {
namespace {

class TransferUpgradeInTransactionTest : public testing::MigrationTest {
 protected:
  std::int64_t tables(Connection& c) {
    return static_cast<std::int64_t>(schema::reflect(c).tables.size());
  }
};

TEST_P(TransferUpgradeInTransactionTest, CallersRollbackUndoesEveryRevisionAndKeelVersion) {
  auto c = connect();
  if (is_sqlite()) {
    c->begin();
    EXPECT_THROW(migrate::upgrade_in_transaction(*c, dir_), UsageError);
    c->rollback();
    EXPECT_EQ(tables(*c), 0);
    return;
  }
  c->begin();
  EXPECT_EQ(migrate::upgrade_in_transaction(*c, dir_),
            (std::vector<std::string>{"r1", "r2", "r3", "r4"}));
  EXPECT_EQ(c->transaction_depth(), 1);  // nothing of the caller's was committed
  EXPECT_EQ(tables(*c), 2);
  c->rollback();
  EXPECT_EQ(tables(*c), 0);
  EXPECT_FALSE(c->query_one("SELECT to_regclass('keel_version')::text")->get<std::optional<std::string>>(0));
}

TEST_P(TransferUpgradeInTransactionTest, CommittedByTheCallerItIsWhatUpgradeLeaves) {
  auto c = connect();
  if (is_sqlite()) {
    EXPECT_THROW(migrate::upgrade_in_transaction(*c, dir_), UsageError);
    return;
  }
  c->transaction([&] { migrate::upgrade_in_transaction(*c, dir_, "r2"); });
  EXPECT_EQ(migrate::current(*db_, dir_), "r2");
  c->transaction([&] { migrate::upgrade_in_transaction(*c, dir_); });
  EXPECT_TRUE(migrate::check(*db_, dir_).ok);
  EXPECT_EQ(dump("SELECT revision FROM keel_version ORDER BY revision"),
            (Lines{"r1", "r2", "r3", "r4"}));
}

TEST_P(TransferUpgradeInTransactionTest, FailingRevisionRollsBackOnlyItsSavepoint) {
  write("r5_fails.yaml",
        "id: r5\ndown_revision: r4\nmessage: fails\nupgrade:\n"
        "  - sql: {sqlite: \"SELECT no_such_column FROM users\", postgresql: \"SELECT "
        "no_such_column FROM users\"}\ndowngrade: []\n");
  auto c = connect();
  if (is_sqlite()) {
    c->begin();
    EXPECT_THROW(migrate::upgrade_in_transaction(*c, dir_), UsageError);
    c->rollback();
    return;
  }
  c->begin();
  try {
    migrate::upgrade_in_transaction(*c, dir_);
    ADD_FAILURE() << "a failing revision was applied";
  } catch (const migrate::MigrationError& e) {
    EXPECT_NE(std::string(e.what()).find("revision r5"), std::string::npos) << e.what();
  }
  // The caller's transaction is still usable: r1…r4 are in it, r5 is not.
  EXPECT_EQ(c->transaction_depth(), 1);
  EXPECT_EQ(c->query_one("SELECT count(*) FROM keel_version")->get<std::int64_t>(0), 4);
  c->rollback();
  EXPECT_EQ(tables(*c), 0);
}

TEST_P(TransferUpgradeInTransactionTest, MigrationLockExcludesAConcurrentUpgrade) {
  auto lock = migrate::migration_lock(config());
  migrate::RunOptions quick;
  quick.lock_timeout = std::chrono::milliseconds(200);
  EXPECT_THROW(migrate::upgrade(*db_, dir_, "head", quick), migrate::MigrationError);
  lock.reset();
  EXPECT_EQ(migrate::upgrade(*db_, dir_, "head", quick).size(), 4u);
}

KEEL_BACKEND_TEST_SUITE(TransferUpgradeInTransactionTest);

}  // namespace
}  // namespace keel
