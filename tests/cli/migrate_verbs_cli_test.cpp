// `keel merge`, `revision --autogenerate`, `upgrade --backup`, `stamp --adopt` and the
// progress lines of upgrade/downgrade, as a process on each backend.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "keel/database.hpp"
#include "keel/migrate.hpp"
#include "keel/schema.hpp"
#include "migrate_cli_fixture.hpp"

namespace keel::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Lines = std::vector<std::string>;

// The ids of the "applying <id> …" lines of `out`, in order.
Lines applying(const std::string& out) {
  Lines ids;
  for (const auto& line : lines_of(out))
    if (line.starts_with("applying ")) ids.push_back(line.substr(9, line.find(' ', 9) - 9));
  return ids;
}

class CliMigrateVerbsTest : public CliMigrationTest {
 protected:
  std::size_t files() const {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(dir()), fs::directory_iterator()));
  }
  Lines columns(const std::string& table) const {
    auto c = connect();
    Lines out;
    for (const auto& t : schema::reflect(*c).tables)
      if (t.name == table)
        for (const auto& col : t.columns) out.push_back(col.name);
    return out;
  }
  Lines applied() const {
    Database db(config());
    Lines out;
    for (const auto& r : migrate::history(db)) out.push_back(r.id);
    return out;
  }
  std::string scalar(const std::string& sql) const {
    auto c = connect();
    return (*c->query_one(sql))[0].to_display();
  }
};

TEST_P(CliMigrateVerbsTest, ProgressLinesShowEachRevisionAsItCompletes) {
  auto up = keel({"upgrade", "r2"});
  ASSERT_EQ(up.exit_code, 0) << describe(up);
  Lines got = lines_of(up.out);
  ASSERT_EQ(got.size(), 2u) << up.out;
  EXPECT_TRUE(std::regex_match(got[0], std::regex(R"(applying r1 users \.\.\. ok \(\d+ ms\))")))
      << got[0];
  EXPECT_TRUE(std::regex_match(got[1], std::regex(R"(applying r2 posts \.\.\. ok \(\d+ ms\))")))
      << got[1];
  // --json keeps to its one document.
  auto j = keel({"downgrade", "base", "--json"});
  ASSERT_EQ(j.exit_code, 0) << describe(j);
  auto doc = json::parse(j.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << j.out;
  EXPECT_EQ(doc["reverted"], json::array({"r2", "r1"}));
}

TEST_P(CliMigrateVerbsTest, MergeJoinsTwoHeadsSoThatUpgradeAndDowngradeRunAcrossIt) {
  fs::remove(fs::path(dir()) / "r3_email.yaml");
  fs::remove(fs::path(dir()) / "r4_widen_name.yaml");
  write_revision_file(dir(), "ra_a.yaml", add_column_revision("ra", "r2", "users", "a"));
  write_revision_file(dir(), "rb_b.yaml", add_column_revision("rb", "r2", "users", "b"));

  auto refused = keel({"upgrade", "head"});
  EXPECT_EQ(refused.exit_code, 2) << describe(refused);
  EXPECT_TRUE(contains(refused.err, "ra (")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "rb (")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "keel merge")) << refused.err;
  EXPECT_EQ(refused.out, "");

  auto merge = keel({"merge", "--json"});
  ASSERT_EQ(merge.exit_code, 0) << describe(merge);
  auto doc = json::parse(merge.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << merge.out;
  EXPECT_EQ(doc["down_revision"], json::array({"ra", "rb"}));
  std::string id = doc["id"];
  EXPECT_EQ(migrate::load_revision_file(doc["path"]).message, "merge ra and rb");

  auto again = keel({"merge"});
  EXPECT_EQ(again.exit_code, 2) << describe(again);
  EXPECT_TRUE(contains(again.err, "nothing to merge")) << again.err;

  auto up = keel({"upgrade", "head"});
  ASSERT_EQ(up.exit_code, 0) << describe(up);
  EXPECT_EQ(applying(up.out), (Lines{"r1", "r2", "ra", "rb", id}));
  EXPECT_TRUE(contains(up.out, "applying " + id + " merge ra and rb ... ok")) << up.out;
  EXPECT_EQ(columns("users"), (Lines{"id", "name", "a", "b"}));
  EXPECT_EQ(current(), id + " (head)\n");

  auto down = keel({"downgrade", "base"});
  ASSERT_EQ(down.exit_code, 0) << describe(down);
  EXPECT_EQ(lines_of(down.out).size(), 5u) << down.out;
  EXPECT_TRUE(columns("users").empty());
  EXPECT_TRUE(applied().empty());
}

