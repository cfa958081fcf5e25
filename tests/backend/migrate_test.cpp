// The migration engine against real databases: the standard history of revision files
// (support/revision_fixtures.hpp) written into the test's scratch directory, run up
// and down on both backends.
#include "keel/migrate.hpp"

#include <filesystem>
#include <thread>

#include "keel/database.hpp"
#include "support/backend_test.hpp"
#include "support/revision_fixtures.hpp"

namespace keel {
namespace {

namespace fs = std::filesystem;
using Lines = std::vector<std::string>;

// Fails in its middle: the first operation succeeds, the SQL after it does not.
constexpr const char* kBroken = R"y(id: r5
down_revision: r4
message: fails half way
created: 2026-01-05T00:00:00Z
upgrade:
  - add_column: {table: users, column: {name: age, type: integer}}
  - create_index: {table: users, name: ix_users_age, columns: [age]}
  - sql: {sqlite: "INSERT INTO no_such_table VALUES (1)",
          postgresql: "INSERT INTO no_such_table VALUES (1)"}
downgrade:
  - drop_index: {table: users, name: ix_users_age, columns: [age]}
  - drop_column: {table: users, column: {name: age, type: integer}}
)y";

class MigrateTest : public testing::MigrationTest {
 protected:
  Lines applied() {
    Lines out;
    for (const auto& r : migrate::history(*db_)) out.push_back(r.id + " " + r.checksum);
    return out;
  }
  void seed() {
    db_->execute("INSERT INTO users (name) VALUES ('ann'), ('bob')");
    db_->execute("INSERT INTO posts (user_id, title) VALUES (1, 'a1'), (1, 'a2'), (2, 'b1')");
  }
  Lines users() { return dump("SELECT id, name FROM users ORDER BY id"); }
  Lines posts() { return dump("SELECT id, user_id, title FROM posts ORDER BY id"); }
};

TEST_P(MigrateTest, UpgradeDowngradeUpgradeKeepsRows) {
  EXPECT_EQ(migrate::upgrade(*db_, dir_), (Lines{"r1", "r2", "r3", "r4"}));
  EXPECT_EQ(migrate::current(*db_, dir_), "r4");
  seed();
  const Lines u = users(), p = posts();
  ASSERT_EQ(p.size(), 3u);
  // Seeded after r3's UPDATE ran.
  EXPECT_EQ(dump("SELECT email FROM users ORDER BY id"), (Lines{"NULL", "NULL"}));

  EXPECT_EQ(migrate::downgrade(*db_, dir_, "r2"), (Lines{"r4", "r3"}));
  EXPECT_EQ(migrate::current(*db_, dir_), "r2");
  EXPECT_EQ(users(), u);
  EXPECT_EQ(posts(), p);

  EXPECT_EQ(migrate::upgrade(*db_, dir_, "head"), (Lines{"r3", "r4"}));
  EXPECT_EQ(users(), u);
  EXPECT_EQ(posts(), p);
  EXPECT_EQ(dump("SELECT email FROM users ORDER BY id"),
            (Lines{"ann@example.org", "bob@example.org"}));
  EXPECT_TRUE(migrate::check(*db_, dir_).ok);

  EXPECT_EQ(migrate::downgrade(*db_, dir_, "base"), (Lines{"r4", "r3", "r2", "r1"}));
  EXPECT_TRUE(reflected().tables.empty());
  EXPECT_TRUE(migrate::history(*db_).empty());
  EXPECT_EQ(migrate::current(*db_, dir_), std::nullopt);
  EXPECT_TRUE(migrate::upgrade(*db_, dir_, "head").size() == 4u);
  EXPECT_TRUE(migrate::upgrade(*db_, dir_, "head").empty());
}

TEST_P(MigrateTest, RevisionFailingInItsMiddleChangesNothing) {
  migrate::upgrade(*db_, dir_);
  seed();
  const auto schema_before = reflected();
  const Lines history_before = applied(), u = users(), p = posts();
  write("r5_broken.yaml", kBroken);
  try {
    migrate::upgrade(*db_, dir_);
    ADD_FAILURE() << "the broken revision applied";
  } catch (const migrate::MigrationError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("revision r5"), std::string::npos) << m;
    EXPECT_NE(m.find("upgrade[2] `sql`"), std::string::npos) << m;
    EXPECT_NE(m.find("no_such_table"), std::string::npos) << m;
  }
  EXPECT_EQ(reflected(), schema_before);
  EXPECT_EQ(applied(), history_before);
  EXPECT_EQ(users(), u);
  EXPECT_EQ(posts(), p);
  EXPECT_EQ(migrate::current(*db_, dir_), "r4");
}

