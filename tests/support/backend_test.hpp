// tests/support/backend_test.hpp — run a test on every backend.
//
//   class TransactionTest : public keel::testing::BackendTest {};
//   TEST_P(TransactionTest, RollbackUndoesWrites) { auto c = connect(); … }
//   KEEL_BACKEND_TEST_SUITE(TransactionTest);
//
// Each test gets a namespace of its own: a fresh SQLite file in a temporary
// directory, or a fresh PostgreSQL schema (dropped afterwards) that every
// connection made from config() uses as its search_path. The PostgreSQL server is
// the one in KEEL_TEST_PG_URL (make test starts one with scripts/pg-ephemeral);
// without it the PostgreSQL half fails — it is never skipped.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "keel/config.hpp"
#include "keel/connection.hpp"

namespace keel::testing {

class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  Backend backend() const { return GetParam(); }
  bool is_sqlite() const { return GetParam() == Backend::sqlite; }
  bool is_postgresql() const { return GetParam() == Backend::postgresql; }
  // A config for this test's private namespace.
  const Config& config() const { return config_; }
  // A new connection to this test's namespace.
  std::unique_ptr<Connection> connect() const { return keel::connect(config_); }
  // A scratch directory removed after the test.
  const std::filesystem::path& temp_dir() const { return dir_; }
  // The PostgreSQL schema of this test ("" on SQLite).
  const std::string& pg_schema() const { return schema_; }

 private:
  Config config_;
  std::filesystem::path dir_;
  std::string schema_;
};

// The PostgreSQL URL the tests use; fails the current test when unset.
std::string test_pg_url();

// A schema of a test's own on the PostgreSQL server of KEEL_TEST_PG_URL: every
// connection made from `config` uses it as its search_path.
struct PgSchema {
  Config config;
  std::string name;
};
// Creates a fresh PgSchema; when KEEL_TEST_PG_URL is unset, fails the current test
// and returns one with an empty name.
PgSchema create_pg_schema();
// Drops schema `name` and everything in it, connecting with `config` minus its search_path.
void drop_pg_schema(const Config& config, const std::string& name);
// A fresh temporary directory (removed by the caller).
std::filesystem::path make_temp_dir();

}  // namespace keel::testing

#define KEEL_BACKEND_TEST_SUITE(Suite)                                              \
  INSTANTIATE_TEST_SUITE_P(                                                         \
      , Suite, ::testing::Values(::keel::Backend::sqlite, ::keel::Backend::postgresql), \
      [](const ::testing::TestParamInfo<::keel::Backend>& param_info) {                \
        return std::string(::keel::to_string(param_info.param));                          \
      })
