// keel::transfer with a migrations directory: the source must be at head, the target
// at the same revision, and the rows land in the schema the history built.
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

TEST_F(TransferMigrationsTest, UnmigratedTargetIsRefusedSayingHowToPrepareIt) {
  {
    Database db(source_config());
    migrate::upgrade(db, migrations_, "head");
  }
  fill_source();
  try {
    transfer::transfer(with_migrations());
    ADD_FAILURE() << "an unmigrated target was accepted";
  } catch (const transfer::TransferError& e) {
    EXPECT_NE(std::string(e.what()).find("the target is at revision base"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(target_tables(), 0);
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
