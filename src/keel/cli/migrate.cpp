// cli/migrate.cpp — the migration verbs: `keel current`, `history`, `upgrade`,
// `downgrade`, `stamp`, `check`, `revision`, `merge` and `init`. Each is a thin call
// into keel::migrate; this file only finds the migrations directory and formats results.
#include "keel/migrate.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "keel/database.hpp"
#include "keel/error.hpp"
#include "keel/schema.hpp"

namespace keel::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct MigrateOptions {
  std::string dir;      // --migrations; empty: keel.yaml's `migrations:`
  std::string target;   // the revision argument
  std::string from;     // --from for --sql; empty: base (upgrade) or head (downgrade)
  std::string dialect;  // --dialect for --sql; empty: the configured database's
  std::string message;  // revision -m
  std::string schema;   // check/revision --schema; empty: keel.yaml's `schema:`, else none
  std::string legacy_table = "schema_migrations";  // stamp --adopt --legacy-table
  bool sql = false;           // --sql: print the script, touch no database
  bool backup = false;        // upgrade --backup
  bool autogenerate = false;  // revision --autogenerate
  bool adopt = false;         // stamp --adopt
};

const char* const kDirHelp = "Directory of revision files (default: `migrations:` in keel.yaml)";

// The migrations directory: --migrations, else the config's `migrations:`.
std::string migrations_dir(const Globals& globals, const MigrateOptions& options) {
  if (!options.dir.empty()) return options.dir;
  Config config = load_config(globals);
  if (config.migrations_dir.empty())
    throw ConfigError(
        "no migrations directory: give --migrations DIR, or `migrations: DIR` in keel.yaml "
        "(`keel init` writes one)");
  return config.migrations_dir;
}

Backend sql_backend(const Globals& globals, const MigrateOptions& options) {
  return options.dialect.empty() ? load_config(globals).url.backend
                                 : parse_dialect(options.dialect);
}

// The database to read, or nullptr when it is a SQLite file that does not exist yet.
std::unique_ptr<Database> open_existing(const Globals& globals) {
  Config config = load_config(globals);
  if (missing_sqlite_file(config)) return nullptr;
  return std::make_unique<Database>(std::move(config));
}

json id_or_null(const std::optional<std::string>& id) {
  return id ? json(*id) : json(nullptr);
}

int run_current(const Globals& globals, const MigrateOptions& options) {
  std::string dir = migrations_dir(globals, options);
  migrate::History history = migrate::load_history(dir);
  std::optional<std::string> current;
  if (auto db = open_existing(globals)) current = migrate::current(*db, dir);
  std::string head = history.head();
  bool at_head = current ? *current == head : head.empty();
  if (globals.json) {
    std::cout << json{{"current", id_or_null(current)},
                      {"head", head.empty() ? json(nullptr) : json(head)},
                      {"at_head", at_head}}
                     .dump(2)
              << '\n';
  } else if (!current) {
    std::cout << (head.empty() ? "none (the history is empty)\n"
                               : fmt::format("none (head is {})\n", head));
  } else if (at_head) {
    std::cout << *current << " (head)\n";
  } else {
    std::cout << fmt::format("{} (head is {})\n", *current, head);
  }
  return kExitOk;
}

