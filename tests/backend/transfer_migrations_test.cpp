// keel::transfer with a migrations directory: the source must be at head; the target
// is brought to the same revision by the same history inside the transfer's one
// transaction, and the rows land in the schema the history built.
#include <gtest/gtest.h>

#include "keel/database.hpp"
#include "keel/migrate.hpp"
#include "support/revision_fixtures.hpp"
#include "transfer_support.hpp"

namespace keel {
namespace {

class TransferMigrationsTest : public ::testing::Test, public testing::TransferFixture {
 protected:
  void SetUp() override {
    make_endpoints();
    migrations_ = (dir_ / "migrations").string();
    testing::write_standard_history(migrations_);
  }
  void TearDown() override { drop_endpoints(); }

  transfer::Options with_migrations() const {
    transfer::Options o = options();
    o.migrations_dir = migrations_;
    return o;
  }
  void fill_source() const {
    auto s = source();
    s->execute_script(
        "INSERT INTO users (name, email) VALUES ('ann', 'ann@example.org'), ('bob', NULL);"
        "INSERT INTO posts (user_id, title) VALUES (1, 'hello'), (2, 'again');"
        "DELETE FROM posts WHERE id = 2");
  }

  std::string migrations_;
};

TEST_F(TransferMigrationsTest, SourceBehindHeadIsRefusedPointingAtUpgrade) {
  {
    Database db(source_config());
    migrate::upgrade(db, migrations_, "+2");
  }
  {
    Database db(pg_);
    migrate::upgrade(db, migrations_, "head");
  }
  try {
    transfer::transfer(with_migrations());
    ADD_FAILURE() << "a source behind head was transferred";
  } catch (const transfer::TransferError& e) {
    EXPECT_NE(std::string(e.what()).find("upgrade head"), std::string::npos) << e.what();
  }
  EXPECT_EQ(target()->query_one("SELECT count(*) FROM users")->get<std::int64_t>(0), 0);
}

TEST_F(TransferMigrationsTest, TargetAtTheSameRevisionReceivesEveryRow) {
  {
    Database db(source_config());
    migrate::upgrade(db, migrations_, "head");
  }
  fill_source();
  {
    Database db(pg_);
    migrate::upgrade(db, migrations_, "head");
  }
  transfer::Report r = transfer::transfer(with_migrations());
  EXPECT_FALSE(r.created_schema);
  EXPECT_EQ(r.rows, 3);
  EXPECT_EQ(expect_same_rows(), 3);
  auto t = target();
  EXPECT_EQ(t->query_one("INSERT INTO users (name) VALUES ('cy') RETURNING id")
                ->get<std::int64_t>(0),
            3);
  // The target kept its own history.
  EXPECT_GT(t->query_one("SELECT count(*) FROM keel_version")->get<std::int64_t>(0), 0);
}

TEST_F(TransferMigrationsTest, EmptyTargetIsMigratedToTheSourcesRevisionInTheTransaction) {
  {
    Database db(source_config());
    migrate::upgrade(db, migrations_, "head");
  }
  fill_source();
  transfer::Report r = transfer::transfer(with_migrations());
  EXPECT_TRUE(r.migrated_target);
  EXPECT_FALSE(r.created_schema);
  EXPECT_EQ(r.rows, 3);
  EXPECT_EQ(expect_same_rows(), 3);
  {
    Database db(pg_);
    migrate::CheckReport check = migrate::check(db, migrations_);
    EXPECT_TRUE(check.ok) << fmt::format("{}", fmt::join(check.problems, "; "));
    EXPECT_EQ(migrate::current(db, migrations_), "r4");
  }
  EXPECT_EQ(target()->query_one("INSERT INTO posts (user_id, title) VALUES (1, 'x') RETURNING id")
                ->get<std::int64_t>(0),
            2);
}

TEST_F(TransferMigrationsTest, TargetAtAnEarlierRevisionIsMigratedTheRestOfTheWay) {
  {
    Database db(source_config());
    migrate::upgrade(db, migrations_, "head");
  }
  fill_source();
  {
    Database db(pg_);
    migrate::upgrade(db, migrations_, "+2");
  }
  transfer::Report r = transfer::transfer(with_migrations());
  EXPECT_TRUE(r.migrated_target);
  EXPECT_EQ(expect_same_rows(), 3);
  Database db(pg_);
  EXPECT_TRUE(migrate::check(db, migrations_).ok);
}

TEST_F(TransferMigrationsTest, FailureAfterTheHistoryRanLeavesNoTablesAndNoKeelVersion) {
  {
    Database db(source_config());
    migrate::upgrade(db, migrations_, "head");
  }
  fill_source();
  // users.email is string(100): SQLite kept a longer one, PostgreSQL's varchar(100) cannot.
  source()->execute("UPDATE users SET email = ? WHERE name = 'ann'", {std::string(150, 'a')});
  try {
    transfer::transfer(with_migrations());
    ADD_FAILURE() << "a value longer than its column was transferred";
  } catch (const transfer::TransferError& e) {
    EXPECT_NE(std::string(e.what()).find("column \"email\""), std::string::npos) << e.what();
  }
  EXPECT_EQ(target_tables(), 0) << "the history's tables or keel_version survived the rollback";

  source()->execute("UPDATE users SET email = 'ann@example.org' WHERE name = 'ann'");
  EXPECT_EQ(transfer::transfer(with_migrations()).rows, 3);
  EXPECT_EQ(expect_same_rows(), 3);
}

TEST_F(TransferMigrationsTest, FailingRevisionOnTheTargetRollsBackEverything) {
  {
    Database db(source_config());
    migrate::upgrade(db, migrations_, "head");
  }
  fill_source();
  // A revision whose PostgreSQL script fails there only (SQLite ran it fine).
  testing::write_revision_file(migrations_, "r5_pg_fails.yaml",
                               "id: r5\ndown_revision: r4\nmessage: pg fails\nupgrade:\n"
                               "  - sql: {sqlite: \"SELECT 1\", postgresql: \"SELECT no_such_column "
                               "FROM users\"}\ndowngrade: []\n");
  {
    Database db(source_config());
    migrate::upgrade(db, migrations_, "head");
  }
  try {
    transfer::transfer(with_migrations());
    ADD_FAILURE() << "a failing revision was ignored";
  } catch (const transfer::TransferError& e) {
    EXPECT_NE(std::string(e.what()).find("revision r5"), std::string::npos) << e.what();
  }
  EXPECT_EQ(target_tables(), 0);
}

TEST_F(TransferMigrationsTest, DryRunMigratesOnlyInsideARolledBackTransaction) {
  {
    Database db(source_config());
    migrate::upgrade(db, migrations_, "head");
  }
  fill_source();
  transfer::Report r = transfer::plan(with_migrations());
  EXPECT_TRUE(r.dry_run);
  EXPECT_TRUE(r.migrated_target);
  ASSERT_EQ(r.tables.size(), 2u);
  EXPECT_EQ(r.rows, 3);
  EXPECT_EQ(target_tables(), 0);
}

TEST_F(TransferMigrationsTest, UnmanagedTablesOnTheTargetAreRefusedBeforeWriting) {
  {
    Database db(source_config());
    migrate::upgrade(db, migrations_, "head");
  }
  target()->execute("CREATE TABLE legacy (id integer)");
  try {
    transfer::transfer(with_migrations());
    ADD_FAILURE() << "a target holding other tables was migrated";
  } catch (const transfer::TransferError& e) {
    EXPECT_NE(std::string(e.what()).find("legacy"), std::string::npos) << e.what();
  }
  EXPECT_EQ(target_tables(), 1);
}

TEST_F(TransferMigrationsTest, KeelMigratedSourceWithoutMigrationsIsAConfigError) {
  {
    Database db(source_config());
    migrate::upgrade(db, migrations_, "head");
  }
  EXPECT_THROW(transfer::transfer(options()), ConfigError);
  EXPECT_EQ(target_tables(), 0);
}

}  // namespace
}  // namespace keel
