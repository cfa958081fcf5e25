// cli/common.hpp — what every verb of the keel command shares.
//
// A verb is one .cpp file: it describes its options as plain data (a Verb) and
// registers it from a static initializer; main.cpp is the only place that turns
// the descriptions into CLI11 calls, so the heavy CLI11 header is compiled once.
// Verbs call into the library and format its results; nothing else.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "keel/config.hpp"

namespace keel::cli {

// The exit codes of every verb (documented in --help and docs/cli.md).
enum ExitCode : int {
  kExitOk = 0,      // the operation succeeded, the check passed
  kExitFailed = 1,  // the operation failed or the check found a problem
  kExitUsage = 2,   // bad arguments or configuration
};

// Options accepted by every verb, before or after its name.
struct Globals {
  std::string config_file;  // --config; empty: ./keel.yaml when it exists
  std::string url;          // --url; empty: not given
  bool json = false;        // --json: machine-readable output on stdout
};

// One option ("--timeout", "-m,--message") or positional argument ("revision")
// of a verb, and where its value goes.
struct Arg {
  std::string names;
  std::string help;
  std::variant<std::string*, double*, int*, bool*, std::vector<std::string>*> target;
  bool required = false;
  std::string value_name;  // shown in --help ("SECONDS"); empty: CLI11's guess from the type
};

// A verb: its arguments, its action, or verbs of its own (`keel schema ddl`).
struct Verb {
  std::string name;
  std::string summary;  // one line, shown in `keel --help`
  std::string details;  // more text for `keel <verb> --help`; may be empty
  std::vector<Arg> args;
  std::vector<Verb> subverbs;
  // Returns the exit code; exceptions are mapped by run_guarded().
  std::function<int(const Globals&)> run;
};

// Adds a verb to the command; call once per verb from a namespace-scope initializer:
//   [[maybe_unused]] const bool registered = register_verb(health_verb);
bool register_verb(Verb (*make)());
// Every registered verb, in the order of DESIGN.md's verb table.
std::vector<Verb> registered_verbs();

// The YAML file in force: --config (ConfigError when it does not exist), else
// ./keel.yaml when there is one; nullopt for none.
std::optional<std::string> config_file(const Globals& globals);
// The configuration for `globals`: default < keel.yaml (or --config) < DATABASE_URL
// < --url. Throws ConfigError naming the source.
Config load_config(const Globals& globals);

// `text` with the password of every URL and every `password=` keyword replaced by ***.
std::string scrub_passwords(std::string_view text);
// Writes "keel: <message>" to stderr, passwords scrubbed.
void print_error(std::string_view message);
// Runs a verb's body and maps what it throws to an exit code: configuration and
// usage errors → 2 (message on stderr), any other failure → 1.
int run_guarded(const std::function<int()>& body);

// The backend named by --dialect ("sqlite", "postgresql" or "postgres"); UsageError otherwise.
Backend parse_dialect(const std::string& name);
// True for a SQLite database file that does not exist yet: read-only verbs report on
// it as an empty database instead of creating it by connecting.
bool missing_sqlite_file(const Config& config);

}  // namespace keel::cli