int run_history(const Globals& globals, const MigrateOptions& options) {
  std::string dir = migrations_dir(globals, options);
  migrate::History history = migrate::load_history(dir);
  std::map<std::string, migrate::AppliedRevision> applied;
  if (auto db = open_existing(globals))
    for (auto& a : migrate::history(*db)) applied.emplace(a.id, std::move(a));
  std::string head = history.head();
  if (globals.json) {
    json out = json::array();
    for (const auto& r : history.revisions) {
      json j = {{"id", r.id},           {"down_revisions", r.down_revisions},
                {"message", r.message}, {"created", r.created},
                {"path", r.path},       {"head", r.id == head},
                {"applied", false}};
      if (auto it = applied.find(r.id); it != applied.end()) {
        j["applied"] = true;
        j["applied_at"] = it->second.applied_at;
        j["duration_ms"] = it->second.duration_ms;
      }
      out.push_back(std::move(j));
    }
    std::cout << out.dump(2) << '\n';
    return kExitOk;
  }
  // Newest first, as Alembic prints it.
  for (auto r = history.revisions.rbegin(); r != history.revisions.rend(); ++r) {
    std::string parents = r->down_revisions.empty() ? "<base>" : "";
    for (const auto& p : r->down_revisions) parents += (parents.empty() ? "" : ", ") + p;
    std::string status = "pending";
    if (auto it = applied.find(r->id); it != applied.end())
      status = fmt::format("applied {} ({} ms)", it->second.applied_at, it->second.duration_ms);
    std::cout << fmt::format("{} -> {}{}, {} [{}]\n", parents, r->id,
                             r->id == head ? " (head)" : "", r->message, status);
  }
  return kExitOk;
}

// A run's progress on stdout, as it happens: "applying <id> <message> ... " when a
// revision starts and "ok (12 ms)" when it commits, each flushed so that a long run
// shows where it is; "failed" ends the line of one that throws. With --json nothing is
// printed until the single document at the end.
class ProgressLines {
 public:
  ProgressLines(const Globals& globals, const char* verb) : json_(globals.json), verb_(verb) {}

  migrate::RunOptions options() {
    migrate::RunOptions o;
    o.progress = [this](const migrate::RunEvent& e) { on(e); };
    return o;
  }
  // Runs `body`, closing an open line with "failed" when it throws.
  template <class F>
  auto run(F&& body) {
    try {
      return body();
    } catch (...) {
      if (open_) std::cout << "failed" << std::endl;
      open_ = false;
      throw;
    }
  }
  const std::string& backup_path() const { return backup_; }

 private:
  void on(const migrate::RunEvent& e) {
    using Kind = migrate::RunEvent::Kind;
    if (e.kind == Kind::backup) backup_ = e.backup_path;
    if (json_) return;
    if (e.kind == Kind::backup) {
      std::cout << "backup: " << e.backup_path << std::endl;
    } else if (e.kind == Kind::starting) {
      std::cout << fmt::format("{} {}{} ... ", verb_, e.id,
                               e.message.empty() ? "" : " " + e.message)
                << std::flush;
      open_ = true;
    } else {
      std::cout << fmt::format("ok ({} ms)", e.duration.count()) << std::endl;
      open_ = false;
    }
  }

  bool json_;
  const char* verb_;
  bool open_ = false;
  std::string backup_;
};

int run_upgrade(const Globals& globals, const MigrateOptions& options) {
  std::string dir = migrations_dir(globals, options);
  std::string target = options.target.empty() ? "head" : options.target;
  if (options.sql) {
    if (options.backup) throw UsageError("--backup goes without --sql: a script changes nothing");
    std::cout << migrate::upgrade_sql(dir, sql_backend(globals, options),
                                      options.from.empty() ? "base" : options.from, target);
    return kExitOk;
  }
  if (!options.from.empty()) throw UsageError("--from goes with --sql");
  Database db(load_config(globals));
  ProgressLines progress(globals, "applying");
  migrate::RunOptions run = progress.options();
  if (options.backup) run.backup = "";
  auto ids = progress.run([&] { return migrate::upgrade(db, dir, target, run); });
  if (globals.json) {
    json out{{"applied", ids}, {"current", id_or_null(migrate::current(db, dir))}};
    if (options.backup)
      out["backup"] = progress.backup_path().empty() ? json(nullptr) : json(progress.backup_path());
    std::cout << out.dump(2) << '\n';
  } else if (ids.empty()) {
    auto current = migrate::current(db, dir);
    std::cout << fmt::format("nothing to do: the database is at {}{}\n", current.value_or("base"),
                             options.backup ? " (no backup needed)" : "");
  }
  return kExitOk;
}

