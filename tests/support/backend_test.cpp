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

PgSchema create_pg_schema() {
  std::string url = test_pg_url();
  if (url.empty()) return {};
  PgSchema schema{default_config(), {}};
  schema.config.url = parse_url(url, "KEEL_TEST_PG_URL");
  std::random_device rd;
  schema.name = fmt::format("t_{}_{}", ::getpid(), rd() % 100000000);
  keel::connect(schema.config)->execute_script(fmt::format("CREATE SCHEMA \"{}\"", schema.name));
  // libpq's `options` keyword: every connection made from the config starts in the schema.
  schema.config.url.params["options"] = fmt::format("-csearch_path={}", schema.name);
  return schema;
}

void drop_pg_schema(const Config& config, const std::string& name) {
  Config admin = config;
  admin.url.params.erase("options");
  keel::connect(admin)->execute_script(fmt::format("DROP SCHEMA IF EXISTS \"{}\" CASCADE", name));
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
  PgSchema pg = create_pg_schema();
  ASSERT_FALSE(pg.name.empty());
  config_ = std::move(pg.config);
  config_.pool.timeout_s = 10;
  schema_ = std::move(pg.name);
}

void BackendTest::TearDown() {
  if (!schema_.empty()) {
    try {
      drop_pg_schema(config_, schema_);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "dropping test schema " << schema_ << ": " << e.what();
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace keel::testing
