// The sessions example's migration history (examples/sessions/migrations) through
// `keel --config examples/sessions/keel.yaml …`, run from the test's scratch
// directory rather than the source tree, on each backend: head is schema.yaml, the
// rows of an old database keep their values through the history's type changes
// and its new NOT NULL, and the offline script gives the same database.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "keel/migrate.hpp"
#include "keel/schema.hpp"
#include "process.hpp"
#include "support/backend_test.hpp"

namespace keel::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kExampleDir = KEEL_SOURCE_DIR "/examples/sessions";
const std::string kKeelYaml = kExampleDir + "/keel.yaml";
const std::string kMigrations = kExampleDir + "/migrations";

// The revisions the story below depends on, by id (see their files).
constexpr const char* kBaseline = "16dca2d3e51b";
constexpr const char* kOutboxes = "be23f44072f0";
constexpr const char* kActivity = "46cc85fd398e";

bool contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

// The ids a `--json` upgrade or downgrade lists under `key`.
std::vector<std::string> ids(const ProcessResult& r, const char* key) {
  auto doc = json::parse(r.out, nullptr, false);
  if (!doc.is_object() || !doc[key].is_array()) return {"(not JSON with " + std::string(key) + ")"};
  return doc[key].get<std::vector<std::string>>();
}

class ExampleMigrationsTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    history_ = migrate::load_history(kMigrations);
  }

  std::string url() const { return config().url.to_string(); }
  const migrate::History& history() const { return history_; }
  std::string head() const { return history_.head(); }
  // Every revision id, oldest first.
  std::vector<std::string> all_ids() const {
    std::vector<std::string> out;
    for (const auto& r : history_.revisions) out.push_back(r.id);
    return out;
  }

  // The scratch directory as working directory: nothing may depend on running
  // from the source tree.
  ProcessOptions options() const { return clean_env(temp_dir()); }

  // `keel --config <abs>/examples/sessions/keel.yaml args… --url URL`.
  ProcessResult keel(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--config", kKeelYaml});
    args.insert(args.end(), {"--url", url()});
    return run_keel(args, options());
  }

  // `keel current --json`'s revision; "" when none is applied.
  std::string current() const {
    auto doc = json::parse(keel({"current", "--json"}).out, nullptr, false);
    return doc.is_object() && doc["current"].is_string() ? doc["current"].get<std::string>() : "";
  }

  // How many application tables the database has (reflection leaves keel_version out).
  std::size_t table_count() const { return schema::reflect(*connect()).tables.size(); }

 private:
  migrate::History history_;
};

// No database: what the files themselves promise.
TEST(ExampleMigrationsHistoryTest, HasABaselineAndLaterRevisionsInCreationOrder) {
  const migrate::History history = migrate::load_history(kMigrations);
  const auto& revs = history.revisions;
  ASSERT_GE(revs.size(), 6u);
  EXPECT_EQ(revs.front().id, kBaseline);
  EXPECT_TRUE(revs.front().down_revisions.empty());
  for (std::size_t i = 1; i < revs.size(); ++i) {
    EXPECT_EQ(revs[i].down_revisions, std::vector<std::string>{revs[i - 1].id}) << revs[i].path;
    EXPECT_LT(revs[i - 1].created, revs[i].created) << revs[i].path;
    EXPECT_EQ(revs[i].id.size(), 12u) << revs[i].path;
    EXPECT_FALSE(revs[i].downgrade.empty()) << revs[i].path << " has no downgrade";
  }
}

TEST_P(ExampleMigrationsTest, UpgradeHeadFromAnotherDirectoryThenCheckAgreesWithSchemaYaml) {
  auto up = keel({"upgrade", "head", "--json"});
  ASSERT_EQ(up.exit_code, 0) << describe(up);
  EXPECT_EQ(ids(up, "applied"), all_ids()) << up.out;
  EXPECT_EQ(current(), head());

  // keel.yaml's `schema:` is found relative to keel.yaml, not the working directory.
  auto check = keel({"check"});
  EXPECT_EQ(check.exit_code, 0) << describe(check);
  EXPECT_TRUE(contains(check.out, "matches " + kExampleDir + "/schema.yaml")) << check.out;
  EXPECT_EQ(table_count(), schema::load_schema_file(kExampleDir + "/schema.yaml").tables.size());
  // --url wins over keel.yaml's SQLite URL: nothing was created in the working directory.
  EXPECT_FALSE(fs::exists(temp_dir() / "data"));

  auto again = keel({"upgrade", "head", "--json"});
  EXPECT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_EQ(ids(again, "applied"), std::vector<std::string>{});
}