int run_downgrade(const Globals& globals, const MigrateOptions& options) {
  std::string dir = migrations_dir(globals, options);
  if (options.sql) {
    std::cout << migrate::downgrade_sql(dir, sql_backend(globals, options),
                                        options.from.empty() ? "head" : options.from,
                                        options.target);
    return kExitOk;
  }
  if (!options.from.empty()) throw UsageError("--from goes with --sql");
  Database db(load_config(globals));
  ProgressLines progress(globals, "reverting");
  auto ids = progress.run(
      [&] { return migrate::downgrade(db, dir, options.target, progress.options()); });
  if (globals.json) {
    std::cout << json{{"reverted", ids}, {"current", id_or_null(migrate::current(db, dir))}}.dump(2)
              << '\n';
  } else if (ids.empty()) {
    std::cout << "nothing to do\n";
  }
  return kExitOk;
}

// stamp --adopt: exit 0 when stamped, 1 listing the differences otherwise.
int run_adopt(const Globals& globals, const MigrateOptions& options, const std::string& dir) {
  Database db(load_config(globals));
  migrate::AdoptReport report = migrate::adopt(db, dir, options.target, options.legacy_table);
  auto current = migrate::current(db, dir);
  if (globals.json) {
    std::cout << json{{"adopted", report.stamped},
                      {"current", id_or_null(current)},
                      {"differences", report.differences},
                      {"legacy_table", options.legacy_table},
                      {"legacy_versions", report.legacy_versions ? json(*report.legacy_versions)
                                                                 : json(nullptr)}}
                     .dump(2)
              << '\n';
  } else if (report.stamped) {
    std::string legacy =
        report.legacy_versions
            ? fmt::format("legacy table {} lists {} versions, now unused", options.legacy_table,
                          *report.legacy_versions)
            : fmt::format("no legacy table {}", options.legacy_table);
    std::cout << fmt::format("adopted: stamped {} (schema matches; {})\n", current.value_or("base"),
                             legacy);
  } else {
    std::cout << fmt::format(
        "not adopted: the database differs from revision {} (nothing changed):\n", options.target);
    for (const auto& d : report.differences) std::cout << d << '\n';
  }
  return report.stamped ? kExitOk : kExitFailed;
}

int run_stamp(const Globals& globals, const MigrateOptions& options) {
  std::string dir = migrations_dir(globals, options);
  if (options.adopt) return run_adopt(globals, options, dir);
  if (options.legacy_table != MigrateOptions{}.legacy_table)
    throw UsageError("--legacy-table goes with --adopt");
  Database db(load_config(globals));
  migrate::stamp(db, dir, options.target);
  auto current = migrate::current(db, dir);
  if (globals.json)
    std::cout << json{{"current", id_or_null(current)}}.dump(2) << '\n';
  else
    std::cout << fmt::format("stamped {}\n", current.value_or("base"));
  return kExitOk;
}

// The schema file check compares with: --schema, else keel.yaml's `schema:`, else none.
std::string check_schema_path(const Config& config, const MigrateOptions& options) {
  std::string path = options.schema.empty() ? config.schema_file : options.schema;
  std::error_code ec;
  if (!path.empty() && !fs::is_regular_file(path, ec))
    throw ConfigError(fmt::format(
        "{}: schema file not found (named by {})", path,
        options.schema.empty() ? "`schema:` in the config file" : "--schema"));
  return path;
}

