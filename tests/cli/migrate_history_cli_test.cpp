// The long history of tests/data/long_history through the `keel` command on each
// backend: upgrade, check against its schema.yaml, downgrade to base and up again;
// and the `--sql` scripts fed to the server's own client (sqlite3, psql).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "keel/connection.hpp"
#include "keel/migrate.hpp"
#include "keel/schema.hpp"
#include "process.hpp"
#include "support/backend_test.hpp"

namespace keel::testing {
namespace {

namespace fs = std::filesystem;
using Lines = std::vector<std::string>;

const std::string kHistory = std::string(KEEL_SOURCE_DIR) + "/tests/data/long_history";
const std::string kMigrations = kHistory + "/migrations";
const std::string kSchemaFile = kHistory + "/schema.yaml";

bool contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

// The ids listed under `key` in the --json output `out` of upgrade or downgrade.
Lines ids_in(const std::string& out, const char* key) {
  auto doc = nlohmann::json::parse(out, nullptr, false);
  if (!doc.is_object() || !doc[key].is_array()) return {"<not JSON with " + std::string(key) + ">"};
  return doc[key].get<Lines>();
}

class CliMigrateHistoryTest : public BackendTest {
 protected:
  std::string url() const { return config().url.to_string(); }

  ProcessOptions options() const {
    ProcessOptions o = clean_env(temp_dir());
    o.timeout_s = 110;
    return o;
  }

  // `keel VERB args… --url URL --migrations DIR`.
  ProcessResult keel(std::vector<std::string> args) const {
    args.insert(args.end(), {"--url", url(), "--migrations", kMigrations});
    return run_keel(args, options());
  }

  ProcessResult check() const { return keel({"check", "--schema", kSchemaFile}); }

  // Rows of `sql`, each as "a|b|…".
  Lines rows(const std::string& sql) const {
    auto c = connect();
    Lines out;
    for (const Row& row : c->query(sql)) {
      std::string line;
      for (std::size_t i = 0; i < row.size(); ++i) line += (i ? "|" : "") + row[i].to_display();
      out.push_back(line);
    }
    return out;
  }

  // The child tables' rows at head (see the backend test for every revision's).
  void expect_rows_at_head() const {
    EXPECT_EQ(rows("SELECT id, full_name, born, email FROM authors ORDER BY id"),
              (Lines{"1|Ann|1951|ann@example.org", "2|Bob|NULL|bob@example.org",
                     "3|Cy|1981|cy@example.org"}));
    EXPECT_EQ(rows("SELECT id, author_id, title, page_count FROM books ORDER BY id"),
              (Lines{"1|1|A1|100", "2|1|A2|NULL", "3|2|B1|300", "4|3|C1|50"}));
    EXPECT_EQ(rows("SELECT id, book_id, stars, body FROM reviews ORDER BY id"),
              (Lines{"1|1|5|great", "2|1|3|ok", "3|3|4|NULL", "4|4|2|meh"}));
    EXPECT_EQ(rows("SELECT id, label FROM labels ORDER BY id"),
              (Lines{"1|fiction", "2|poetry", "3|essay"}));
  }

  std::vector<std::string> tables() const {
    auto c = connect();
    std::vector<std::string> names;
    for (const auto& t : schema::reflect(*c).tables) names.push_back(t.name);
    return names;
  }

  // Feeds `script` to the backend's own client, from the file `name`.
  ProcessResult run_client(const std::string& script, const std::string& name) const {
    fs::path file = temp_dir() / name;
    write_file(file, script);
    return run_sql_client(config(), file);
  }
};

TEST_P(CliMigrateHistoryTest, UpgradeHeadPassesCheckAndSurvivesDowngradeToBaseAndBack) {
  const migrate::History h = migrate::load_history(kMigrations);
  Lines all, reversed;
  for (const auto& rev : h.revisions) all.push_back(rev.id);
  reversed.assign(all.rbegin(), all.rend());

  auto up = keel({"upgrade", "head", "--json"});
  ASSERT_EQ(up.exit_code, 0) << describe(up);
  EXPECT_EQ(ids_in(up.out, "applied"), all) << up.out;
  auto ok = check();
  EXPECT_EQ(ok.exit_code, 0) << describe(ok);
  expect_rows_at_head();

  auto down = keel({"downgrade", "base", "--json"});
  ASSERT_EQ(down.exit_code, 0) << describe(down);
  EXPECT_EQ(ids_in(down.out, "reverted"), reversed) << down.out;
  EXPECT_TRUE(tables().empty());
  auto behind = check();
  EXPECT_EQ(behind.exit_code, 1) << describe(behind);

  auto again = keel({"upgrade", "head", "--json"});
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_EQ(ids_in(again.out, "applied"), all) << again.out;
  auto still_ok = check();
  EXPECT_EQ(still_ok.exit_code, 0) << describe(still_ok);
  expect_rows_at_head();
}

TEST_P(CliMigrateHistoryTest, UpgradeSqlFedToTheRealClientPassesCheckAndDowngradeSqlUndoesIt) {
  auto sql = keel({"upgrade", "head", "--sql", "--dialect", to_string(backend())});
  ASSERT_EQ(sql.exit_code, 0) << describe(sql);
  auto client = run_client(sql.out, "upgrade.sql");
  ASSERT_EQ(client.exit_code, 0) << describe(client);

  auto ok = check();
  EXPECT_EQ(ok.exit_code, 0) << describe(ok);
  EXPECT_TRUE(contains(ok.out, "schema.yaml")) << ok.out;
  expect_rows_at_head();

  auto back = keel({"downgrade", "base", "--sql", "--dialect", to_string(backend())});
  ASSERT_EQ(back.exit_code, 0) << describe(back);
  auto undo = run_client(back.out, "downgrade.sql");
  ASSERT_EQ(undo.exit_code, 0) << describe(undo);
  EXPECT_TRUE(tables().empty());
  auto current = keel({"current"});
  EXPECT_EQ(current.out,
            fmt::format("none (head is {})\n", migrate::load_history(kMigrations).head()))
      << describe(current);
}

KEEL_BACKEND_TEST_SUITE(CliMigrateHistoryTest);

}  // namespace
}  // namespace keel::testing
