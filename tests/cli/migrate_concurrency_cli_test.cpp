// Two `keel upgrade head` processes started at the same moment against one database,
// on each backend: the migration lock lets one apply the history while the other
// waits, and then finds nothing left to do. The history is the long one of
// tests/data/long_history with a slow revision on top, so the runs overlap.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "keel/connection.hpp"
#include "keel/migrate.hpp"
#include "process.hpp"
#include "support/backend_test.hpp"

namespace keel::testing {
namespace {

namespace fs = std::filesystem;
using Lines = std::vector<std::string>;

const std::string kMigrations =
    std::string(KEEL_SOURCE_DIR) + "/tests/data/long_history/migrations";

// About a second and a half of work in one transaction: PostgreSQL sleeps, SQLite
// counts to a few million.
constexpr const char* kSlow = R"y(id: slow
down_revision: h27
message: a slow data migration
created: 2026-03-01T00:00:00Z
upgrade:
  - sql:
      sqlite: |
        WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5000000)
        SELECT count(*) FROM n
      postgresql: "SELECT pg_sleep(1.5)"
downgrade: []
)y";

// The ids `keel upgrade --json` printed as applied.
Lines applied_ids(const std::string& out) {
  auto doc = nlohmann::json::parse(out, nullptr, false);
  if (!doc.is_object() || !doc["applied"].is_array()) return {"<not JSON with applied>"};
  return doc["applied"].get<Lines>();
}

class CliMigrateConcurrencyTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    dir_ = temp_dir() / "migrations";
    fs::create_directories(dir_);
    for (const auto& entry : fs::directory_iterator(kMigrations))
      fs::copy_file(entry.path(), dir_ / entry.path().filename());
    write_file(dir_ / "slow_revision.yaml", kSlow);
  }

  ProcessOptions options() const { return clean_env(temp_dir()); }

  std::vector<std::string> upgrade_args() const {
    return {"upgrade",      "head",       "--json", "--url", config().url.to_string(),
            "--migrations", dir_.string()};
  }

  fs::path dir_;
};

TEST_P(CliMigrateConcurrencyTest, TwoUpgradersStartedTogetherApplyTheHistoryOnce) {
  const migrate::History h = migrate::load_history(dir_.string());
  Lines all;
  for (const auto& rev : h.revisions) all.push_back(rev.id);
  ASSERT_EQ(h.head(), "slow");

  Child first = Child::spawn(keel_bin(), upgrade_args(), options());
  Child second = Child::spawn(keel_bin(), upgrade_args(), options());
  ProcessResult a = first.finish(0, 110);
  ProcessResult b = second.finish(0, 110);
  ASSERT_EQ(a.exit_code, 0) << describe(a);
  ASSERT_EQ(b.exit_code, 0) << describe(b);

  // Between them each revision once; and since the lock is held for a whole run,
  // all of it by one process while the other waited and then found nothing to do.
  Lines got_a = applied_ids(a.out), got_b = applied_ids(b.out);
  Lines both = got_a;
  both.insert(both.end(), got_b.begin(), got_b.end());
  std::sort(both.begin(), both.end());
  Lines expected = all;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(both, expected) << describe(a) << describe(b);
  EXPECT_TRUE(got_a.empty() || got_b.empty()) << describe(a) << describe(b);
  EXPECT_EQ(got_a.empty() ? got_b : got_a, all) << "applied in history order";
  const ProcessResult& idle = got_a.empty() ? a : b;
  EXPECT_EQ(nlohmann::json::parse(idle.out, nullptr, false)["current"], "slow") << describe(idle);

  auto c = connect();
  Lines rows;
  for (const Row& row : c->query("SELECT revision FROM keel_version ORDER BY revision"))
    rows.push_back(row.get<std::string>(0));
  EXPECT_EQ(rows, expected);

  auto check = run_keel({"check", "--url", config().url.to_string(), "--migrations", dir_.string()},
                        options());
  EXPECT_EQ(check.exit_code, 0) << describe(check);
}

KEEL_BACKEND_TEST_SUITE(CliMigrateConcurrencyTest);

}  // namespace
}  // namespace keel::testing
