#include "support/backend_test.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>

#include <fmt/format.h>

namespace keel::testing {

std::string test_pg_url() {
  const char* url = std::getenv("KEEL_TEST_PG_URL");
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << "KEEL_TEST_PG_URL is not set: run the suite with `make test`, which "
                     "starts a throwaway PostgreSQL (scripts/pg-ephemeral start)";
    return {};
  }
  return url;
}

std::filesystem::path make_temp_dir() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() /
             fmt::format("keel-test-{}-{}-{}", ::getpid(), counter++, rd() % 1000000);
  std::filesystem::create_directories(dir);
  return dir;
}

void BackendTest::SetUp() {
  dir_ = make_temp_dir();
  if (is_sqlite()) {
    config_ = default_config();
    config_.url = parse_url("sqlite:///" + (dir_ / "test.db").string());
    return;
  }
  std::string url = test_pg_url();
  ASSERT_FALSE(url.empty());
  config_ = default_config();
  config_.url = parse_url(url, "KEEL_TEST_PG_URL");
  config_.pool.timeout_s = 10;
  std::random_device rd;
  schema_ = fmt::format("t_{}_{}", ::getpid(), rd() % 100000000);
  auto admin = keel::connect(config_);
  admin->execute_script(fmt::format("CREATE SCHEMA \"{}\"", schema_));
  // libpq's `options` keyword: every connection of this test starts in its schema.
  config_.url.params["options"] = fmt::format("-csearch_path={}", schema_);
}

void BackendTest::TearDown() {
  if (!schema_.empty()) {
    try {
      Config admin_config = config_;
      admin_config.url.params.erase("options");
      auto admin = keel::connect(admin_config);
      admin->execute_script(fmt::format("DROP SCHEMA IF EXISTS \"{}\" CASCADE", schema_));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "dropping test schema " << schema_ << ": " << e.what();
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace keel::testing