int run_check(const Globals& globals, const MigrateOptions& options) {
  std::string dir = migrations_dir(globals, options);
  Config config = load_config(globals);
  std::string schema_file = check_schema_path(config, options);
  migrate::CheckReport report;
  std::unique_ptr<Database> db = open_existing(globals);
  if (db) {
    report = migrate::check(*db, dir);
  } else {
    migrate::History history = migrate::load_history(dir);
    if (!history.revisions.empty()) {
      report.ok = false;
      report.problems.push_back(fmt::format(
          "the database is behind: {} does not exist; run `keel upgrade head`", config.url.path));
    }
  }
  // Only a database at head is compared with the schema file: one that is behind
  // differs from it for the reason already reported.
  if (report.ok && !schema_file.empty()) {
    schema::MetaData model = schema::load_schema_file(schema_file);
    schema::MetaData live;
    if (db) live = schema::reflect(db->connection().get());
    for (const auto& op : schema::diff(live, model, config.url.backend)) {
      report.ok = false;
      report.problems.push_back(fmt::format("the database at head differs from {}: needs {}",
                                            schema_file, schema::describe(op)));
    }
  }
  if (globals.json) {
    std::cout << json{{"ok", report.ok}, {"problems", report.problems}}.dump(2) << '\n';
  } else if (report.ok) {
    std::cout << (schema_file.empty()
                      ? "ok: the database is at head and no applied revision changed\n"
                      : fmt::format("ok: the database is at head, no applied revision changed, "
                                    "and it matches {}\n",
                                    schema_file));
  } else {
    for (const auto& p : report.problems) std::cout << p << '\n';
  }
  return report.ok ? kExitOk : kExitFailed;
}

// ---- revision, merge and init ----------------------------------------------------

json revision_json(const migrate::Revision& rev) {
  return {{"id", rev.id},
          {"down_revision", rev.down_revisions.empty()            ? json(nullptr)
                            : rev.down_revisions.size() == 1 ? json(rev.down_revisions[0])
                                                             : json(rev.down_revisions)},
          {"path", rev.path}};
}

// revision --autogenerate: the difference between the schema file and the database at head.
int run_autogenerate(const Globals& globals, const MigrateOptions& options,
                     const std::string& dir) {
  Config config = load_config(globals);
  std::string schema_file = check_schema_path(config, options);
  if (schema_file.empty())
    throw UsageError(
        "revision --autogenerate: give --schema FILE, or `schema: FILE` in keel.yaml");
  schema::MetaData target = schema::load_schema_file(schema_file);
  migrate::Autogenerated steps;
  {
    Database db(std::move(config));
    steps = migrate::autogenerate(db, dir, target);
  }
  std::vector<std::string> described;
  for (const auto& step : steps.upgrade) described.push_back(migrate::describe(step));
  if (steps.upgrade.empty()) {
    if (globals.json)
      std::cout << json{{"id", nullptr}, {"path", nullptr}, {"upgrade", described}}.dump(2) << '\n';
    else
      std::cout << fmt::format("no changes: the database at head matches {}\n", schema_file);
    return kExitOk;
  }
  migrate::Revision rev =
      migrate::write_revision(dir, {options.message, steps.upgrade, steps.downgrade, {}});
  if (globals.json) {
    json out = revision_json(rev);
    out["upgrade"] = described;
    std::cout << out.dump(2) << '\n';
    return kExitOk;
  }
  std::cout << fmt::format("created {} ({})\n", rev.path, rev.id);
  for (const auto& d : described) std::cout << "  " << d << '\n';
  return kExitOk;
}

int run_revision(const Globals& globals, const MigrateOptions& options) {
  std::string dir = migrations_dir(globals, options);
  if (options.message.empty()) throw UsageError("revision: give a message with -m MSG");
  if (options.autogenerate) return run_autogenerate(globals, options, dir);
  if (!options.schema.empty()) throw UsageError("--schema goes with --autogenerate");
  migrate::Revision rev = migrate::write_revision(dir, {options.message, {}, {}, {}});
  if (globals.json)
    std::cout << revision_json(rev).dump(2) << '\n';
  else
    std::cout << fmt::format("created {} ({})\n", rev.path, rev.id);
  return kExitOk;
}

int run_merge(const Globals& globals, const MigrateOptions& options) {
  std::string dir = migrations_dir(globals, options);
  migrate::Revision rev = migrate::merge(dir, options.message);
  if (globals.json)
    std::cout << revision_json(rev).dump(2) << '\n';
  else
    std::cout << fmt::format("created {} ({}): {}\n", rev.path, rev.id, rev.message);
  return kExitOk;
}

