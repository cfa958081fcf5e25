// `keel transfer` as a process: exit codes, --dry-run, --report, the rollback
// instructions, and a SIGKILL in the middle of a large table.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "backend/transfer_support.hpp"
#include "keel/instance_lock.hpp"
#include "process.hpp"

namespace keel {
namespace {

using testing::ProcessResult;

class TransferCliTest : public testing::TransferTestBase {
 protected:

  std::string from() const { return "sqlite:///" + source_path_.string(); }
  std::string to() const { return pg_.url.to_string(); }

  testing::ProcessOptions process_options() const { return testing::clean_env(dir_); }
  ProcessResult keel(std::vector<std::string> args) const {
    std::vector<std::string> all = {"transfer", "--from", from(), "--to", to()};
    all.insert(all.end(), args.begin(), args.end());
    return testing::run_keel(all, process_options());
  }
  void small_source() const {
    source()->execute_script(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, joined DATETIME);"
        "INSERT INTO users VALUES (1, 'ann', '2024-01-02 03:04:05'), (2, 'bob', NULL)");
  }
};

TEST_F(TransferCliTest, UsageAndConfigurationErrorsExit2) {
  small_source();
  auto bad_verify = keel({"--verify", "sometimes"});
  EXPECT_EQ(bad_verify.exit_code, 2) << testing::describe(bad_verify);
  EXPECT_NE(bad_verify.err.find("--verify sometimes"), std::string::npos);

  auto no_to = testing::run_keel({"transfer", "--from", from()}, process_options());
  EXPECT_EQ(no_to.exit_code, 2) << testing::describe(no_to);

  auto missing = testing::run_keel(
      {"transfer", "--from", "sqlite:///" + (dir_ / "nope.db").string(), "--to", to()},
      process_options());
  EXPECT_EQ(missing.exit_code, 2) << testing::describe(missing);
  EXPECT_NE(missing.err.find("no such SQLite database file"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "nope.db"));

  auto swapped = testing::run_keel({"transfer", "--from", to(), "--to", from()}, process_options());
  EXPECT_EQ(swapped.exit_code, 2) << testing::describe(swapped);
  ASSERT_TRUE(pg_.url.password.has_value());
  EXPECT_EQ(swapped.err.find(":" + *pg_.url.password + "@"), std::string::npos)
      << "a password was printed: " << swapped.err;
  EXPECT_NE(swapped.err.find(":***@"), std::string::npos) << swapped.err;
  EXPECT_EQ(target_tables(), 0);
}

TEST_F(TransferCliTest, HeldInstanceLockExits3) {
  small_source();
  auto lock = acquire_instance_lock(source_config(), "keel");
  auto r = keel({});
  EXPECT_EQ(r.exit_code, 3) << testing::describe(r);
  EXPECT_NE(r.err.find("Stop the application"), std::string::npos) << r.err;
  EXPECT_EQ(target_tables(), 0);
}

// The operator's usual call: `keel --config keel.yaml transfer --to …` takes the
// application's database as the source and its instance-lock name from the file.
TEST_F(TransferCliTest, KeelYamlGivesTheSourceAndTheInstanceLockName) {
  small_source();
  auto yaml = dir_ / "app.yaml";
  {
    std::ofstream f(yaml);
    f << "database:\n  url: " << from() << "\n  instance_lock: myapp\n";
  }
  auto no_source = testing::run_keel({"transfer", "--to", to()}, process_options());
  EXPECT_EQ(no_source.exit_code, 2) << testing::describe(no_source);
  EXPECT_NE(no_source.err.find("--from is required"), std::string::npos) << no_source.err;
  {
    auto lock = acquire_instance_lock(source_config(), "myapp");
    auto held = testing::run_keel({"--config", yaml.string(), "transfer", "--to", to()},
                                  process_options());
    EXPECT_EQ(held.exit_code, 3) << testing::describe(held);
    EXPECT_NE(held.err.find("myapp"), std::string::npos) << held.err;
    EXPECT_EQ(target_tables(), 0);
  }
  auto r = testing::run_keel({"--config", yaml.string(), "transfer", "--to", to()},
                             process_options());
  EXPECT_EQ(r.exit_code, 0) << testing::describe(r);
  EXPECT_EQ(expect_same_rows(), 2);
}

TEST_F(TransferCliTest, RefusedValueExits1WithRollbackInstructions) {
  source()->execute_script(
      "CREATE TABLE m (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO m VALUES (1, 'many')");
  auto r = keel({});
  EXPECT_EQ(r.exit_code, 1) << testing::describe(r);
  EXPECT_NE(r.err.find("table \"m\", row 1 (key id=1), column \"n\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("source was not touched"), std::string::npos) << r.err;
  EXPECT_EQ(target_tables(), 0);
}

TEST_F(TransferCliTest, ObjectsNotCarriedExit1UnlessAllowedThenListedLoudly) {
  small_source();
  source()->execute_script("CREATE VIEW recent AS SELECT * FROM users WHERE joined > '2024'");
  auto refused = keel({});
  EXPECT_EQ(refused.exit_code, 1) << testing::describe(refused);
  EXPECT_NE(refused.err.find("view recent"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--allow-missing-objects"), std::string::npos) << refused.err;
  EXPECT_EQ(target_tables(), 0);

  auto allowed = keel({"--allow-missing-objects"});
  EXPECT_EQ(allowed.exit_code, 0) << testing::describe(allowed);
  EXPECT_NE(allowed.out.find("NOT CARRIED: view recent"), std::string::npos) << allowed.out;
  EXPECT_NE(allowed.out.find("Committed and verified"), std::string::npos) << allowed.out;
}

TEST_F(TransferCliTest, MigrationsBuildAnEmptyTarget) {
  const std::string migrations = KEEL_SOURCE_DIR "/examples/sessions/migrations";
  auto up = testing::run_keel({"--url", from(), "upgrade", "head", "--migrations", migrations},
                              process_options());
  ASSERT_EQ(up.exit_code, 0) << testing::describe(up);
  source()->execute(
      "INSERT INTO sessions (id, title, created_at) VALUES ('s1', 'one', "
      "'2024-03-01T10:00:00+00:00')");
  auto r = keel({"--migrations", migrations});
  EXPECT_EQ(r.exit_code, 0) << testing::describe(r);
  EXPECT_EQ(target()->query_one("SELECT count(*) FROM sessions")->get<std::int64_t>(0), 1);
  auto check = testing::run_keel({"--config", KEEL_SOURCE_DIR "/examples/sessions/keel.yaml",
                                  "--url", to(), "check"},
                                 process_options());
  EXPECT_EQ(check.exit_code, 0) << testing::describe(check);
}

TEST_F(TransferCliTest, DryRunPrintsThePlanAndWritesNothing) {
  small_source();
  const std::string before = file_bytes(source_path_);
  auto r = keel({"--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << testing::describe(r);
  EXPECT_NE(r.out.find("Plan (nothing written)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("users"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("timestamp_from_text_as_utc=1"), std::string::npos) << r.out;
  EXPECT_EQ(target_tables(), 0);
  EXPECT_TRUE(file_bytes(source_path_) == before);
}

TEST_F(TransferCliTest, ReportFileHoldsTheJsonReport) {
  small_source();
  auto report = dir_ / "report.json";
  auto r = keel({"--report", report.string()});
  ASSERT_EQ(r.exit_code, 0) << testing::describe(r);
  EXPECT_NE(r.out.find("Committed and verified (checksums)"), std::string::npos) << r.out;
  auto j = nlohmann::json::parse(file_bytes(report));
  EXPECT_EQ(j["rows"], 2);
  EXPECT_EQ(j["verify"], "checksums");
  ASSERT_EQ(j["tables"].size(), 1u);
  EXPECT_EQ(j["tables"][0]["name"], "users");
  EXPECT_EQ(j["tables"][0]["coercions"][0]["kind"], "timestamp_from_text_as_utc");
  std::vector<std::string> phases;
  for (const auto& p : j["phases"]) phases.push_back(p["phase"]);
  EXPECT_EQ(phases, (std::vector<std::string>{"schema", "load", "indexes", "constraints",
                                              "sequences", "verify", "commit"}));
  EXPECT_EQ(expect_same_rows(), 2);
}

TEST_F(TransferCliTest, KilledMidTableLeavesTargetEmptyAndRerunSucceeds) {
  {
    auto s = source();
    s->execute_script("CREATE TABLE killme_big (id INTEGER PRIMARY KEY, payload TEXT)");
    s->transaction([&] {
      std::string payload(300, 'k');
      for (int i = 1; i <= 400000; ++i)
        s->execute("INSERT INTO killme_big VALUES (?, ?)", {i, payload});
    });
  }
  auto child = testing::Child::spawn(
      testing::keel_bin(), {"transfer", "--from", from(), "--to", to()}, process_options());
  // Wait until its COPY into the table is running, then kill it without warning.
  auto watcher = target();
  bool copying = false;
  for (int i = 0; i < 1000 && !copying; ++i) {
    copying = watcher
                  ->query_one("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                              "AND query LIKE 'COPY \"killme_big\"%'")
                  ->get<std::int64_t>(0) > 0;
    if (!copying) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ProcessResult killed = child.finish(SIGKILL);
  ASSERT_TRUE(copying) << "never saw the COPY: " << testing::describe(killed);
  EXPECT_EQ(killed.signal, SIGKILL) << testing::describe(killed);
  EXPECT_EQ(target_tables(), 0);

  auto again = keel({});
  ASSERT_EQ(again.exit_code, 0) << testing::describe(again);
  EXPECT_EQ(expect_same_rows(), 400000);
}

}  // namespace
}  // namespace keel
