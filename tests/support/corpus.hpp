// tests/support/corpus.hpp — the SQLite corpus beside the checkout
// (../shared/corpus/sqlite/, described in its README): real databases keel did not
// create, for the tests that run once per file. KEEL_SOURCE_DIR comes from the test
// suite that includes this.
#pragma once

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace keel::testing {

inline std::filesystem::path corpus_dir() {
  return std::filesystem::path(KEEL_SOURCE_DIR "/../shared/corpus") / "sqlite";
}

// The corpus files, sorted; a missing corpus gives one entry naming it, so a suite
// instantiated over them fails loudly instead of running zero tests.
inline std::vector<std::string> corpus_files() {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(corpus_dir(), ec))
    if (entry.is_regular_file()) files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  if (files.empty()) files.push_back("MISSING");
  return files;
}

// A corpus file name as a GoogleTest name: every character but letters and digits
// becomes '_'.
inline std::string corpus_test_name(std::string file) {
  for (auto& ch : file)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return file;
}

}  // namespace keel::testing