TEST_P(ExampleMigrationsTest, SeededRowsKeepTheValuesTheHistoryPromisesThroughToHeadAndBack) {
  ASSERT_EQ(keel({"upgrade", kBaseline}).exit_code, 0);
  {
    // A database of the baseline's days: float costs, sessions without titles.
    auto c = connect();
    c->execute(
        "INSERT INTO sessions (id, title, metadata, total_cost_usd, status, closed_at) VALUES"
        " ('s1', 'Fix the build', '{\"name\": \"not used: s1 has a title\"}', 1.5, 'active', NULL),"
        " ('s2', NULL, '{\"name\": \"nightly deploy\"}', 0.0123, 'idle', NULL),"
        " ('s3', NULL, NULL, NULL, 'active', NULL),"
        " ('s4', NULL, '{\"client\": \"cli\"}', 12.3456, 'closed', '2025-03-04T08:00:00.000000Z')");
    c->execute(
        "INSERT INTO hook_outbox (session_id, event_type, payload, attempts) VALUES"
        " ('s1', 'stop', '{\"ok\": true}', 3), ('s4', 'stop', '{}', 0)");
    c->execute("INSERT INTO voice_assignments (session_id, voice) VALUES ('s1', 'nova')");
  }
  ASSERT_EQ(keel({"upgrade", kOutboxes}).exit_code, 0);
  {
    auto c = connect();
    c->execute(
        "INSERT INTO webhook_contracts (id, name, url) VALUES"
        " ('0b5e3c1e-8f3a-4c2b-9d7e-1a2b3c4d5e6f', 'ci', 'https://ci.example/hook')");
    c->execute(
        "INSERT INTO webhook_outbox (contract_id, session_id, event_type, payload,"
        " last_status_code, last_error) VALUES"
        " ('0b5e3c1e-8f3a-4c2b-9d7e-1a2b3c4d5e6f', 's1', 'stop', '{}', '200', NULL),"
        " ('0b5e3c1e-8f3a-4c2b-9d7e-1a2b3c4d5e6f', 's2', 'stop', '{}', ' 503', 'unavailable'),"
        " ('0b5e3c1e-8f3a-4c2b-9d7e-1a2b3c4d5e6f', 's2', 'stop', '{}', 'timeout', 'timed out'),"
        " ('0b5e3c1e-8f3a-4c2b-9d7e-1a2b3c4d5e6f', NULL, 'stop', '{}', '', 'refused'),"
        " ('0b5e3c1e-8f3a-4c2b-9d7e-1a2b3c4d5e6f', 's3', 'stop', '{}', NULL, NULL)");
  }

  auto up = keel({"upgrade", "head"});
  ASSERT_EQ(up.exit_code, 0) << describe(up);
  EXPECT_EQ(keel({"check"}).exit_code, 0);

  struct Session {
    std::string id, title;
    std::optional<std::string> cost;
  };
  // Titles backfilled from the metadata's name, else "session <id>"; costs exact
  // with four places on both backends.
  const std::vector<Session> sessions = {{"s1", "Fix the build", "1.5000"},
                                         {"s2", "nightly deploy", "0.0123"},
                                         {"s3", "session s3", std::nullopt},
                                         {"s4", "session s4", "12.3456"}};
  auto c = connect();
  auto rows = c->query(
                   "SELECT id, title, CAST(total_cost_usd AS TEXT) AS cost, is_headless,"
                   " last_activity_at = COALESCE(closed_at, created_at) AS activity_backfilled"
                   " FROM sessions ORDER BY id")
                  .all();
  ASSERT_EQ(rows.size(), sessions.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(sessions[i].id);
    EXPECT_EQ(rows[i].get<std::string>("id"), sessions[i].id);
    EXPECT_EQ(rows[i].get<std::string>("title"), sessions[i].title);
    EXPECT_EQ(rows[i].get<std::optional<std::string>>("cost"), sessions[i].cost);
    EXPECT_FALSE(rows[i].get<bool>("is_headless"));
    EXPECT_TRUE(rows[i].get<bool>("activity_backfilled"));
  }

  // The NOT NULL now holds.
  EXPECT_THROW(c->execute("INSERT INTO sessions (id, title) VALUES ('s5', NULL)"), ConstraintError);

  // Children of the rebuilt sessions table are all still there (no cascade fired),
  // and the renamed counter kept its values.
  auto hooks = c->query("SELECT session_id, attempt_count FROM hook_outbox ORDER BY id").all();
  ASSERT_EQ(hooks.size(), 2u);
  EXPECT_EQ(hooks[0].get<std::string>("session_id"), "s1");
  EXPECT_EQ(hooks[0].get<std::int64_t>("attempt_count"), 3);
  EXPECT_EQ(hooks[1].get<std::string>("session_id"), "s4");
  EXPECT_EQ(hooks[1].get<std::int64_t>("attempt_count"), 0);
  auto voice = c->query_one("SELECT voice FROM voice_assignments WHERE session_id = 's1'");
  ASSERT_TRUE(voice);
  EXPECT_EQ(voice->get<std::string>("voice"), "nova");

  // Status codes: numbers stay numbers, words and blanks became NULL (their
  // last_error is kept), and no webhook lost its session.
  auto hooks_out =
      c->query("SELECT last_status_code, last_error, session_id FROM webhook_outbox ORDER BY id")
          .all();
  const std::vector<std::optional<std::int64_t>> codes = {200, 503, std::nullopt, std::nullopt,
                                                          std::nullopt};
  const std::vector<std::optional<std::string>> sessions_of = {"s1", "s2", "s2", std::nullopt,
                                                               "s3"};
  ASSERT_EQ(hooks_out.size(), codes.size());
  for (std::size_t i = 0; i < codes.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(hooks_out[i].get<std::optional<std::int64_t>>("last_status_code"), codes[i]);
    EXPECT_EQ(hooks_out[i].get<std::optional<std::string>>("session_id"), sessions_of[i]);
  }
  EXPECT_EQ(hooks_out[2].get<std::optional<std::string>>("last_error"), "timed out");

  // Back to before the cost became exact: floats again, with the same values.
  auto back = keel({"downgrade", kActivity});
  ASSERT_EQ(back.exit_code, 0) << describe(back);
  auto floats = c->query("SELECT total_cost_usd FROM sessions ORDER BY id").all();
  ASSERT_EQ(floats.size(), 4u);
  EXPECT_DOUBLE_EQ(floats[0].get<double>("total_cost_usd"), 1.5);
  EXPECT_DOUBLE_EQ(floats[1].get<double>("total_cost_usd"), 0.0123);
  EXPECT_FALSE(floats[2].get<std::optional<double>>("total_cost_usd"));
  EXPECT_DOUBLE_EQ(floats[3].get<double>("total_cost_usd"), 12.3456);
  auto codes_back = c->query("SELECT last_status_code FROM webhook_outbox ORDER BY id").all();
  ASSERT_EQ(codes_back.size(), 5u);
  EXPECT_EQ(codes_back[0].get<std::optional<std::string>>("last_status_code"), "200");
  EXPECT_EQ(codes_back[1].get<std::optional<std::string>>("last_status_code"), "503");
  c.reset();

  // The whole way down and up again.
  auto base = keel({"downgrade", "base", "--json"});
  ASSERT_EQ(base.exit_code, 0) << describe(base);
  EXPECT_EQ(ids(base, "reverted"), (std::vector<std::string>{kActivity, kOutboxes, kBaseline}));
  EXPECT_EQ(table_count(), 0u);
  EXPECT_EQ(current(), "");
  auto again = keel({"upgrade", "head", "--json"});
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_EQ(ids(again, "applied"), all_ids());
  auto check = keel({"check"});
  EXPECT_EQ(check.exit_code, 0) << describe(check);
}