int run_init(const Globals& globals, const MigrateOptions& options) {
  fs::path base = options.target.empty() ? fs::path(".") : fs::path(options.target);
  fs::path config = base / "keel.yaml", schema = base / "schema.yaml";
  for (const fs::path& p : {config, schema}) {
    std::error_code ec;
    if (fs::exists(p, ec))
      throw UsageError(fmt::format("{}: already exists; init writes only into a fresh project",
                                   p.string()));
  }
  fs::create_directories(base / "migrations");
  std::ofstream(config) << "# keel configuration (docs/configuration.md)\n"
                           "database:\n"
                           "  url: sqlite:///data/app.db\n"
                           "schema: schema.yaml\n"
                           "migrations: migrations/\n";
  std::ofstream(schema) << "# The tables of the application (docs/schema.md).\n"
                           "tables: {}\n";
  if (globals.json)
    std::cout << json{{"config", config.string()}, {"schema", schema.string()},
                      {"migrations", (base / "migrations").string()}}
                     .dump(2)
              << '\n';
  else
    std::cout << fmt::format("created {}, {} and {}/\n", config.string(), schema.string(),
                             (base / "migrations").string());
  return kExitOk;
}

// ---- registration ------------------------------------------------------------------

using Body = int (*)(const Globals&, const MigrateOptions&);

Verb make_verb(const char* name, const char* summary, const char* details, Body body,
               const std::shared_ptr<MigrateOptions>& options) {
  Verb verb;
  verb.name = name;
  verb.summary = summary;
  verb.details = details;
  if (std::string(name) != "init")
    verb.args.push_back({"--migrations", kDirHelp, &options->dir, false, "DIR"});
  verb.run = [options, body](const Globals& globals) {
    return run_guarded([&] { return body(globals, *options); });
  };
  return verb;
}

void add_sql_args(Verb& verb, MigrateOptions& options, const char* from_help) {
  verb.args.push_back({"--sql", "Print the SQL script instead of running it (connects to nothing)",
                       &options.sql, false, ""});
  verb.args.push_back({"--dialect", "Dialect of --sql (default: the configured database's)",
                       &options.dialect, false, "sqlite|postgresql"});
  verb.args.push_back({"--from", from_help, &options.from, false, "REV"});
}

Verb current_verb() {
  auto o = std::make_shared<MigrateOptions>();
  return make_verb("current", "Show the database's current revision",
                   "Prints the latest applied revision and whether it is the head\n"
                   "({current, head, at_head} with --json). A SQLite file that does not exist is\n"
                   "reported as at no revision, and not created.",
                   run_current, o);
}

Verb history_verb() {
  auto o = std::make_shared<MigrateOptions>();
  return make_verb("history", "List the revisions, newest first, and which are applied",
                   "One line per revision: parent -> id, message, applied time or pending (a JSON\n"
                   "array, oldest first, with --json).",
                   run_history, o);
}

Verb upgrade_verb() {
  auto o = std::make_shared<MigrateOptions>();
  Verb v = make_verb("upgrade", "Apply revisions up to head, a revision or +N",
                     "Each revision runs in its own transaction, under the migration lock. With\n"
                     "--sql, prints the script from --from (default base) to REV instead.",
                     run_upgrade, o);
  v.args.push_back({"revision", "head (default), a revision id or prefix, or +N", &o->target,
                    false, "REV"});
  v.args.push_back({"--backup",
                    "SQLite: first copy the database to <file>.<revision>.<time>.bak (only when "
                    "a revision will run)",
                    &o->backup, false, ""});
  add_sql_args(v, *o, "With --sql: the revision the script starts from (default base)");
  return v;
}

Verb downgrade_verb() {
  auto o = std::make_shared<MigrateOptions>();
  Verb v = make_verb("downgrade", "Revert revisions down to a revision, -N or base",
                     "Reverts newest first, each in its own transaction; REV itself stays\n"
                     "applied. With --sql, prints the script from --from (default head) instead.",
                     run_downgrade, o);
  v.args.push_back({"revision", "a revision id or prefix, -N, or base", &o->target, true, "REV"});
  add_sql_args(v, *o, "With --sql: the revision the script starts from (default head)");
  return v;
}