TEST_P(MigrateTest, FailingRevisionLeavesTheRevisionsBeforeItInTheSameRunApplied) {
  write("r5_broken.yaml", kBroken);
  try {
    migrate::upgrade(*db_, dir_);
    ADD_FAILURE() << "the broken revision applied";
  } catch (const migrate::MigrationError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("revision r5"), std::string::npos) << m;
    EXPECT_NE(m.find("upgrade[2] `sql`"), std::string::npos) << m;
  }
  EXPECT_EQ(migrate::current(*db_, dir_), "r4");
  ASSERT_EQ(migrate::history(*db_).size(), 4u);
  for (const auto& row : migrate::history(*db_)) EXPECT_GE(row.duration_ms, 0) << row.id;
  seed();
  EXPECT_EQ(users().size(), 2u);
  fs::remove(fs::path(dir_) / "r5_broken.yaml");
  EXPECT_TRUE(migrate::upgrade(*db_, dir_).empty());
}

TEST_P(MigrateTest, SqlStepEndingInALineCommentDoesNotSwallowTheNextStep) {
  migrate::upgrade(*db_, dir_);
  seed();
  write("r5_comment.yaml", R"y(id: r5
down_revision: r4
message: a sql step whose last line is a comment
created: 2026-01-05T00:00:00Z
upgrade:
  - sql: "UPDATE users SET name = upper(name) -- no line break after this comment"
  - add_column: {table: users, column: {name: age, type: integer}}
  - sql: "UPDATE users SET age = 7;  "
downgrade:
  - drop_column: {table: users, column: {name: age, type: integer}}
)y");
  EXPECT_EQ(migrate::upgrade(*db_, dir_), (Lines{"r5"}));
  EXPECT_EQ(dump("SELECT name, age FROM users ORDER BY id"), (Lines{"ANN|7", "BOB|7"}));
  EXPECT_EQ(migrate::current(*db_, dir_), "r5");
  EXPECT_EQ(migrate::downgrade(*db_, dir_, "-1"), (Lines{"r5"}));
  EXPECT_EQ(dump("SELECT name FROM users ORDER BY id"), (Lines{"ANN", "BOB"}));
}

TEST_P(MigrateTest, ChangedAppliedFileIsRefusedAndReported) {
  migrate::upgrade(*db_, dir_, "r2");
  // Line endings and trailing blanks are not a change.
  std::string crlf;
  const std::string users = testing::standard_revision(1);
  for (char c : users) crlf += c == '\n' ? std::string("  \r\n") : std::string(1, c);
  write("r1_users.yaml", crlf);
  EXPECT_TRUE(migrate::upgrade(*db_, dir_, "r3") == (Lines{"r3"}));

  write("r1_users.yaml", users + "# an edit\n");
  try {
    migrate::upgrade(*db_, dir_);
    ADD_FAILURE() << "upgrade accepted a changed revision";
  } catch (const migrate::MigrationError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("revision r1"), std::string::npos) << m;
    EXPECT_NE(m.find("changed after it was applied"), std::string::npos) << m;
  }
  EXPECT_EQ(migrate::current(*db_, dir_), "r3");
  auto report = migrate::check(*db_, dir_);
  EXPECT_FALSE(report.ok);
  ASSERT_EQ(report.problems.size(), 2u);  // tampered, and behind (r4)
  EXPECT_NE(report.problems[0].find("r1_users.yaml"), std::string::npos) << report.problems[0];
  EXPECT_NE(report.problems[1].find("behind"), std::string::npos) << report.problems[1];
}

