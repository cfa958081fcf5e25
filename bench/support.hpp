// bench/support.hpp — what every benchmark file shares: where its databases are.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "keel/keel.hpp"

namespace keel::bench {

// This process's SQLite file `stem` in the temporary directory, any old one removed.
inline std::string fresh_sqlite_path(std::string_view stem) {
  auto p = std::filesystem::temp_directory_path() / fmt::format("{}-{}.db", stem, ::getpid());
  std::filesystem::remove(p);
  return p.string();
}

// The PostgreSQL server scripts/run-bench starts.
inline std::string pg_url() {
  const char* url = std::getenv("KEEL_BENCH_PG_URL");
  if (!url) throw std::runtime_error("KEEL_BENCH_PG_URL is not set (scripts/run-bench sets it)");
  return url;
}

// A config for backend `b`: the SQLite file `sqlite_path`, or the PostgreSQL server.
inline Config config_for(Backend b, const std::string& sqlite_path) {
  Config c = default_config();
  c.url = parse_url(b == Backend::sqlite ? "sqlite:///" + sqlite_path : pg_url());
  return c;
}

}  // namespace keel::bench
