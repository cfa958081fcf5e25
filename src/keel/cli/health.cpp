// cli/health.cpp — `keel health`: is the database reachable, and how fast.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "common.hpp"
#include "keel/database.hpp"
#include "keel/error.hpp"

namespace keel::cli {
namespace {

struct HealthOptions {
  double timeout_s = 5;
};

int run_health(const Globals& globals, const HealthOptions& options) {
  if (!(options.timeout_s > 0) || !std::isfinite(options.timeout_s))
    throw UsageError(fmt::format("--timeout {}: must be a positive number of seconds",
                                 options.timeout_s));
  Config config = load_config(globals);
  auto timeout = std::chrono::milliseconds(
      std::max<long long>(1, std::llround(options.timeout_s * 1000)));
  HealthReport report;
  try {
    Database db(config);
    report = db.health(timeout);
  } catch (const ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    // Preparing the database can fail before health() runs (a SQLite directory
    // that cannot be created); a probe still gets a report in its format.
    report.ok = false;
    report.backend = config.url.backend;
    report.url = config.url.redacted();
    report.error = scrub_passwords(e.what());
  }
  if (globals.json) {
    std::cout << report.to_json() << '\n';
  } else {
    std::string text = report.to_text();
    std::cout << text;
    if (text.empty() || text.back() != '\n') std::cout << '\n';
  }
  return report.ok ? kExitOk : kExitFailed;
}

Verb health_verb() {
  auto options = std::make_shared<HealthOptions>();
  Verb verb;
  verb.name = "health";
  verb.summary = "Check that the database answers: status, backend, server version, latency, pool";
  verb.details =
      "Prints a short report (or JSON with --json). Exit 0 when the database answers,\n"
      "1 when it does not within the timeout, 2 on a usage or configuration error.";
  verb.args.push_back(
      {"--timeout", "Give up after this many seconds (default 5)", &options->timeout_s, false,
       "SECONDS"});
  verb.run = [options](const Globals& globals) {
    return run_guarded([&] { return run_health(globals, *options); });
  };
  return verb;
}

[[maybe_unused]] const bool registered = register_verb(health_verb);

}  // namespace
}  // namespace keel::cli