TEST_P(ExampleMigrationsTest, UpgradeSqlFedToTheRealClientGivesADatabaseCheckAccepts) {
  // --dialect: the script for this backend, whatever keel.yaml's URL says.
  auto sql = run_keel({"--config", kKeelYaml, "upgrade", "head", "--sql", "--dialect",
                       to_string(backend())},
                      options());
  ASSERT_EQ(sql.exit_code, 0) << describe(sql);
  // The same script as the library renders (the header names the directory as given).
  std::string library = migrate::upgrade_sql(kMigrations, backend());
  EXPECT_EQ(sql.out.substr(sql.out.find('\n')), library.substr(library.find('\n')));
  EXPECT_FALSE(fs::exists(temp_dir() / "data")) << "--sql opened keel.yaml's database";

  fs::path script = temp_dir() / "upgrade.sql";
  write_file(script, sql.out);
  ProcessResult client = run_sql_client(config(), script);
  ASSERT_EQ(client.exit_code, 0) << describe(client);

  auto check = keel({"check"});
  EXPECT_EQ(check.exit_code, 0) << describe(check);
  EXPECT_EQ(current(), head());
}

TEST_P(ExampleMigrationsTest, TheExampleProgramBringsAFreshDatabaseToHead) {
  auto run = run_process(example_bin(), {"--url", url(), "--lock",
                                         fmt::format("keel-example-{}", pg_schema())},
                         options());
  ASSERT_EQ(run.exit_code, 0) << describe(run);
  EXPECT_TRUE(contains(run.out, fmt::format("migrations: applied {} revisions, now at {}",
                                            history().revisions.size(), head())))
      << run.out;
  auto current = keel({"current"});
  EXPECT_EQ(current.out, head() + " (head)\n") << describe(current);
  auto check = keel({"check"});
  EXPECT_EQ(check.exit_code, 0) << describe(check);
}

KEEL_BACKEND_TEST_SUITE(ExampleMigrationsTest);

}  // namespace
}  // namespace keel::testing