TEST_P(MigrateTest, BrokenHistoryFailsBeforeTouchingTheDatabase) {
  write("r5_a.yaml", "id: r5\ndown_revision: r4\n");
  write("r6_b.yaml", "id: r6\ndown_revision: r4\n");
  try {
    migrate::upgrade(*db_, dir_);
    ADD_FAILURE() << "two heads accepted";
  } catch (const ConfigError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("r5 ("), std::string::npos) << m;
    EXPECT_NE(m.find("r6 ("), std::string::npos) << m;
    EXPECT_NE(m.find("keel merge"), std::string::npos) << m;
  }
  fs::remove(fs::path(dir_) / "r6_b.yaml");
  write("r5_a.yaml", "id: r5\ndown_revision: r9\n");
  EXPECT_THROW(migrate::upgrade(*db_, dir_), ConfigError);
  write("r5_a.yaml",
        "id: r5\ndown_revision: r4\nupgrade:\n  - add_column: {table: users, colum: {}}\n");
  try {
    migrate::upgrade(*db_, dir_);
    ADD_FAILURE() << "broken file accepted";
  } catch (const ConfigError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("r5_a.yaml:4:"), std::string::npos) << m;
    EXPECT_NE(m.find("colum"), std::string::npos) << m;
  }
  EXPECT_TRUE(reflected().tables.empty());
  EXPECT_TRUE(migrate::history(*db_).empty());
}

TEST_P(MigrateTest, RelativeTargetsMoveByCount) {
  EXPECT_EQ(migrate::upgrade(*db_, dir_, "+1"), (Lines{"r1"}));
  EXPECT_EQ(migrate::upgrade(*db_, dir_, "+2"), (Lines{"r2", "r3"}));
  EXPECT_EQ(migrate::downgrade(*db_, dir_, "-1"), (Lines{"r3"}));
  EXPECT_EQ(migrate::current(*db_, dir_), "r2");
  EXPECT_EQ(migrate::upgrade(*db_, dir_, "+9"), (Lines{"r3", "r4"}));
  EXPECT_EQ(migrate::downgrade(*db_, dir_, "-2"), (Lines{"r4", "r3"}));
  EXPECT_EQ(migrate::current(*db_, dir_), "r2");
  EXPECT_THROW(migrate::upgrade(*db_, dir_, "+x"), ConfigError);
  EXPECT_THROW(migrate::upgrade(*db_, dir_, "r99"), ConfigError);
}

TEST_P(MigrateTest, StampRecordsWithoutRunning) {
  migrate::stamp(*db_, dir_, "r2");
  EXPECT_EQ(migrate::current(*db_, dir_), "r2");
  EXPECT_EQ(migrate::history(*db_).size(), 2u);
  EXPECT_TRUE(reflected().tables.empty());
  migrate::stamp(*db_, dir_, "r1");
  EXPECT_EQ(migrate::current(*db_, dir_), "r1");
  EXPECT_EQ(migrate::history(*db_).size(), 1u);
  migrate::stamp(*db_, dir_, "base");
  EXPECT_TRUE(migrate::history(*db_).empty());
  EXPECT_EQ(migrate::upgrade(*db_, dir_).size(), 4u);
}

