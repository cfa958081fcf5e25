// `keel health` against a real database, on each backend.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "process.hpp"
#include "support/backend_test.hpp"

namespace keel::testing {
namespace {

class CliHealthTest : public BackendTest {
 protected:
  std::string url() const { return config().url.to_string(); }

  ProcessOptions options() const { return clean_env(temp_dir()); }

  // Runs keel with `args`, expects exit 0 and a JSON report saying ok for this backend.
  void expect_healthy_json(const std::vector<std::string>& args, const ProcessOptions& o) {
    auto r = run_keel(args, o);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    auto report = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(report.is_discarded()) << describe(r);
    EXPECT_EQ(report.value("status", ""), "ok") << r.out;
    EXPECT_EQ(report.value("backend", ""), to_string(backend())) << r.out;
  }
};

TEST_P(CliHealthTest, ExitsZeroAndReportsTheBackendAndVersion) {
  auto r = run_keel({"health", "--url", url()}, options());
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find(to_string(backend())), std::string::npos) << r.out;
  auto version = connect()->server_version();
  EXPECT_NE(r.out.find(version), std::string::npos) << "server version " << version << "\n"
                                                   << r.out;
}

TEST_P(CliHealthTest, JsonReportParsesWithStatusOk) {
  auto r = run_keel({"health", "--json", "--url", url()}, options());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto report = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << r.out;
  EXPECT_EQ(report["status"], "ok");
  EXPECT_EQ(report["backend"], to_string(backend()));
  EXPECT_EQ(report["server_version"], connect()->server_version());
  EXPECT_TRUE(report["latency_ms"].is_number()) << r.out;
  EXPECT_GE(report["latency_ms"].get<double>(), 0.0);
  EXPECT_TRUE(report["pool"].is_object()) << r.out;
  EXPECT_EQ(report["url"], config().url.redacted());
}

TEST_P(CliHealthTest, GlobalOptionsAreAcceptedBeforeAndAfterTheVerb) {
  const std::string u = url();
  for (auto args : {std::vector<std::string>{"--url", u, "--json", "health"},
                    std::vector<std::string>{"health", "--url", u, "--json"},
                    std::vector<std::string>{"--json", "health", "--url", u},
                    std::vector<std::string>{"--url", u, "health", "--json", "--timeout", "4"}}) {
    SCOPED_TRACE(fmt::format("{}", fmt::join(args, " ")));
    expect_healthy_json(args, options());
  }
}

TEST_P(CliHealthTest, KeelYamlInTheWorkingDirectoryIsRead) {
  write_file(temp_dir() / "keel.yaml", fmt::format("database:\n  url: \"{}\"\n", url()));
  expect_healthy_json({"health", "--json"}, options());
}

TEST_P(CliHealthTest, ConfigOptionNamesTheFile) {
  std::filesystem::create_directories(temp_dir() / "conf");
  write_file(temp_dir() / "conf" / "app.yaml", fmt::format("database:\n  url: \"{}\"\n", url()));
  expect_healthy_json({"--config", "conf/app.yaml", "health", "--json"}, options());
}

TEST_P(CliHealthTest, DatabaseUrlFromTheEnvironmentIsUsed) {
  auto o = options();
  o.env["DATABASE_URL"] = url();
  expect_healthy_json({"health", "--json"}, o);
}

TEST_P(CliHealthTest, UrlOptionOverridesDatabaseUrlAndTheFile) {
  std::string dead = fmt::format("postgresql://app:Sup3rSecretPw@127.0.0.1:{}/app",
                                 closed_loopback_port());
  write_file(temp_dir() / "keel.yaml", fmt::format("database:\n  url: \"{}\"\n", dead));
  auto o = options();
  o.env["DATABASE_URL"] = dead;
  expect_healthy_json({"health", "--json", "--url", url()}, o);
}

// PostgreSQL: a wrong password is refused and never echoed. SQLite has no
// password; its failure to open is reported the same way (exit 1, no secret
// from the environment in the output).
TEST_P(CliHealthTest, FailedConnectionExits1AndNeverPrintsThePassword) {
  auto o = options();
  o.env["DATABASE_URL"] = "postgresql://app:Sup3rSecretPw@127.0.0.1:1/app";
  std::string bad;
  if (is_postgresql()) {
    Url wrong = config().url;
    wrong.password = "Sup3rSecretPw";
    bad = wrong.to_string();
  } else {
    // A regular file where the database's directory should be: it cannot be opened.
    write_file(temp_dir() / "file", "not a directory");
    bad = "sqlite:///" + (temp_dir() / "file" / "app.db").string();
  }
  for (bool json : {false, true}) {
    std::vector<std::string> args{"health", "--url", bad};
    if (json) args.push_back("--json");
    auto r = run_keel(args, o);
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_EQ(r.out.find("Sup3rSecretPw"), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find("Sup3rSecretPw"), std::string::npos) << r.err;
    if (json) {
      auto report = nlohmann::json::parse(r.out, nullptr, false);
      ASSERT_FALSE(report.is_discarded()) << describe(r);
      EXPECT_EQ(report["status"], "unhealthy");
    }
  }
}

KEEL_BACKEND_TEST_SUITE(CliHealthTest);

}  // namespace
}  // namespace keel::testing