TEST_P(CliMigrateVerbsTest, AutogenerateWritesTheDiffThatUpgradeThenMakesCheckAccept) {
  ASSERT_EQ(keel({"upgrade", "head"}).exit_code, 0);
  // The head schema, plus users.nickname and an index on users.email.
  std::string schema = standard_head_schema();
  const std::string email = "      email: \"string(100)\"\n    primary_key: [id]\n";
  ASSERT_NE(schema.find(email), std::string::npos) << schema;
  schema.replace(schema.find(email), email.size(),
                 "      email: \"string(100)\"\n      nickname: text\n    primary_key: [id]\n"
                 "    indexes:\n      - {name: ix_users_email, columns: [email]}\n");
  write_file(temp_dir() / "schema.yaml", schema);

  const std::size_t before = files();
  auto r = keel({"revision", "-m", "nickname", "--autogenerate", "--schema", "schema.yaml"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  Lines got = lines_of(r.out);
  ASSERT_EQ(got.size(), 3u) << r.out;
  EXPECT_TRUE(got[0].starts_with("created ")) << r.out;
  EXPECT_TRUE(contains(got[1], "add column users.nickname")) << r.out;
  EXPECT_TRUE(contains(got[2], "create index ix_users_email")) << r.out;
  EXPECT_EQ(files(), before + 1);

  auto behind_check = keel({"check", "--schema", "schema.yaml"});
  EXPECT_EQ(behind_check.exit_code, 1) << describe(behind_check);
  auto up = keel({"upgrade", "head"});
  ASSERT_EQ(up.exit_code, 0) << describe(up);
  auto check = keel({"check", "--schema", "schema.yaml"});
  EXPECT_EQ(check.exit_code, 0) << describe(check);

  // Nothing left to write; the schema file named by keel.yaml's `schema:`.
  write_file(temp_dir() / "keel.yaml", "schema: schema.yaml\n");
  auto none = keel({"revision", "-m", "again", "--autogenerate"});
  EXPECT_EQ(none.exit_code, 0) << describe(none);
  EXPECT_EQ(none.out, "no changes: the database at head matches schema.yaml\n");
  EXPECT_EQ(files(), before + 1);

  auto down = keel({"downgrade", "-1"});
  ASSERT_EQ(down.exit_code, 0) << describe(down);
  EXPECT_EQ(columns("users"), (Lines{"id", "name", "email"}));
}

TEST_P(CliMigrateVerbsTest, AutogenerateRefusesADatabaseBehindHeadAndWritesNothing) {
  write_file(temp_dir() / "schema.yaml", standard_head_schema());
  ASSERT_EQ(keel({"upgrade", "+2"}).exit_code, 0);
  const std::size_t before = files();
  auto r = keel({"revision", "-m", "x", "--autogenerate", "--schema", "schema.yaml"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(contains(r.err, "behind")) << r.err;
  EXPECT_TRUE(contains(r.err, "keel upgrade head")) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(files(), before);

  auto no_schema = keel({"revision", "-m", "x", "--autogenerate"});
  EXPECT_EQ(no_schema.exit_code, 2) << describe(no_schema);
  EXPECT_TRUE(contains(no_schema.err, "--schema")) << no_schema.err;
  EXPECT_EQ(files(), before);
}

TEST_P(CliMigrateVerbsTest, UpgradeBackupWritesACopyFirstOnSqliteAndExits2OnPostgresql) {
  ASSERT_EQ(keel({"upgrade", "r2"}).exit_code, 0);
  if (is_postgresql()) {
    auto r = keel({"upgrade", "head", "--backup"});
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_TRUE(contains(r.err, "pg_dump")) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(current(), "r2 (head is r4)\n");
    return;
  }
  connect()->execute("INSERT INTO users (name) VALUES ('ann')");
  auto r = keel({"upgrade", "head", "--backup"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  Lines got = lines_of(r.out);
  ASSERT_EQ(got.size(), 3u) << r.out;
  ASSERT_TRUE(got[0].starts_with("backup: ")) << r.out;
  EXPECT_TRUE(got[1].starts_with("applying r3 email ... ok")) << r.out;
  std::string copy = got[0].substr(8);
  EXPECT_TRUE(std::regex_match(fs::path(copy).filename().string(),
                               std::regex(R"(.*\.db\.r2\.\d{8}T\d{6}Z\.bak)")))
      << copy;
  fs::path copy_path = fs::path(copy).is_absolute() ? fs::path(copy) : temp_dir() / copy;
  ASSERT_TRUE(fs::is_regular_file(copy_path)) << copy_path;

  Config copy_config = config();
  copy_config.url.path = copy_path.string();
  Database backup(copy_config);
  EXPECT_EQ(migrate::current(backup, dir()), "r2");
  EXPECT_EQ((*backup.query_one("SELECT name FROM users"))[0].to_display(), "ann");
  {
    auto lease = backup.connection();
    for (const auto& t : schema::reflect(*lease).tables) {
      if (t.name == "users") {
        EXPECT_EQ(t.columns.size(), 2u);  // before r3's email
      }
    }
  }

  // Nothing to run: no copy; --json names it (null here).
  auto j = keel({"upgrade", "head", "--backup", "--json"});
  ASSERT_EQ(j.exit_code, 0) << describe(j);
  auto doc = json::parse(j.out, nullptr, false);
  EXPECT_TRUE(doc.contains("backup") && doc["backup"].is_null()) << j.out;
}

TEST_P(CliMigrateVerbsTest, StampAdoptStampsAMatchingLegacyDatabase) {
  {
    auto c = connect();
    create_legacy_database(*c, replay_upgrades(dir(), "r2"), "schema_migrations", 3);
  }
  auto r = keel({"stamp", "r2", "--adopt"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out,
            "adopted: stamped r2 (schema matches; legacy table schema_migrations lists 3 "
            "versions, now unused)\n");
  EXPECT_EQ(current(), "r2 (head is r4)\n");
  auto up = keel({"upgrade", "head"});
  ASSERT_EQ(up.exit_code, 0) << describe(up);
  EXPECT_EQ(applying(up.out), (Lines{"r3", "r4"}));
  EXPECT_EQ(scalar("SELECT count(*) FROM schema_migrations"), "3");

  auto twice = keel({"stamp", "r2", "--adopt"});
  EXPECT_EQ(twice.exit_code, 1) << describe(twice);
  EXPECT_TRUE(contains(twice.err, "keel stamp")) << twice.err;
}

TEST_P(CliMigrateVerbsTest, StampAdoptRefusesADifferingLegacyDatabaseListingTheDifferences) {
  schema::MetaData legacy = replay_upgrades(dir(), "r2");
  for (auto& t : legacy.tables)
    if (t.name == "users") t.columns.pop_back();  // no `name`
  schema::Table& extra = legacy.tables.emplace_back();
  extra.name = "audit";
  extra.columns.emplace_back().name = "line";
  {
    auto c = connect();
    create_legacy_database(*c, legacy, "applied_versions", 2);
    c->execute("INSERT INTO audit (line) VALUES ('kept')");
  }
  auto r = keel({"stamp", "r2", "--adopt", "--legacy-table", "applied_versions"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(contains(r.out, "needs: add column users.name")) << r.out;
  EXPECT_TRUE(contains(r.out, "needs: drop table audit")) << r.out;
  EXPECT_FALSE(contains(r.out, "applied_versions")) << r.out;
  EXPECT_TRUE(applied().empty());
  EXPECT_EQ(current(), "none (head is r4)\n");
  EXPECT_EQ(scalar("SELECT line FROM audit"), "kept");
  EXPECT_EQ(scalar("SELECT count(*) FROM applied_versions"), "2");

  // The default legacy table name is not this one: then it is a difference too.
  auto wrong = keel({"stamp", "r2", "--adopt", "--json"});
  EXPECT_EQ(wrong.exit_code, 1) << describe(wrong);
  auto doc = json::parse(wrong.out, nullptr, false);
  EXPECT_EQ(doc["adopted"], false) << wrong.out;
  EXPECT_EQ(doc["differences"].size(), 3u) << wrong.out;

  auto misuse = keel({"stamp", "r2", "--legacy-table", "x"});
  EXPECT_EQ(misuse.exit_code, 2) << describe(misuse);
}

KEEL_BACKEND_TEST_SUITE(CliMigrateVerbsTest);

}  // namespace
}  // namespace keel::testing