TEST_P(MigrateTest, ConcurrentUpgradersApplyHistoryOnce) {
  std::vector<std::string> got[2];
  std::string errors[2];
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i)
    threads.emplace_back([&, i] {
      try {
        Database db(config());
        got[i] = migrate_to_head(db, dir_);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  EXPECT_EQ(got[0].size() + got[1].size(), 4u);
  EXPECT_TRUE(got[0].empty() || got[1].empty());
  EXPECT_EQ(migrate::history(*db_).size(), 4u);
}

TEST_P(MigrateTest, OfflineScriptMatchesOnlineUpgrade) {
  const Backend other = is_sqlite() ? Backend::postgresql : Backend::sqlite;
  EXPECT_NE(migrate::upgrade_sql(dir_, other).find("COMMIT;"), std::string::npos);
  const std::string script = migrate::upgrade_sql(dir_, backend());
  EXPECT_NE(script.find("BEGIN;"), std::string::npos);

  migrate::upgrade(*db_, dir_);
  const auto online = reflected();
  const Lines online_history = applied();
  migrate::downgrade(*db_, dir_, "base");
  db_->execute("DROP TABLE keel_version");

  {
    auto lease = db_->connection();
    lease->execute_script(script);
    lease->clear_statement_cache();
  }
  EXPECT_EQ(reflected(), online);
  EXPECT_EQ(applied(), online_history);
  EXPECT_TRUE(migrate::check(*db_, dir_).ok);

  // From a revision on: only what follows it.
  const std::string tail = migrate::upgrade_sql(dir_, backend(), "r3", "head");
  EXPECT_EQ(tail.find("-- upgrade r3:"), std::string::npos);
  EXPECT_NE(tail.find("-- upgrade r4:"), std::string::npos);
}

TEST_P(MigrateTest, OfflineDowngradeMatchesOnlineDowngrade) {
  migrate::upgrade(*db_, dir_);
  seed();
  const Lines u = users(), p = posts();
  migrate::downgrade(*db_, dir_, "r2");
  const auto online = reflected();
  const Lines online_history = applied();
  migrate::upgrade(*db_, dir_);

  const std::string script = migrate::downgrade_sql(dir_, backend(), "head", "r2");
  EXPECT_NE(script.find("-- downgrade r4:"), std::string::npos) << script;
  EXPECT_EQ(script.find("-- downgrade r2:"), std::string::npos) << script;
  {
    auto lease = db_->connection();
    lease->execute_script(script);
    lease->clear_statement_cache();
  }
  EXPECT_EQ(reflected(), online);
  EXPECT_EQ(applied(), online_history);
  EXPECT_EQ(users(), u);
  EXPECT_EQ(posts(), p);
  EXPECT_EQ(migrate::downgrade_sql(dir_, backend(), "r2", "-1").find("r2"),
            migrate::downgrade_sql(dir_, backend(), "r2", "r1").find("r2"));
  EXPECT_THROW(migrate::downgrade_sql(dir_, backend(), "r2", "r3"), ConfigError);
}

// A trigger made by a sql step survives the SQLite rebuild of its table.
constexpr const char* kTrigger = R"y(id: r5
down_revision: r4
message: audit trigger
upgrade:
  - create_table: {name: audit, columns: {name: text}}
  - sql:
      sqlite: |
        CREATE TRIGGER users_audit AFTER INSERT ON users
        BEGIN INSERT INTO audit (name) VALUES (NEW.name); END
      postgresql: |
        CREATE FUNCTION users_audit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO audit (name) VALUES (NEW.name); RETURN NEW; END $$;
        CREATE TRIGGER users_audit AFTER INSERT ON users
        FOR EACH ROW EXECUTE FUNCTION users_audit()
downgrade:
  - sql:
      sqlite: "DROP TRIGGER users_audit"
      postgresql: "DROP TRIGGER users_audit ON users; DROP FUNCTION users_audit()"
  - drop_table: {name: audit, columns: {name: text}}
)y";
constexpr const char* kNarrow = R"y(id: r6
down_revision: r5
message: narrow name again
upgrade:
  - alter_column: {table: users, column: name, from: {type: "string(200)", nullable: false},
                   to: {type: text, nullable: false}}
downgrade:
  - alter_column: {table: users, column: name, from: {type: text, nullable: false},
                   to: {type: "string(200)", nullable: false}}
)y";

