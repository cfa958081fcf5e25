// tests/cli/migrate_cli_fixture.hpp — what the migration CLI tests share: the standard
// history (support/revision_fixtures.hpp) in a scratch directory and `keel` run
// against this test's database.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "process.hpp"
#include "support/backend_test.hpp"
#include "support/revision_fixtures.hpp"

namespace keel::testing {

inline bool contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

// "applying r1 users ... ok (12 ms)" → "applying r1 users ... ok": durations vary.
inline std::string without_durations(const std::string& out) {
  static const std::regex ms(R"( \(\d+ ms\))");
  return std::regex_replace(out, ms, "");
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class CliMigrationTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    dir_ = (temp_dir() / "migrations").string();
    write_standard_history(dir_);
  }

  std::string url() const { return config().url.to_string(); }
  const std::string& dir() const { return dir_; }

  ProcessOptions options() const { return clean_env(temp_dir()); }

  // `keel VERB args… --url URL --migrations DIR`.
  ProcessResult keel(std::vector<std::string> args) const {
    args.insert(args.end(), {"--url", url(), "--migrations", dir_});
    return run_keel(args, options());
  }

  // What `keel current` prints.
  std::string current() const {
    auto r = keel({"current"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    return r.out;
  }

 private:
  std::string dir_;
};

}  // namespace keel::testing
