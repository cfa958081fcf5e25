// keel-example — a small slice of a session-keeping daemon on keel.
//
// With no configuration at all it keeps its data in ./data/app.db (SQLite, WAL);
// keel.yaml in the working directory, DATABASE_URL or --url move it elsewhere,
// e.g. --url postgresql://app@127.0.0.1/app. Each run:
//   1. takes the single-instance lock, so a second copy refuses to start;
//   2. brings the database to the head of its migration history
//      (examples/sessions/migrations, the revisions whose head is schema.yaml
//      beside it) with keel::migrate_to_head — a fresh database gets every
//      revision, an up-to-date one none;
//   3. records a new session, in one transaction;
//   4. assigns the first session a voice with an upsert (insert the first time,
//      update after that) and says which it was;
//   5. reads the sessions back with typed access and prints a health report.
//
// Exit codes: 0 ok; 1 a database operation failed; 2 usage or configuration
// error; 3 another instance holds the lock (see --help).
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "keel/keel.hpp"

#ifndef KEEL_EXAMPLE_MIGRATIONS
#define KEEL_EXAMPLE_MIGRATIONS "examples/sessions/migrations"
#endif

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitAlreadyRunning = 3;

constexpr const char* kUsage =
    "usage: keel-example [--url URL] [--config FILE] [--migrations DIR]\n"
    "                    [--hold SECONDS] [--lock NAME]\n"
    "\n"
    "Brings the database to the head of its migration history, records a session,\n"
    "assigns it a voice (upsert) and prints what the database holds.\n"
    "Configuration: built-in default sqlite:///./data/app.db < --config FILE\n"
    "(default ./keel.yaml when present) < DATABASE_URL < --url.\n"
    "\n"
    "  --url URL         database URL (sqlite:///path.db, postgresql://user@host/db)\n"
    "  --config FILE     YAML file with a `database:` section\n"
    "  --migrations DIR  revision files applied at start-up (default: the\n"
    "                    examples/sessions/migrations this program was built from);\n"
    "                    a broken history stops it before the database is touched\n"
    "  --hold SECONDS    keep running (and holding the instance lock) this long\n"
    "  --lock NAME       instance lock name (default keel-example); PostgreSQL\n"
    "                    advisory locks are per database, not per schema\n"
    "\n"
    "Exit codes: 0 ok; 1 a database operation failed; 2 usage or configuration\n"
    "error; 3 another instance is already running.\n";

struct Options {
  std::optional<std::string> url;
  std::optional<std::string> config_file;
  std::string migrations_dir = KEEL_EXAMPLE_MIGRATIONS;
  double hold_s = 0;
  std::string lock_name = "keel-example";
};

// Throws keel::UsageError for anything it does not understand.
Options parse_args(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw keel::UsageError(fmt::format("{} needs a value", arg));
      return argv[++i];
    };
    if (arg == "--url") {
      options.url = value();
    } else if (arg == "--config") {
      options.config_file = value();
    } else if (arg == "--migrations") {
      options.migrations_dir = value();
    } else if (arg == "--lock") {
      options.lock_name = value();
    } else if (arg == "--hold") {
      std::string text = value();
      char* end = nullptr;
      options.hold_s = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !(options.hold_s >= 0))
        throw keel::UsageError(fmt::format("--hold {}: expected a number of seconds", text));
    } else {
      throw keel::UsageError(fmt::format("unknown argument '{}'", arg));
    }
  }
  return options;
}

keel::Config load_config(const Options& options) {
  keel::ConfigSources sources;
  if (options.config_file) {
    sources.file = *options.config_file;
  } else if (std::filesystem::is_regular_file("keel.yaml")) {
    sources.file = "keel.yaml";
  }
  sources.explicit_url = options.url;
  return keel::resolve_config(sources);
}

// Applies the revisions the database lacks (all of them the first time) and says
// what it did. The instance lock is already held, and migrate_to_head takes the
// migration lock too, so a `keel upgrade` run at the same moment waits its turn.
void migrate(keel::Database& db, const keel::migrate::History& history) {
  std::vector<std::string> applied = keel::migrate_to_head(db, history.dir);
  if (applied.empty()) {
    std::cout << fmt::format("migrations: at head {}\n", history.head());
    return;
  }
  for (const std::string& id : applied) {
    const keel::migrate::Revision* rev = history.find(id);  // files may change meanwhile
    std::cout << fmt::format("  applied {} {}\n", id, rev ? rev->message : "");
  }
  std::cout << fmt::format("migrations: applied {} revision{}, now at {}\n", applied.size(),
                           applied.size() == 1 ? "" : "s", applied.back());
}

