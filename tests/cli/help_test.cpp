// The keel command's argument handling, help, exit codes and error messages —
// everything that does not need a reachable database.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "process.hpp"
#include "support/backend_test.hpp"

namespace keel::testing {
namespace {

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir(); }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

TEST_F(CliTest, NoVerbPrintsHelpOnStderrAndExits2) {
  auto r = run_keel({}, clean_env(dir()));
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("health"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no verb"), std::string::npos) << r.err;
}

TEST_F(CliTest, HelpListsVerbsGlobalOptionsAndExitCodes) {
  auto r = run_keel({"--help"}, clean_env(dir()));
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  for (const char* text : {"health", "--config", "--url", "--json", "--version", "Exit codes",
                           "0 ok", "1 the check or operation failed",
                           "2 usage or configuration error", "DATABASE_URL"})
    EXPECT_NE(r.out.find(text), std::string::npos) << text << " missing from:\n" << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(CliTest, VerbHelpDocumentsItsOptionsAndExitCodes) {
  auto r = run_keel({"health", "--help"}, clean_env(dir()));
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  for (const char* text : {"--timeout", "Exit codes", "--url", "--json"})
    EXPECT_NE(r.out.find(text), std::string::npos) << text << " missing from:\n" << r.out;
}

TEST_F(CliTest, VersionPrintsNameAndVersion) {
  auto r = run_keel({"--version"}, clean_env(dir()));
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out.rfind("keel 0.", 0), 0u) << r.out;
}

TEST_F(CliTest, UnknownVerbExits2NamingIt) {
  auto r = run_keel({"frobnicate"}, clean_env(dir()));
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("frobnicate"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(CliTest, UnknownOptionExits2NamingIt) {
  for (auto args : {std::vector<std::string>{"health", "--frobnicate"},
                    std::vector<std::string>{"--frobnicate", "health"}}) {
    auto r = run_keel(args, clean_env(dir()));
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_NE(r.err.find("--frobnicate"), std::string::npos) << r.err;
  }
}

TEST_F(CliTest, OptionWithoutItsValueExits2) {
  auto r = run_keel({"health", "--timeout"}, clean_env(dir()));
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("--timeout"), std::string::npos) << r.err;
}

TEST_F(CliTest, NonPositiveTimeoutExits2NamingTheOption) {
  for (const char* value : {"0", "-3"}) {
    auto r = run_keel({"health", "--timeout", value}, clean_env(dir()));
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_NE(r.err.find("--timeout"), std::string::npos) << r.err;
  }
  auto r = run_keel({"health", "--timeout", "soon"}, clean_env(dir()));
  EXPECT_EQ(r.exit_code, 2) << describe(r);
}

TEST_F(CliTest, HelpWithDatabaseUrlSetNeverShowsThePassword) {
  auto options = clean_env(dir());
  options.env["DATABASE_URL"] = "postgresql://app:Sup3rSecretPw@127.0.0.1:1/app";
  for (auto args : {std::vector<std::string>{"--help"},
                    std::vector<std::string>{"health", "--help"},
                    std::vector<std::string>{}}) {
    auto r = run_keel(args, options);
    EXPECT_EQ(r.out.find("Sup3rSecretPw"), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find("Sup3rSecretPw"), std::string::npos) << r.err;
  }
}

TEST_F(CliTest, MalformedUrlExits2NamingTheOption) {
  auto r = run_keel({"health", "--url", "postgresql://app:Sup3rSecretPw@127.0.0.1:notaport/db"},
                    clean_env(dir()));
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("--url"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Sup3rSecretPw"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("Sup3rSecretPw"), std::string::npos) << r.out;
}

TEST_F(CliTest, UnsupportedSchemeExits2) {
  auto r = run_keel({"--url", "mysql://app@127.0.0.1/db", "health"}, clean_env(dir()));
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("--url"), std::string::npos) << r.err;
}

TEST_F(CliTest, MalformedDatabaseUrlExits2NamingTheVariable) {
  auto options = clean_env(dir());
  options.env["DATABASE_URL"] = "postgresql://app:Sup3rSecretPw@127.0.0.1:notaport/db";
  auto r = run_keel({"health"}, options);
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("DATABASE_URL"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Sup3rSecretPw"), std::string::npos) << r.err;
}

TEST_F(CliTest, MistypedOptionDoesNotEchoTheUrlPassword) {
  auto r = run_keel({"--urll", "postgresql://app:Sup3rSecretPw@127.0.0.1/db", "health"},
                    clean_env(dir()));
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_EQ(r.err.find("Sup3rSecretPw"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("Sup3rSecretPw"), std::string::npos) << r.out;
}

TEST_F(CliTest, BrokenKeelYamlInWorkingDirectoryExits2NamingFileLineAndKey) {
  write_file(dir() / "keel.yaml",
             "# app settings\n"
             "database:\n"
             "  pool:\n"
             "    size: lots\n");
  auto r = run_keel({"health"}, clean_env(dir()));
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("keel.yaml:4"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("size"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir() / "data")) << "a config error must touch nothing";
}

TEST_F(CliTest, BrokenConfigFileGivenWithOptionExits2NamingFileLineAndKey) {
  write_file(dir() / "other.yaml",
             "database:\n"
             "  url: sqlite:///x.db\n"
             "  sqlite:\n"
             "    busy_timeout_ms: [1, 2]\n");
  auto r = run_keel({"health", "--config", (dir() / "other.yaml").string()}, clean_env(dir()));
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("other.yaml:4"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("busy_timeout_ms"), std::string::npos) << r.err;
}

TEST_F(CliTest, MissingConfigFileExits2NamingIt) {
  auto r = run_keel({"--config", "nowhere.yaml", "health"}, clean_env(dir()));
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("nowhere.yaml"), std::string::npos) << r.err;
}

TEST_F(CliTest, UnreachablePostgresqlExits1FastWithoutThePassword) {
  std::string url =
      fmt::format("postgresql://app:Sup3rSecretPw@127.0.0.1:{}/app", closed_loopback_port());
  auto r = run_keel({"health", "--url", url, "--timeout", "3"}, clean_env(dir()));
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_LT(r.seconds, 5.0) << describe(r);
  EXPECT_EQ(r.out.find("Sup3rSecretPw"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("Sup3rSecretPw"), std::string::npos) << r.err;

  auto j = run_keel({"health", "--json", "--url", url}, clean_env(dir()));
  EXPECT_EQ(j.exit_code, 1) << describe(j);
  auto report = nlohmann::json::parse(j.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << j.out;
  EXPECT_EQ(report["status"], "unhealthy") << j.out;
  EXPECT_EQ(report["backend"], "postgresql") << j.out;
  EXPECT_FALSE(report["error"].get<std::string>().empty()) << j.out;
  EXPECT_EQ(j.out.find("Sup3rSecretPw"), std::string::npos) << j.out;
}

// A server that accepts the connection and never says a word: only the timeout
// can end the wait.
TEST_F(CliTest, SilentServerExits1WithinTheTimeout) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 8), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string url = fmt::format("postgresql://app:Sup3rSecretPw@127.0.0.1:{}/app",
                                ntohs(addr.sin_port));

  auto r = run_keel({"health", "--url", url, "--timeout", "2", "--json"}, clean_env(dir()));
  ::close(listener);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_LT(r.seconds, 6.0) << describe(r);
  auto report = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << describe(r);
  EXPECT_EQ(report["status"], "unhealthy");
  EXPECT_EQ(r.out.find("Sup3rSecretPw"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace keel::testing
