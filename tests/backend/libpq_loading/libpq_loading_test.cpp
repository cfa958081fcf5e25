// libpq is loaded when PostgreSQL is first used, never by a SQLite-only process.
//
// Its own executable, linked like an application (keel, not libpq), so that
// nothing else in the process loads libpq first; CTest runs each test in a
// process of its own, and run together the SQLite half comes first.
#include <dlfcn.h>
#include <unistd.h>

#include <fmt/format.h>

#include <filesystem>
#include <string>

#include "keel/database.hpp"
#include "keel/driver/postgres/libpq.hpp"
#include "keel/error.hpp"
#include "support/backend_test.hpp"

namespace keel {
namespace {

bool libpq_loaded() {
  void* handle = dlopen("libpq.so.5", RTLD_NOLOAD | RTLD_LAZY);
  if (handle != nullptr) dlclose(handle);
  return handle != nullptr;
}

class LibpqLoadingTest : public ::testing::TestWithParam<Backend> {
 protected:
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  Config config_for_backend() {
    Config config = default_config();
    if (GetParam() == Backend::sqlite) {
      dir_ = testing::make_temp_dir();
      config.url = parse_url("sqlite:///" + (dir_ / "app.db").string());
    } else {
      config.url = parse_url(testing::test_pg_url(), "KEEL_TEST_PG_URL");
    }
    return config;
  }

 private:
  std::filesystem::path dir_;
};

TEST_P(LibpqLoadingTest, LibpqIsLoadedByUsingPostgresqlOnly) {
  ASSERT_FALSE(libpq_loaded()) << "libpq was loaded before any database was opened";
  // Parsing a PostgreSQL URL needs no libpq.
  EXPECT_EQ(parse_url("postgresql://app:secret@db.internal:5432/app?sslmode=require").dbname,
            "app");
  ASSERT_FALSE(libpq_loaded());

  Database db(config_for_backend());
  auto lock = db.instance_lock(fmt::format("libpq-loading-{}", ::getpid()));
  auto row = db.query_one("SELECT 40 + 2 AS answer");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->get<std::int64_t>("answer"), 42);
  EXPECT_TRUE(db.health().ok);

  EXPECT_EQ(libpq_loaded(), GetParam() == Backend::postgresql);
}

KEEL_BACKEND_TEST_SUITE(LibpqLoadingTest);

// The message load_libpq(file) throws, or "" when it loads.
std::string load_error(const char* file) {
  try {
    driver::pg::load_libpq(file);
    return "";
  } catch (const ConnectionError& e) {
    return e.what();
  }
}

TEST(LibpqLoadErrors, AMissingLibraryIsNamedWithThePackageThatProvidesIt) {
  std::string message = load_error("libpq-keel-test-absent.so.5");
  EXPECT_NE(message.find("PostgreSQL support needs libpq"), std::string::npos) << message;
  EXPECT_NE(message.find("libpq-keel-test-absent.so.5"), std::string::npos) << message;
  EXPECT_NE(message.find("Debian package libpq5"), std::string::npos) << message;
}

TEST(LibpqLoadErrors, ALibraryWithoutALibpqFunctionNamesTheFunction) {
  std::string message = load_error("libc.so.6");
  EXPECT_NE(message.find("PQconnectStartParams"), std::string::npos) << message;
  EXPECT_NE(message.find("Debian package libpq5"), std::string::npos) << message;
}

}  // namespace
}  // namespace keel
