// The migration verbs of `keel` as a process, on each backend: the standard history
// (support/revision_fixtures.hpp) in the test's scratch directory, run through the command.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "keel/migrate.hpp"
#include "keel/schema.hpp"
#include "migrate_cli_fixture.hpp"

namespace keel::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class CliMigrateTest : public CliMigrationTest {
 protected:
  // The application's tables (reflection leaves keel_version out).
  std::vector<std::string> tables() const {
    auto c = connect();
    std::vector<std::string> names;
    for (const auto& t : schema::reflect(*c).tables) names.push_back(t.name);
    std::sort(names.begin(), names.end());
    return names;
  }
};

TEST_P(CliMigrateTest, UpgradeHeadAppliesEveryRevisionAndCurrentShowsHead) {
  EXPECT_EQ(current(), "none (head is r4)\n");
  auto r = keel({"upgrade", "head"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(without_durations(r.out),
            "applying r1 users ... ok\napplying r2 posts ... ok\napplying r3 email ... ok\n"
            "applying r4 widen name ... ok\n");
  EXPECT_EQ(tables(), (std::vector<std::string>{"posts", "users"}));
  EXPECT_EQ(current(), "r4 (head)\n");

  auto j = keel({"current", "--json"});
  ASSERT_EQ(j.exit_code, 0) << describe(j);
  auto doc = json::parse(j.out, nullptr, false);
  EXPECT_EQ(doc["current"], "r4") << j.out;
  EXPECT_EQ(doc["head"], "r4") << j.out;
  EXPECT_EQ(doc["at_head"], true) << j.out;

  auto again = keel({"upgrade"});
  EXPECT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_EQ(again.out, "nothing to do: the database is at r4\n");
}

TEST_P(CliMigrateTest, UpgradePlusNAndARevisionPrefixStopThere) {
  auto one = keel({"upgrade", "+1"});
  ASSERT_EQ(one.exit_code, 0) << describe(one);
  EXPECT_EQ(without_durations(one.out), "applying r1 users ... ok\n");
  EXPECT_EQ(current(), "r1 (head is r4)\n");
  auto two = keel({"upgrade", "r2", "--json"});
  ASSERT_EQ(two.exit_code, 0) << describe(two);
  auto doc = json::parse(two.out, nullptr, false);
  EXPECT_EQ(doc["applied"], json::array({"r2"})) << two.out;
  EXPECT_EQ(doc["current"], "r2") << two.out;
}

TEST_P(CliMigrateTest, HistoryListsRevisionsNewestFirstWithWhatIsApplied) {
  ASSERT_EQ(keel({"upgrade", "+2"}).exit_code, 0);
  auto r = keel({"history"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::istringstream lines(r.out);
  std::vector<std::string> got;
  for (std::string line; std::getline(lines, line);) got.push_back(line);
  ASSERT_EQ(got.size(), 4u) << r.out;
  EXPECT_EQ(got[0], "r3 -> r4 (head), widen name [pending]");
  EXPECT_EQ(got[1], "r2 -> r3, email [pending]");
  EXPECT_TRUE(got[2].starts_with("r1 -> r2, posts [applied ")) << got[2];
  EXPECT_TRUE(got[3].starts_with("<base> -> r1, users [applied ")) << got[3];

  auto j = keel({"history", "--json"});
  ASSERT_EQ(j.exit_code, 0) << describe(j);
  auto doc = json::parse(j.out, nullptr, false);
  ASSERT_TRUE(doc.is_array()) << j.out;
  ASSERT_EQ(doc.size(), 4u) << j.out;
  EXPECT_EQ(doc[0]["id"], "r1");
  EXPECT_EQ(doc[0]["applied"], true);
  EXPECT_TRUE(doc[0]["applied_at"].is_string()) << j.out;
  EXPECT_EQ(doc[1]["down_revisions"], json::array({"r1"}));
  EXPECT_EQ(doc[3]["id"], "r4");
  EXPECT_EQ(doc[3]["applied"], false);
  EXPECT_EQ(doc[3]["head"], true);
}

TEST_P(CliMigrateTest, DowngradeMinusOneThenBaseRevertsNewestFirst) {
  ASSERT_EQ(keel({"upgrade", "head"}).exit_code, 0);
  auto back = keel({"downgrade", "-1"});
  ASSERT_EQ(back.exit_code, 0) << describe(back);
  EXPECT_EQ(without_durations(back.out), "reverting r4 widen name ... ok\n");
  EXPECT_EQ(current(), "r3 (head is r4)\n");

  auto base = keel({"downgrade", "base"});
  ASSERT_EQ(base.exit_code, 0) << describe(base);
  EXPECT_EQ(without_durations(base.out),
            "reverting r3 email ... ok\nreverting r2 posts ... ok\nreverting r1 users ... ok\n");
  EXPECT_EQ(current(), "none (head is r4)\n");
  EXPECT_TRUE(tables().empty());

  auto missing = run_keel({"downgrade", "--url", url(), "--migrations", dir()}, options());
  EXPECT_EQ(missing.exit_code, 2) << describe(missing);
}

TEST_P(CliMigrateTest, StampRecordsARevisionWithoutRunningIt) {
  auto r = keel({"stamp", "r2"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "stamped r2\n");
  EXPECT_EQ(current(), "r2 (head is r4)\n");
  EXPECT_TRUE(tables().empty());  // nothing ran

  auto base = keel({"stamp", "base"});
  ASSERT_EQ(base.exit_code, 0) << describe(base);
  EXPECT_EQ(current(), "none (head is r4)\n");
}

TEST_P(CliMigrateTest, CheckExitsZeroAtHeadAndOneWhenBehindOrTampered) {
  ASSERT_EQ(keel({"upgrade", "+1"}).exit_code, 0);
  auto behind = keel({"check"});
  EXPECT_EQ(behind.exit_code, 1) << describe(behind);
  EXPECT_TRUE(contains(behind.out, "behind")) << behind.out;
  EXPECT_TRUE(contains(behind.out, "r2")) << behind.out;
  auto j = keel({"check", "--json"});
  EXPECT_EQ(j.exit_code, 1) << describe(j);
  auto doc = json::parse(j.out, nullptr, false);
  EXPECT_EQ(doc["ok"], false) << j.out;
  EXPECT_EQ(doc["problems"].size(), 1u) << j.out;

  ASSERT_EQ(keel({"upgrade", "head"}).exit_code, 0);
  auto ok = keel({"check"});
  EXPECT_EQ(ok.exit_code, 0) << describe(ok);

  // Trailing white space is no change; a changed operation is.
  write_file(fs::path(dir()) / "r1_users.yaml", standard_revision(1) + "   \n");
  EXPECT_EQ(keel({"check"}).exit_code, 0);
  std::string edited = standard_revision(1);
  edited.replace(edited.find("name: {type: text"), 17, "name: {type: blob");
  write_file(fs::path(dir()) / "r1_users.yaml", edited);
  auto tampered = keel({"check"});
  EXPECT_EQ(tampered.exit_code, 1) << describe(tampered);
  EXPECT_TRUE(contains(tampered.out, "r1")) << tampered.out;
  auto refused = keel({"upgrade", "head"});
  EXPECT_EQ(refused.exit_code, 1) << describe(refused);
}

TEST_P(CliMigrateTest, CheckOfAnAheadDatabaseNamesTheUnknownRevision) {
  ASSERT_EQ(keel({"upgrade", "head"}).exit_code, 0);
  fs::remove(fs::path(dir()) / "r4_widen_name.yaml");
  auto r = keel({"check"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(contains(r.out, "ahead")) << r.out;
  EXPECT_TRUE(contains(r.out, "r4")) << r.out;
}

TEST_P(CliMigrateTest, UpgradeSqlFedToTheRealClientGivesADatabaseCheckAccepts) {
  auto sql = keel({"upgrade", "head", "--sql"});
  ASSERT_EQ(sql.exit_code, 0) << describe(sql);
  EXPECT_TRUE(contains(sql.out, "keel_version")) << sql.out;
  // --sql touches no database.
  if (is_sqlite()) EXPECT_FALSE(fs::exists(config().url.path));
  else EXPECT_TRUE(tables().empty());

  fs::path script = temp_dir() / "upgrade.sql";
  write_file(script, sql.out);
  ProcessResult client = run_sql_client(config(), script);
  ASSERT_EQ(client.exit_code, 0) << describe(client);

  auto check = keel({"check"});
  EXPECT_EQ(check.exit_code, 0) << describe(check);
  EXPECT_EQ(current(), "r4 (head)\n");
  EXPECT_EQ(tables(), (std::vector<std::string>{"posts", "users"}));

  // The same script as the library renders for this dialect, whatever the URL says.
  auto other = run_keel({"upgrade", "--sql", "--dialect", to_string(backend()), "--migrations",
                         dir(), "--url", "sqlite:///unused.db"},
                        options());
  EXPECT_EQ(other.out, migrate::upgrade_sql(dir(), backend()));
  EXPECT_FALSE(fs::exists(temp_dir() / "unused.db"));
}

TEST_P(CliMigrateTest, DowngradeSqlPrintsTheRevertScript) {
  auto r = keel({"downgrade", "r1", "--sql"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, migrate::downgrade_sql(dir(), backend(), "head", "r1"));
  EXPECT_TRUE(contains(r.out, "DROP TABLE")) << r.out;
  EXPECT_TRUE(tables().empty());
}

TEST_P(CliMigrateTest, BrokenRevisionFileExits2NamingFileLineAndKey) {
  write_file(fs::path(dir()) / "r5_bad.yaml",
             "id: r5\ndown_revision: r4\nmessage: bad\nupgrade:\n  - frobnicate: {table: users}\n");
  for (const char* verb : {"upgrade", "current", "check", "history"}) {
    auto r = keel({verb});
    EXPECT_EQ(r.exit_code, 2) << verb << ": " << describe(r);
    EXPECT_TRUE(contains(r.err, "r5_bad.yaml:5:")) << r.err;
    EXPECT_TRUE(contains(r.err, "upgrade[0]")) << r.err;
  }
  EXPECT_TRUE(tables().empty());
}

TEST_P(CliMigrateTest, UnknownRevisionAndMissingDirectoryExit2) {
  auto unknown = keel({"upgrade", "nope"});
  EXPECT_EQ(unknown.exit_code, 2) << describe(unknown);
  EXPECT_TRUE(contains(unknown.err, "unknown revision 'nope'")) << unknown.err;
  EXPECT_TRUE(contains(unknown.err, "r1, r2, r3, r4")) << unknown.err;

  auto none = run_keel({"current", "--url", url()}, options());
  EXPECT_EQ(none.exit_code, 2) << describe(none);
  EXPECT_TRUE(contains(none.err, "--migrations DIR")) << none.err;
  EXPECT_TRUE(contains(none.err, "keel.yaml")) << none.err;
}

TEST_P(CliMigrateTest, MigrationsDirectoryComesFromKeelYamlRelativeToIt) {
  fs::create_directories(temp_dir() / "conf");
  fs::rename(dir(), temp_dir() / "conf" / "revs");
  write_file(temp_dir() / "conf" / "app.yaml", "migrations: revs/\n");
  auto r = run_keel({"--config", "conf/app.yaml", "upgrade", "head", "--url", url()}, options());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto c = run_keel({"current", "--config", "conf/app.yaml", "--url", url()}, options());
  EXPECT_EQ(c.out, "r4 (head)\n") << describe(c);
}

TEST_P(CliMigrateTest, RevisionWritesAnEmptyRevisionOnTopOfTheHead) {
  auto r = keel({"revision", "-m", "Add user e-mail!", "--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto doc = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << r.out;
  EXPECT_EQ(doc["down_revision"], "r4");
  std::string id = doc["id"];
  EXPECT_EQ(doc["path"], (fs::path(dir()) / (id + "_add_user_e_mail.yaml")).string());

  auto second = keel({"revision", "-m", "second"});
  ASSERT_EQ(second.exit_code, 0) << describe(second);
  migrate::History history = migrate::load_history(dir());
  ASSERT_EQ(history.revisions.size(), 6u);
  EXPECT_EQ(history.revisions[4].id, id);
  EXPECT_EQ(history.revisions[4].message, "Add user e-mail!");
  EXPECT_EQ(history.revisions[5].down_revisions, std::vector<std::string>{id});
  EXPECT_TRUE(contains(second.out, history.head())) << second.out;

  auto up = keel({"upgrade", "head"});
  ASSERT_EQ(up.exit_code, 0) << describe(up);
  EXPECT_EQ(keel({"check"}).exit_code, 0);

  auto no_message = keel({"revision"});
  EXPECT_EQ(no_message.exit_code, 2) << describe(no_message);
}

TEST_P(CliMigrateTest, InitWritesAProjectThatRevisionAndUpgradeUse) {
  fs::path project = temp_dir() / "project";
  auto init = run_keel({"init", project.string()}, options());
  ASSERT_EQ(init.exit_code, 0) << describe(init);
  EXPECT_TRUE(fs::is_regular_file(project / "keel.yaml"));
  EXPECT_TRUE(fs::is_regular_file(project / "schema.yaml"));
  EXPECT_TRUE(fs::is_directory(project / "migrations"));
  EXPECT_NO_THROW(schema::load_schema_file((project / "schema.yaml").string()));

  std::string config = (project / "keel.yaml").string();
  auto rev = run_keel({"--config", config, "revision", "-m", "baseline"}, options());
  ASSERT_EQ(rev.exit_code, 0) << describe(rev);
  auto up = run_keel({"--config", config, "--url", url(), "upgrade"}, options());
  ASSERT_EQ(up.exit_code, 0) << describe(up);
  auto check = run_keel({"--config", config, "--url", url(), "check"}, options());
  EXPECT_EQ(check.exit_code, 0) << describe(check);

  auto again = run_keel({"init", project.string()}, options());
  EXPECT_EQ(again.exit_code, 2) << describe(again);
  EXPECT_TRUE(contains(again.err, "already exists")) << again.err;
}

TEST_P(CliMigrateTest, AFailingRevisionExits1NamingItAndLeavesTheDatabaseAsItWas) {
  ASSERT_EQ(keel({"upgrade", "head"}).exit_code, 0);
  write_file(fs::path(dir()) / "r5_fails.yaml",
             "id: r5\ndown_revision: r4\nmessage: fails\nupgrade:\n"
             "  - add_column: {table: users, column: {name: age, type: integer}}\n"
             "  - sql: \"INSERT INTO no_such_table VALUES (1)\"\n"
             "downgrade:\n"
             "  - drop_column: {table: users, column: {name: age, type: integer}}\n");
  auto r = keel({"upgrade", "head"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(contains(r.err, "r5")) << r.err;
  EXPECT_TRUE(contains(r.err, "no_such_table")) << r.err;
  EXPECT_FALSE(contains(r.err, ":keel@")) << r.err;  // the password stays out
  EXPECT_EQ(r.out, "applying r5 fails ... failed\n");
  EXPECT_EQ(current(), "r4 (head is r5)\n");
  auto c = connect();
  std::size_t users_columns = 0;
  for (const auto& t : schema::reflect(*c).tables)
    if (t.name == "users") users_columns = t.columns.size();
  EXPECT_EQ(users_columns, 3u);  // no `age`
}

TEST_P(CliMigrateTest, CheckComparesADatabaseAtHeadWithTheSchemaFile) {
  write_file(temp_dir() / "schema.yaml", standard_head_schema());
  ASSERT_EQ(keel({"upgrade", "+2"}).exit_code, 0);
  // Behind: only that is reported, not the differences it causes.
  auto behind = keel({"check", "--schema", "schema.yaml"});
  EXPECT_EQ(behind.exit_code, 1) << describe(behind);
  EXPECT_TRUE(contains(behind.out, "behind")) << behind.out;
  EXPECT_FALSE(contains(behind.out, "differs")) << behind.out;

  ASSERT_EQ(keel({"upgrade", "head"}).exit_code, 0);
  auto ok = keel({"check", "--schema", "schema.yaml"});
  EXPECT_EQ(ok.exit_code, 0) << describe(ok);
  EXPECT_TRUE(contains(ok.out, "matches schema.yaml")) << ok.out;

  connect()->execute("ALTER TABLE users ADD COLUMN nickname TEXT");
  auto differs = keel({"check", "--schema", "schema.yaml", "--json"});
  EXPECT_EQ(differs.exit_code, 1) << describe(differs);
  auto doc = json::parse(differs.out, nullptr, false);
  ASSERT_EQ(doc["problems"].size(), 1u) << differs.out;
  EXPECT_EQ(doc["problems"][0],
            "the database at head differs from schema.yaml: needs drop column users.nickname");

  // The schema file from keel.yaml's `schema:`; one it names that is missing is exit 2.
  write_file(temp_dir() / "keel.yaml", "schema: schema.yaml\n");
  EXPECT_EQ(keel({"check"}).exit_code, 1);
  write_file(temp_dir() / "keel.yaml", "schema: nowhere.yaml\n");
  auto missing = keel({"check"});
  EXPECT_EQ(missing.exit_code, 2) << describe(missing);
  EXPECT_TRUE(contains(missing.err, "nowhere.yaml: schema file not found")) << missing.err;
}

KEEL_BACKEND_TEST_SUITE(CliMigrateTest);

}  // namespace
}  // namespace keel::testing