Verb stamp_verb() {
  auto o = std::make_shared<MigrateOptions>();
  Verb v = make_verb(
      "stamp", "Record a revision as applied without running anything",
      "Records REV and exactly its ancestors as applied (base: none). With --adopt, for a\n"
      "database a hand-rolled runner built: stamps REV only when the live schema (less the\n"
      "legacy table) matches REV's, else exits 1 listing the differences and changes nothing.",
      run_stamp, o);
  v.args.push_back({"revision", "a revision id or prefix, head, or base", &o->target, true, "REV"});
  v.args.push_back({"--adopt", "Stamp only when the live schema matches REV's (first adoption)",
                    &o->adopt, false, ""});
  v.args.push_back({"--legacy-table",
                    "With --adopt: the hand-rolled runner's table, left in place and ignored "
                    "(default schema_migrations)",
                    &o->legacy_table, false, "NAME"});
  return v;
}

Verb check_verb() {
  auto o = std::make_shared<MigrateOptions>();
  Verb v = make_verb(
      "check", "Exit 1 when the database, the migrations and schema.yaml disagree",
      "Reports a database that is behind, ahead (revisions the directory does not\n"
      "know) or tampered (an applied revision file changed), and a database at head that\n"
      "differs from the schema file, one line each ({ok, problems} with --json).\n"
      "Exit 0 when all agree, 1 otherwise.",
      run_check, o);
  v.args.push_back({"--schema", "Schema file to compare with (default: `schema:` in keel.yaml)",
                    &o->schema, false, "FILE"});
  return v;
}

Verb revision_verb() {
  auto o = std::make_shared<MigrateOptions>();
  Verb v = make_verb("revision", "Write a new revision file on top of the head",
                     "Writes <id>_<slug>.yaml into the migrations directory with a fresh id,\n"
                     "down_revision the current head, and empty upgrade/downgrade lists. With\n"
                     "--autogenerate, the lists turn the database (which must be at head) into\n"
                     "the schema file; nothing is written when they already match.",
                     run_revision, o);
  v.args.push_back({"-m,--message", "What the revision does", &o->message, true, "MSG"});
  v.args.push_back({"--autogenerate", "Fill the revision with the diff from the database at head "
                    "to the schema file", &o->autogenerate, false, ""});
  v.args.push_back({"--schema", "With --autogenerate: the schema file (default: `schema:` in "
                    "keel.yaml)", &o->schema, false, "FILE"});
  return v;
}

Verb merge_verb() {
  auto o = std::make_shared<MigrateOptions>();
  Verb v = make_verb("merge", "Write a merge revision joining the heads of the history",
                     "Writes a revision whose down_revision lists every head, with empty\n"
                     "upgrade/downgrade lists; exit 2 when the history has one head.",
                     run_merge, o);
  v.args.push_back({"-m,--message", "What the merge is (default: merge <a> and <b>)", &o->message,
                    false, "MSG"});
  return v;
}

Verb init_verb() {
  auto o = std::make_shared<MigrateOptions>();
  Verb v = make_verb("init", "Write keel.yaml, schema.yaml and migrations/ for a new project",
                     "Refuses (exit 2) when keel.yaml or schema.yaml already exists in DIR.",
                     run_init, o);
  v.args.push_back({"dir", "Where to write them (default: the working directory)", &o->target,
                    false, "DIR"});
  return v;
}

[[maybe_unused]] const bool registered = register_verb(current_verb) &&
                                         register_verb(history_verb) &&
                                         register_verb(upgrade_verb) &&
                                         register_verb(downgrade_verb) &&
                                         register_verb(stamp_verb) && register_verb(check_verb) &&
                                         register_verb(revision_verb) &&
                                         register_verb(merge_verb) && register_verb(init_verb);

}  // namespace
}  // namespace keel::cli
