// The example program (build/bin/keel-example), run as a process on each backend:
// zero-configuration SQLite in a fresh working directory, and --url PostgreSQL. It
// migrates its database to the head of examples/sessions/migrations at start-up.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "keel/migrate.hpp"
#include "process.hpp"
#include "support/backend_test.hpp"

namespace keel::testing {
namespace {

class ExampleTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    workdir_ = temp_dir() / "app";
    std::filesystem::create_directories(workdir_);
    // Advisory locks are per PostgreSQL database, not per schema: tests running
    // side by side (and other people's runs on the same server) need their own name.
    std::random_device rd;
    lock_name_ = fmt::format("keel-example-test-{}-{}", ::getpid(), rd() % 1000000);
  }

  // SQLite runs with no configuration at all, so the default is what is tested;
  // PostgreSQL runs with --url into this test's schema.
  std::vector<std::string> args(std::vector<std::string> extra = {}) const {
    std::vector<std::string> a;
    if (is_postgresql()) a = {"--url", config().url.to_string()};
    a.insert(a.end(), {"--lock", lock_name_});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  ProcessOptions options() const { return clean_env(workdir_); }

  std::filesystem::path workdir_;
  std::string lock_name_;
};

bool contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

// The history the example was built with, whose head its database ends at.
const migrate::History& example_history() {
  static const migrate::History h =
      migrate::load_history(KEEL_SOURCE_DIR "/examples/sessions/migrations");
  return h;
}

TEST_P(ExampleTest, RunsTwiceInsertingThenUpdatingTheVoice) {
  auto first = run_process(example_bin(), args(), options());
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  EXPECT_TRUE(contains(first.out, "recorded session-001")) << first.out;
  EXPECT_TRUE(contains(first.out, "(inserted by upsert)")) << first.out;
  EXPECT_TRUE(contains(first.out, fmt::format("migrations: applied {} revisions, now at {}",
                                              example_history().revisions.size(),
                                              example_history().head())))
      << first.out;
  EXPECT_TRUE(contains(first.out, to_string(backend()))) << first.out;
  if (is_sqlite()) {
    EXPECT_TRUE(std::filesystem::is_regular_file(workdir_ / "data" / "app.db"))
        << "the zero-configuration default is ./data/app.db";
  } else {
    EXPECT_FALSE(std::filesystem::exists(workdir_ / "data")) << "--url PostgreSQL wrote a file";
  }

  auto second = run_process(example_bin(), args(), options());
  ASSERT_EQ(second.exit_code, 0) << describe(second);
  EXPECT_TRUE(contains(second.out, "recorded session-002")) << second.out;
  EXPECT_TRUE(contains(second.out, "(updated by upsert)")) << second.out;
  EXPECT_TRUE(contains(second.out, "sessions: 2")) << second.out;
  EXPECT_TRUE(contains(second.out, "migrations: at head " + example_history().head()))
      << second.out;
  EXPECT_FALSE(contains(second.out, "applied")) << second.out;
  EXPECT_EQ(second.err, "");

  // What the program wrote is in the database, as the types it declared.
  Config stored = config();
  if (is_sqlite()) stored.url = parse_url("sqlite:///" + (workdir_ / "data" / "app.db").string());
  auto c = keel::connect(stored);
  auto count = c->query_one("SELECT COUNT(*) AS n FROM sessions");
  ASSERT_TRUE(count);
  EXPECT_EQ(count->get<std::int64_t>("n"), 2);
  auto voice = c->query_one("SELECT voice FROM voice_assignments WHERE session_id = ?",
                            {"session-001"});
  ASSERT_TRUE(voice);
  EXPECT_TRUE(contains(second.out, "voice of session-001: " + voice->get<std::string>("voice")))
      << second.out;
  auto rows = c->query("SELECT created_at, metadata FROM sessions ORDER BY id").all();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_LE(rows[0].get<Timestamp>("created_at"), rows[1].get<Timestamp>("created_at"));
  EXPECT_TRUE(contains(rows[1].get<Json>("metadata").text, "keel-example"));
}

TEST_P(ExampleTest, SecondInstanceExitsFastWhileTheFirstHoldsTheLock) {
  auto holder = Child::spawn(example_bin(), args({"--hold", "5"}), options());
  ASSERT_TRUE(holder.wait_for_stdout("holding the instance lock", 30))
      << describe(holder.finish(SIGKILL, 5));

  auto second = run_process(example_bin(), args(), options());
  EXPECT_EQ(second.exit_code, 3) << describe(second);
  EXPECT_LT(second.seconds, 2.0) << describe(second);
  EXPECT_TRUE(contains(second.err, "already running")) << second.err;
  EXPECT_FALSE(contains(second.out, "recorded")) << "the refused instance wrote: " << second.out;

  auto first = holder.finish(0, 15);
  EXPECT_EQ(first.exit_code, 0) << describe(first);

  // Once the holder has exited the lock is free again.
  auto third = run_process(example_bin(), args(), options());
  EXPECT_EQ(third.exit_code, 0) << describe(third);
  EXPECT_TRUE(contains(third.out, "recorded session-002")) << third.out;
}

KEEL_BACKEND_TEST_SUITE(ExampleTest);

TEST(ExampleUsageTest, HelpDocumentsOptionsAndExitCodes) {
  auto r = run_process(example_bin(), {"--help"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  for (const char* text :
       {"--url", "--hold", "--config", "--migrations", "Exit codes", "3 another instance"})
    EXPECT_TRUE(contains(r.out, text)) << text << " missing from:\n" << r.out;
}

// Runs the example in a fresh directory without DATABASE_URL, expecting it to stop
// with exit 2 before it creates the default ./data/app.db; returns its stderr.
std::string refused_before_touching_the_database(const std::vector<std::string>& args,
                                                 const std::string& migrations_file = "") {
  auto dir = make_temp_dir();
  if (!migrations_file.empty()) {
    std::filesystem::create_directories(dir / "migrations");
    write_file(dir / "migrations" / "a1_first.yaml", migrations_file);
  }
  auto r = run_process(example_bin(), args, clean_env(dir));
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_FALSE(std::filesystem::exists(dir / "data")) << "created a database anyway";
  std::filesystem::remove_all(dir);
  return r.err;
}

TEST(ExampleUsageTest, MissingMigrationsDirectoryExits2BeforeTouchingTheDatabase) {
  std::string err = refused_before_touching_the_database({"--migrations", "missing"});
  EXPECT_TRUE(contains(err, "missing: not a directory of revision files")) << err;
}

TEST(ExampleUsageTest, BrokenRevisionFileExits2NamingItBeforeTouchingTheDatabase) {
  std::string err = refused_before_touching_the_database(
      {"--migrations", "migrations"},
      "id: a1\ndown_revision: null\nmessage: first\nupgrade:\n  - create_tabel: {name: t}\n");
  EXPECT_TRUE(contains(err, "a1_first.yaml:5:")) << err;
  EXPECT_TRUE(contains(err, "upgrade[0]")) << err;
}

TEST(ExampleUsageTest, UnknownArgumentExits2) {
  auto r = run_process(example_bin(), {"--frobnicate"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_TRUE(contains(r.err, "--frobnicate")) << r.err;
}

}  // namespace
}  // namespace keel::testing