keel::Timestamp now() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now());
}

int run(const Options& options) {
  // A broken revision file (or a missing directory) stops the program before the
  // database is touched: ConfigError, exit 2.
  keel::migrate::History history = keel::migrate::load_history(options.migrations_dir);
  keel::Database db(load_config(options));
  std::cout << fmt::format("database: {} ({})\n", db.config().url.redacted(),
                           db.config().url_source);

  // Before touching anything: a second copy must leave the data alone.
  auto lock = db.instance_lock(options.lock_name);
  std::cout << fmt::format("instance lock: {}\n", lock->where());

  migrate(db, history);

  // A new session and, for the first session, a voice — in one transaction each,
  // so a failure leaves nothing half-written.
  std::string session_id = db.transaction([&](keel::Connection& c) {
    auto count = c.query_one("SELECT COUNT(*) AS n FROM sessions")->get<std::int64_t>("n");
    std::string id = fmt::format("session-{:03}", count + 1);
    c.execute("INSERT INTO sessions (id, created_at, title, metadata) VALUES (?, ?, ?, ?)",
              {id, now(), fmt::format("run {}", count + 1),
               keel::Json{fmt::format(R"({{"run": {}, "client": "keel-example"}})", count + 1)}});
    return id;
  });
  std::cout << fmt::format("recorded {}\n", session_id);

  static constexpr const char* kVoices[] = {"alloy", "echo", "fable", "nova", "shimmer"};
  const keel::Dialect& dialect = db.dialect();
  keel::Upsert assign;
  assign.table = "voice_assignments";
  assign.columns = {"session_id", "voice", "updated_at"};
  assign.conflict = {"session_id"};  // insert the first time, update the voice after
  std::string upsert = dialect.upsert(assign);
  auto [path, voice] = db.transaction([&](keel::Connection& c) {
    // Which path the upsert takes is decided by the row being there; the instance
    // lock keeps anyone else from racing us between the two statements.
    bool exists = c.query_one("SELECT 1 FROM voice_assignments WHERE session_id = ?",
                              {"session-001"})
                      .has_value();
    auto n = c.query_one("SELECT COUNT(*) AS n FROM sessions")->get<std::int64_t>("n");
    std::string chosen = kVoices[static_cast<std::size_t>(n - 1) % std::size(kVoices)];
    c.execute(upsert, {"session-001", chosen, now()});
    return std::pair<std::string, std::string>(exists ? "updated" : "inserted", chosen);
  });
  std::cout << fmt::format("voice of session-001: {} ({} by upsert)\n", voice, path);

  auto total = db.query_one("SELECT COUNT(*) AS n FROM sessions")->get<std::int64_t>("n");
  std::cout << fmt::format("sessions: {} (latest 3)\n", total);
  auto rows = db.query(
      "SELECT s.id, s.created_at, s.metadata, v.voice FROM sessions s"
      " LEFT JOIN voice_assignments v ON v.session_id = s.id"
      " ORDER BY s.id DESC LIMIT 3");
  for (const keel::Row& row : rows) {
    auto voice_of = row.get<std::optional<std::string>>("voice");
    std::cout << fmt::format("  {}  {}  {}{}\n", row.get<std::string>("id"),
                             keel::format_timestamp(row.get<keel::Timestamp>("created_at")),
                             row.get<keel::Json>("metadata").text,
                             voice_of ? "  voice=" + *voice_of : "");
  }

  std::cout << "health:\n" << db.health().to_text();
  std::cout.flush();

  if (options.hold_s > 0) {
    std::cout << fmt::format("holding the instance lock for {} s\n", options.hold_s)
              << std::flush;
    std::this_thread::sleep_for(std::chrono::duration<double>(options.hold_s));
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
      std::cout << kUsage;
      return kExitOk;
    }
  }
  Options options;
  try {
    options = parse_args(argc, argv);
  } catch (const keel::UsageError& e) {
    std::cerr << "keel-example: " << e.what() << "\n\n" << kUsage;
    return kExitUsage;
  }
  try {
    return run(options);
  } catch (const keel::AlreadyRunning& e) {
    std::string message = e.what();
    if (message.find("already running") == std::string::npos)
      message = "already running: " + message;
    std::cerr << "keel-example: " << message << '\n';
    return kExitAlreadyRunning;
  } catch (const keel::ConfigError& e) {
    std::cerr << "keel-example: " << e.what() << '\n';
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "keel-example: " << e.what() << '\n';
    return kExitFailed;
  }
}