TEST_P(MigrateTest, TriggersSurviveTableRebuilds) {
  write("r5_trigger.yaml", kTrigger);
  write("r6_narrow.yaml", kNarrow);
  EXPECT_EQ(migrate::upgrade(*db_, dir_).size(), 6u);
  db_->execute("INSERT INTO users (name) VALUES ('cy')");
  EXPECT_EQ(dump("SELECT name FROM audit"), (Lines{"cy"}));
  EXPECT_EQ(migrate::downgrade(*db_, dir_, "-1"), (Lines{"r6"}));
  db_->execute("INSERT INTO users (name) VALUES ('di')");
  EXPECT_EQ(dump("SELECT name FROM audit ORDER BY name"), (Lines{"cy", "di"}));
  EXPECT_EQ(migrate::downgrade(*db_, dir_, "r4"), (Lines{"r5"}));
}

// Adding a foreign key that existing rows break: SQLite's rebuild is caught by
// foreign_key_check, PostgreSQL's ADD CONSTRAINT refuses; either way nothing changes.
TEST_P(MigrateTest, ForeignKeyBrokenByExistingRowsRollsBack) {
  write("r5_comments.yaml", R"y(id: r5
down_revision: r4
upgrade:
  - create_table: {name: comments, columns: {id: {type: integer, nullable: false}, post_id: bigint},
                   primary_key: [id]}
downgrade:
  - drop_table: {name: comments, columns: {id: {type: integer, nullable: false}, post_id: bigint},
                 primary_key: [id]}
)y");
  write("r6_fk.yaml", R"y(id: r6
down_revision: r5
upgrade:
  - add_foreign_key: {table: comments, name: comments_post_id_fkey, columns: [post_id],
                      references: {table: posts, columns: [id]}}
downgrade:
  - drop_foreign_key: {table: comments, name: comments_post_id_fkey, columns: [post_id],
                       references: {table: posts, columns: [id]}}
)y");
  migrate::upgrade(*db_, dir_, "r5");
  db_->execute("INSERT INTO comments (id, post_id) VALUES (1, 42)");
  const auto schema_before = reflected();
  try {
    migrate::upgrade(*db_, dir_);
    ADD_FAILURE() << "an orphan row passed the new foreign key";
  } catch (const migrate::MigrationError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::foreign_key_violation) << e.what();
    EXPECT_NE(std::string(e.what()).find("revision r6"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("comments"), std::string::npos) << e.what();
  }
  EXPECT_EQ(reflected(), schema_before);
  EXPECT_EQ(migrate::current(*db_, dir_), "r5");
  EXPECT_EQ(dump("SELECT id, post_id FROM comments"), (Lines{"1|42"}));
}

TEST_P(MigrateTest, HeldLockMakesUpgradeWaitThenGiveUp) {
  auto held = acquire_instance_lock(config(), "keel-migrate");
  try {
    migrate::upgrade(*db_, dir_, "head", {.lock_timeout = std::chrono::milliseconds(200)});
    ADD_FAILURE() << "upgrade ran while another migration held the lock";
  } catch (const migrate::MigrationError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::timeout);
    EXPECT_NE(std::string(e.what()).find("migration lock"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(migrate::history(*db_).empty());
  held.reset();
  EXPECT_EQ(migrate::upgrade(*db_, dir_).size(), 4u);
}

TEST_P(MigrateTest, DatabaseAheadOfTheFilesIsRefused) {
  migrate::upgrade(*db_, dir_);
  fs::remove(fs::path(dir_) / "r4_widen_name.yaml");
  try {
    migrate::upgrade(*db_, dir_);
    ADD_FAILURE() << "upgrade ignored an applied revision it does not know";
  } catch (const migrate::MigrationError& e) {
    EXPECT_NE(std::string(e.what()).find("r4"), std::string::npos) << e.what();
  }
  auto report = migrate::check(*db_, dir_);
  EXPECT_FALSE(report.ok);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].find("ahead"), std::string::npos) << report.problems[0];
}

KEEL_BACKEND_TEST_SUITE(MigrateTest);

}  // namespace
}  // namespace keel
