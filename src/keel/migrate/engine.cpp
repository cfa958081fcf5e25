// The migration engine: keel_version, the migration lock, and running revisions.
//
// keel_version holds one row per applied revision. The applied set is always closed
// under ancestry (upgrade applies a revision's ancestors first, downgrade reverts
// descendants first), so "what is applied" is a set, not a pointer, and merges need
// no special case. The schema model a revision's operations are rendered against is
// rebuilt by replaying schema::apply over the applied revisions from base: the files
// are the truth, and reflection is never needed to render an ALTER.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "dialect/alter.hpp"
#include "dialect/ddl.hpp"
#include "keel/database.hpp"
#include "keel/instance_lock.hpp"
#include "keel/migrate.hpp"

namespace keel::migrate {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::string_view kTable = "keel_version";
constexpr std::string_view kLockName = "keel-migrate";

// The script of a sql step for `b`: the file names one per dialect.
const std::string& sql_for(const SqlStep& step, Backend b) {
  return b == Backend::sqlite ? step.sqlite : step.postgresql;
}

const schema::MetaData& version_meta() {
  static const schema::MetaData meta = [] {
    schema::MetaData m;
    schema::TableBuilder(m, std::string(kTable))
        .column("revision", "string(64)", {.nullable = false})
        .column("applied_at", "timestamp", {.nullable = false})
        .column("duration_ms", "bigint", {.nullable = false})
        .column("checksum", "string(16)", {.nullable = false})
        .primary_key({"revision"});
    // validate() refuses keel_ names, which are reserved for exactly this table; the
    // only name it would fill in is the key's.
    m.tables.front().primary_key->name = std::string(kTable) + "_pkey";
    return m;
  }();
  return meta;
}

// keel_version's DDL; IF NOT EXISTS so that creating it is idempotent on both backends.
std::vector<std::string> version_ddl(Backend b) {
  std::vector<std::string> out;
  for (std::string s : dialect::create_statements(version_meta(), b)) {
    constexpr std::string_view create = "CREATE TABLE ";
    if (s.rfind(create, 0) == 0) s.insert(create.size(), "IF NOT EXISTS ");
    out.push_back(std::move(s));
  }
  return out;
}

std::string insert_sql(Backend b) {
  const Dialect& d = dialect_for(b);
  return fmt::format("INSERT INTO {} ({}, {}, {}, {}) VALUES (?, {}, ?, ?)", d.quote(kTable),
                     d.quote("revision"), d.quote("applied_at"), d.quote("duration_ms"),
                     d.quote("checksum"), d.now_utc());
}

std::string delete_sql(Backend b) {
  const Dialect& d = dialect_for(b);
  return fmt::format("DELETE FROM {} WHERE {} = ?", d.quote(kTable), d.quote("revision"));
}

// The rows of keel_version; none when the table does not exist yet.
std::vector<AppliedRevision> read_applied(Connection& conn) {
  const Dialect& d = dialect_for(conn.backend());
  std::string sql =
      fmt::format("SELECT {}, {}, {}, {} FROM {} ORDER BY {}, {}", d.quote("revision"),
                  d.quote("applied_at"), d.quote("duration_ms"), d.quote("checksum"),
                  d.quote(kTable), d.quote("applied_at"), d.quote("revision"));
  std::vector<AppliedRevision> out;
  try {
    for (const Row& row : conn.query(sql))
      out.push_back({row.get<std::string>(0), format_timestamp(row.get<Timestamp>(1)),
                     row.get<std::int64_t>(2), row.get<std::string>(3)});
  } catch (const DatabaseError& e) {
    if (e.kind() != ErrorKind::undefined_object) throw;
    // Only outside a transaction is a failed statement harmless on PostgreSQL.
    if (conn.transaction_depth() > 0) throw;
    return {};
  }
  return out;
}

void ensure_version_table(Connection& conn) {
  for (const auto& s : version_ddl(conn.backend())) conn.execute(s);
}

// Takes the migration lock, waiting until `timeout` for a holder to finish: on `run`'s
// session when given (PostgreSQL), else on a connection of its own.
std::unique_ptr<InstanceLock> take_lock(const Config& config, const RunOptions& options,
                                        Connection* run = nullptr) {
  const auto deadline = Clock::now() + options.lock_timeout;
  for (;;) {
    try {
      return run ? acquire_instance_lock(*run, config, kLockName)
                 : acquire_instance_lock(config, kLockName);
    } catch (const AlreadyRunning& e) {
      if (Clock::now() >= deadline)
        throw MigrationError(
            ErrorKind::timeout,
            fmt::format("another migration holds the migration lock of {} (waited {} ms): {}",
                        config.url.redacted(), options.lock_timeout.count(), e.what()));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

// The table an operation works on, for reading its triggers before a rebuild.
std::string table_of(const schema::Operation& op) {
  return std::visit(
      [](const auto& o) -> std::string {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, schema::CreateTable> ||
                      std::is_same_v<T, schema::DropTable>)
          return o.table.name;
        else if constexpr (std::is_same_v<T, schema::RenameTable>)
          return o.from;
        else
          return o.table;
      },
      op);
}

std::set<std::string> ancestors(const History& h, const std::string& id) {
  std::set<std::string> out;
  std::vector<std::string> todo{id};
  while (!todo.empty()) {
    std::string cur = std::move(todo.back());
    todo.pop_back();
    if (!out.insert(cur).second) continue;
    if (const Revision* r = h.find(cur))
      for (const auto& p : r->down_revisions) todo.push_back(p);
  }
  return out;
}

// "+3" / "-2" → 3 / 2; nullopt when `target` is not that form.
std::optional<int> relative(std::string_view target, char sign) {
  if (target.size() < 2 || target[0] != sign) return std::nullopt;
  int n = 0;
  auto [p, ec] = std::from_chars(target.data() + 1, target.data() + target.size(), n);
  if (ec != std::errc() || p != target.data() + target.size() || n <= 0)
    throw ConfigError(
        fmt::format("revision target '{}': expected {}N with N a positive number", target, sign));
  return n;
}

// The model after the upgrades of every revision in `applied`, in history order.
schema::MetaData replay(const History& h, const std::set<std::string>& applied) {
  schema::MetaData model;
  for (const auto& rev : h.revisions) {
    if (!applied.count(rev.id)) continue;
    for (std::size_t i = 0; i < rev.upgrade.size(); ++i) {
      const auto* op = std::get_if<schema::Operation>(&rev.upgrade[i]);
      if (!op) continue;
      try {
        schema::apply(model, *op);
      } catch (const Error& e) {
        throw MigrationError(e.kind(), fmt::format("{}: upgrade[{}] `{}` does not fit the schema "
                                                   "of the revisions before it: {}",
                                                   rev.path, i, schema::describe(*op), e.what()));
      }
    }
  }
  return model;
}

// Where the database stands against the history; problems that forbid running.
struct State {
  History history;
  std::vector<AppliedRevision> rows;
  std::set<std::string> applied;
  std::vector<std::string> unknown;   // applied, not in the directory
  std::vector<std::string> tampered;  // one line each
};

State read_state(Connection& conn, History history) {
  State s{std::move(history), read_applied(conn), {}, {}, {}};
  for (const auto& row : s.rows) {
    s.applied.insert(row.id);
    const Revision* rev = s.history.find(row.id);
    if (!rev) {
      s.unknown.push_back(row.id);
    } else if (rev->checksum != row.checksum) {
      s.tampered.push_back(fmt::format(
          "revision {} ({}) changed after it was applied at {}: checksum {} then, {} now", row.id,
          rev->path, row.applied_at, row.checksum, rev->checksum));
    }
  }
  return s;
}

State read_state(Connection& conn, const std::string& dir) {
  return read_state(conn, load_history(dir));
}

// `verb` is what is refused: "migrate", "autogenerate".
void refuse_if_unsafe(const State& s, std::string_view verb = "migrate") {
  if (!s.tampered.empty())
    throw MigrationError(ErrorKind::other,
                         fmt::format("refusing to {}: {}; restore the file as applied and "
                                     "put the change in a new revision",
                                     verb, fmt::join(s.tampered, "; ")));
  if (!s.unknown.empty())
    throw MigrationError(ErrorKind::other,
                         fmt::format("refusing to {}: the database is ahead: it has revision(s) "
                                     "{} applied, which {} does not contain",
                                     verb, fmt::join(s.unknown, ", "), s.history.dir));
}

// The script of one revision for dialect::sends_whole_revisions(), with `after` set
// to the model it leaves; nullopt when an operation does not render, which the step-by-step path
// then reports naming the step. `durable` false: its COMMIT does not wait for the WAL
// flush — a later durable commit of the same run flushes it (run_all).
std::optional<std::string> revision_script(const Revision& rev, bool up, Backend b,
                                           const schema::MetaData& before, bool durable,
                                           schema::MetaData& after) {
  const Dialect& d = dialect_for(b);
  // Each statement ends on a line of its own, so that a sql step's closing line
  // comment cannot swallow the separator.
  std::string out = "BEGIN;\n";
  if (std::string defer = dialect::deferred_commit_sql(b); !durable && !defer.empty())
    out += defer + ";\n";
  schema::MetaData current = before;
  try {
    for (const auto& step : up ? rev.upgrade : rev.downgrade) {
      if (const auto* sql = std::get_if<SqlStep>(&step)) {
        if (const std::string& text = sql_for(*sql, b); !text.empty()) out += text + "\n;\n";
        continue;
      }
      const auto& op = std::get<schema::Operation>(step);
      schema::MetaData next = current;
      schema::apply(next, op);
      dialect::AlterContext ctx{current, next, {}};
      for (const auto& stmt : dialect::operation_statements(op, ctx, b)) out += stmt + "\n;\n";
      current = std::move(next);
    }
  } catch (const Error&) {
    return std::nullopt;
  }
  // Ids are letters, digits, '_' and '-', checksums hex (revision.cpp): as literals they
  // need no escaping whatever the server's string settings. The duration is the
  // server's, from BEGIN to this row.
  const std::string id = dialect::DdlRenderer::string_literal(rev.id, "revision");
  if (up)
    out += fmt::format(
        "INSERT INTO {} ({}, {}, {}, {}) VALUES ({}, {}, {}, {});\n", d.quote(kTable),
        d.quote("revision"), d.quote("applied_at"), d.quote("duration_ms"), d.quote("checksum"),
        id, d.now_utc(), dialect::elapsed_ms_sql(b),
        dialect::DdlRenderer::string_literal(rev.checksum, "checksum"));
  else
    out += fmt::format("DELETE FROM {} WHERE {} = {};\n", d.quote(kTable), d.quote("revision"), id);
  out += "COMMIT";
  after = std::move(current);
  return out;
}

// Makes the run's commits so far durable: a commit with a transaction id waits for
// the WAL flush up to its own record, which follows every earlier commit's.
void flush_commits(Connection& conn) {
  if (std::string script = dialect::durable_commit_script(conn.backend()); !script.empty())
    conn.execute_script(script);
}

// Runs one revision's steps and its keel_version change in one transaction, or in a
// savepoint when the caller has one open (upgrade_in_transaction); returns how long
// that took. With `durable` false the commit may leave its WAL flush to a later one;
// `deferred` then says whether it did.
std::chrono::milliseconds run_revision(Connection& conn, const Revision& rev, bool up,
                                       schema::MetaData& model, bool durable, bool& deferred) {
  const Backend b = conn.backend();
  const auto& steps = up ? rev.upgrade : rev.downgrade;
  const char* list = up ? "upgrade" : "downgrade";
  const auto started = Clock::now();
  // Inside the caller's transaction only a savepoint is ours to undo.
  const int outer = conn.transaction_depth();
  const bool nested = outer > 0;
  deferred = false;
  if (!nested && dialect::sends_whole_revisions(b)) {
    schema::MetaData after;
    if (auto script = revision_script(rev, up, b, model, durable, after)) {
      try {
        conn.execute_script(*script);
        model = std::move(after);
        deferred = !durable;
        conn.clear_statement_cache();
        return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
      } catch (const DatabaseError& e) {
        if (e.kind() == ErrorKind::connection || conn.broken())
          throw MigrationError(e.kind(), fmt::format("revision {} ({}) {}: {}", rev.id, rev.path,
                                                     list, e.what()));
        if (conn.in_transaction()) conn.abandon_transaction();
        // The server does not say which step failed: running the revision again step
        // by step, in a transaction of its own, names it (and rolls back again).
      }
    }
  }
  try {
    conn.begin();
    schema::MetaData current = model;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      try {
        if (const auto* sql = std::get_if<SqlStep>(&steps[i])) {
          if (const std::string& text = sql_for(*sql, b); !text.empty()) conn.execute_script(text);
          continue;
        }
        const auto& op = std::get<schema::Operation>(steps[i]);
        schema::MetaData next = current;
        schema::apply(next, op);
        dialect::AlterContext ctx{current, next, {}};
        ctx.triggers = dialect::triggers_to_preserve(conn, table_of(op));
        for (const auto& stmt : dialect::operation_statements(op, ctx, b)) conn.execute(stmt);
        current = std::move(next);
      } catch (const Error& e) {
        throw MigrationError(
            e.kind(), fmt::format("revision {} ({}) failed at {}[{}] `{}`; rolled back: {}", rev.id,
                                  rev.path, list, i, describe(steps[i]), e.what()));
      }
    }
    if (std::string check = dialect::foreign_key_check_sql(b); !check.empty()) {
      std::vector<std::string> bad;
      for (const Row& row : conn.query(check))
        bad.push_back(fmt::format("a row of {} (rowid {}) references a missing row of {}",
                                  row[0].to_display(), row[1].to_display(), row[2].to_display()));
      if (!bad.empty())
        throw MigrationError(ErrorKind::foreign_key_violation,
                             fmt::format("revision {} ({}) {} broke foreign keys; rolled back: {}",
                                         rev.id, rev.path, list, fmt::join(bad, "; ")));
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    if (up)
      conn.execute(insert_sql(b), {rev.id, static_cast<std::int64_t>(ms.count()), rev.checksum});
    else
      conn.execute(delete_sql(b), {rev.id});
    conn.commit();
    model = std::move(current);
  } catch (...) {
    try {
      if (nested) {
        if (conn.transaction_depth() > outer) conn.rollback();
      } else if (conn.in_transaction()) {
        conn.abandon_transaction();
      }
    } catch (...) {
      // The revision's own error is the one to report.
    }
    conn.clear_statement_cache();
    throw;
  }
  // Cached plans may name tables this revision replaced.
  conn.clear_statement_cache();
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
}

// What an upgrade runs on `conn`: keel_version created if missing, the revisions
// still to apply up to `goal` (or the next `steps`), and the model they start from.
struct UpgradePlan {
  State state;
  std::vector<const Revision*> todo;  // point into state.history
  schema::MetaData model;
};

UpgradePlan plan_upgrade(Connection& conn, History history, std::optional<int> steps,
                         const std::string& goal) {
  ensure_version_table(conn);
  UpgradePlan plan{read_state(conn, std::move(history)), {}, {}};
  const State& s = plan.state;
  refuse_if_unsafe(s);
  std::set<std::string> wanted = steps ? std::set<std::string>{} : ancestors(s.history, goal);
  for (const auto& rev : s.history.revisions) {
    if (s.applied.count(rev.id)) continue;
    if (steps ? static_cast<int>(plan.todo.size()) < *steps : wanted.count(rev.id) > 0)
      plan.todo.push_back(&rev);
  }
  plan.model = replay(s.history, s.applied);
  return plan;
}

// Runs `todo` in order, telling options.progress before and after each; returns the ids.
// The migration prologue (SQLite's foreign keys off, which it ignores inside a
// transaction) holds for the whole run, outside each revision's transaction; inside the
// caller's transaction upgrade_in_transaction refuses a backend that has one. Only the
// last revision's commit waits for the WAL flush, which makes the earlier ones durable
// too; a run that stops early flushes what it committed before it throws.
std::vector<std::string> run_all(Connection& conn, const std::vector<const Revision*>& todo,
                                 bool up, schema::MetaData& model, const RunOptions& options) {
  std::vector<std::string> done;
  if (todo.empty()) return done;
  const Backend b = conn.backend();
  const bool own = conn.transaction_depth() == 0;
  if (own)
    for (const auto& s : dialect::migration_prologue(b)) conn.execute(s);
  bool unflushed = false;
  try {
    for (std::size_t i = 0; i < todo.size(); ++i) {
      const Revision& rev = *todo[i];
      RunEvent event{RunEvent::Kind::starting, rev.id, rev.message, i + 1, todo.size(), {}, {}};
      if (options.progress) options.progress(event);
      bool deferred = false;
      event.duration = run_revision(conn, rev, up, model, i + 1 == todo.size(), deferred);
      unflushed = deferred;
      done.push_back(rev.id);
      event.kind = RunEvent::Kind::finished;
      if (options.progress) options.progress(event);
    }
  } catch (...) {
    try {
      if (unflushed && !conn.broken()) flush_commits(conn);
      if (own)
        for (const auto& s : dialect::migration_epilogue(b)) conn.execute(s);
    } catch (...) {
      // The revision's own error is the one to report.
    }
    throw;
  }
  if (own)
    for (const auto& s : dialect::migration_epilogue(b)) conn.execute(s);
  return done;
}

// The latest applied revision in history order, or "base".
std::string current_of(const State& s) {
  std::string out = "base";
  for (const auto& rev : s.history.revisions)
    if (s.applied.count(rev.id)) out = rev.id;
  return out;
}

// <db file>.<revision>.<YYYYMMDDTHHMMSSZ>.bak: sorts by revision, then time, beside the
// database it copies.
std::string default_backup_path(const Config& config, const std::string& revision) {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  return fmt::format("{}.{}.{}.bak", config.url.path, revision, stamp);
}

// Records exactly `wanted` as applied, in one transaction.
void record_exactly(Connection& conn, const History& h, const std::set<std::string>& wanted) {
  ensure_version_table(conn);
  conn.transaction([&](Connection& c) {
    std::set<std::string> have;
    for (const auto& row : read_applied(c)) {
      if (wanted.count(row.id))
        have.insert(row.id);
      else
        c.execute(delete_sql(c.backend()), {row.id});
    }
    for (const auto& rev : h.revisions)
      if (wanted.count(rev.id) && !have.count(rev.id))
        c.execute(insert_sql(c.backend()), {rev.id, std::int64_t{0}, rev.checksum});
  });
}

// The run's connection, closed afterwards rather than returned to the pool: its
// session caches (prepared plans, PL/pgSQL plans of triggers) may describe tables as
// they were before the run.
struct RunConnection {
  explicit RunConnection(Database& db) : lease(db.connection()) {}
  ~RunConnection() { lease.discard(); }
  RunConnection(const RunConnection&) = delete;
  RunConnection& operator=(const RunConnection&) = delete;
  Pool::Lease lease;
};

// The run's connection and the migration lock, released in that order's reverse: on
// PostgreSQL the lock is a session lock of the run's connection.
struct LockedRun {
  std::unique_ptr<RunConnection> run;
  std::unique_ptr<InstanceLock> lock;
  Connection& conn() { return *run->lease; }
};

using Opening = std::future<std::unique_ptr<RunConnection>>;

// Starts opening the run's connection on a thread of its own. A database server's
// connection costs round trips and authentication, so it opens while the revision
// files are read; a SQLite file opens only once they are known to be good, so that a
// broken history leaves no database file behind.
Opening start_connecting(Database& db, bool early) {
  if (early && db.config().is_sqlite()) return {};
  return std::async(std::launch::async, [&db] { return std::make_unique<RunConnection>(db); });
}

// Takes the lock on the run's connection once it is open (on PostgreSQL a session lock:
// one connection and one authentication fewer than a lock of its own); the connection
// is used only once the lock is held.
LockedRun lock_and_connect(Database& db, const RunOptions& options, Opening opening) {
  if (!opening.valid()) opening = start_connecting(db, false);
  LockedRun out;
  out.run = opening.get();
  out.lock = take_lock(db.config(), options, &out.conn());
  return out;
}

}  // namespace

schema::Table version_table() { return version_meta().tables.front(); }

std::vector<AppliedRevision> history(Database& db) {
  auto lease = db.connection();
  return read_applied(*lease);
}

std::optional<std::string> current(Database& db, const std::string& dir) {
  History h = load_history(dir);
  auto lease = db.connection();
  std::set<std::string> applied;
  for (const auto& row : read_applied(*lease)) applied.insert(row.id);
  std::optional<std::string> out;
  for (const auto& rev : h.revisions)
    if (applied.count(rev.id)) out = rev.id;
  return out;
}

CheckReport check(Database& db, const std::string& dir) {
  auto lease = db.connection();
  State s = read_state(*lease, dir);
  CheckReport report;
  for (const auto& t : s.tampered) report.problems.push_back(t);
  if (!s.unknown.empty())
    report.problems.push_back(
        fmt::format("the database is ahead: revision(s) {} are applied but "
                    "not in {}",
                    fmt::join(s.unknown, ", "), dir));
  std::vector<std::string> pending;
  for (const auto& rev : s.history.revisions)
    if (!s.applied.count(rev.id)) pending.push_back(rev.id);
  if (!pending.empty())
    report.problems.push_back(fmt::format("the database is behind: {} revision(s) not applied: {}",
                                          pending.size(), fmt::join(pending, ", ")));
  report.ok = report.problems.empty();
  return report;
}

std::vector<std::string> upgrade(Database& db, const std::string& dir, std::string_view target,
                                 const RunOptions& options) {
  Opening opening = start_connecting(db, true);
  History preview = load_history(dir);  // broken files fail before anything is locked
  std::optional<int> steps = relative(target, '+');
  std::string goal = steps ? "" : resolve_revision(preview, target);
  if (options.backup && !db.config().is_sqlite())
    throw UsageError(
        "upgrade --backup copies SQLite databases only; back up PostgreSQL with pg_dump "
        "before upgrading");
  LockedRun locked = lock_and_connect(db, options, std::move(opening));
  Connection& conn = locked.conn();
  UpgradePlan plan = plan_upgrade(conn, std::move(preview), steps, goal);
  const State& s = plan.state;
  auto& todo = plan.todo;
  auto& model = plan.model;
  if (options.backup && !todo.empty()) {
    RunEvent event{RunEvent::Kind::backup, {}, {}, 0, todo.size(), {}, *options.backup};
    if (event.backup_path.empty())
      event.backup_path = default_backup_path(db.config(), current_of(s));
    backup_database(db.config(), event.backup_path);
    if (options.progress) options.progress(event);
  }
  return run_all(conn, todo, true, model, options);
}

std::unique_ptr<InstanceLock> migration_lock(const Config& config, const RunOptions& options) {
  return take_lock(config, options);
}

std::vector<std::string> upgrade_in_transaction(Connection& conn, const std::string& dir,
                                                std::string_view target,
                                                const RunOptions& options) {
  // A backend whose migrations need statements outside the transaction (SQLite turns
  // foreign keys off, which it ignores inside one) cannot run them in the caller's.
  if (!dialect::migration_prologue(conn.backend()).empty())
    throw UsageError(fmt::format(
        "upgrade_in_transaction cannot run on {}: its migrations need statements outside "
        "the transaction (foreign keys switched off for table rebuilds)",
        to_string(conn.backend())));
  if (conn.transaction_depth() == 0)
    throw UsageError("upgrade_in_transaction needs the caller's transaction open");
  History preview = load_history(dir);
  std::optional<int> steps = relative(target, '+');
  std::string goal = steps ? "" : resolve_revision(preview, target);
  UpgradePlan plan = plan_upgrade(conn, std::move(preview), steps, goal);
  return run_all(conn, plan.todo, true, plan.model, options);
}

std::vector<std::string> downgrade(Database& db, const std::string& dir, std::string_view target,
                                   const RunOptions& options) {
  Opening opening = start_connecting(db, true);
  History preview = load_history(dir);
  std::optional<int> steps = relative(target, '-');
  std::string goal = steps || target == "base" ? "" : resolve_revision(preview, target);
  LockedRun locked = lock_and_connect(db, options, std::move(opening));
  Connection& conn = locked.conn();
  ensure_version_table(conn);
  State s = read_state(conn, std::move(preview));
  refuse_if_unsafe(s);
  if (!goal.empty() && !s.applied.count(goal))
    throw MigrationError(ErrorKind::usage,
                         fmt::format("revision {} is not applied; downgrade goes back to an "
                                     "applied revision (or base)",
                                     goal));
  std::set<std::string> keep = goal.empty() ? std::set<std::string>{} : ancestors(s.history, goal);
  std::vector<const Revision*> todo;
  for (auto it = s.history.revisions.rbegin(); it != s.history.revisions.rend(); ++it) {
    if (!s.applied.count(it->id)) continue;
    if (steps ? static_cast<int>(todo.size()) < *steps : keep.count(it->id) == 0)
      todo.push_back(&*it);
  }
  schema::MetaData model = replay(s.history, s.applied);
  return run_all(conn, todo, false, model, options);
}

void stamp(Database& db, const std::string& dir, std::string_view target,
           const RunOptions& options) {
  History h = load_history(dir);
  std::set<std::string> wanted =
      target == "base" ? std::set<std::string>{} : ancestors(h, resolve_revision(h, target));
  auto lock = take_lock(db.config(), options);
  auto lease = db.connection();
  record_exactly(*lease, h, wanted);
}

AdoptReport adopt(Database& db, const std::string& dir, std::string_view baseline,
                  const std::string& legacy_table, const RunOptions& options) {
  History h = load_history(dir);
  const std::string id = resolve_revision(h, baseline);
  const std::set<std::string> wanted = ancestors(h, id);
  const schema::MetaData expected = replay(h, wanted);
  auto lock = take_lock(db.config(), options);
  auto lease = db.connection();
  Connection& conn = *lease;
  const Backend b = conn.backend();
  if (auto rows = read_applied(conn); !rows.empty())
    throw MigrationError(
        ErrorKind::other,
        fmt::format("refusing to adopt {}: keel already manages it (keel_version records {} "
                    "revision(s)); use `keel stamp REV` to change what it records",
                    db.config().url.redacted(), rows.size()));
  schema::MetaData live = schema::reflect(conn);
  AdoptReport report;
  auto legacy = std::find_if(live.tables.begin(), live.tables.end(),
                             [&](const schema::Table& t) { return t.name == legacy_table; });
  if (legacy != live.tables.end()) {
    live.tables.erase(legacy);
    const Dialect& d = dialect_for(b);
    report.legacy_versions =
        conn.query_one(fmt::format("SELECT count(*) FROM {}", d.quote(legacy_table)))
            ->get<std::int64_t>(0);
  }
  for (const auto& op : schema::diff(live, expected, b))
    report.differences.push_back("needs: " + schema::describe(op));
  if (!report.differences.empty()) return report;
  record_exactly(conn, h, wanted);
  report.stamped = true;
  return report;
}

Autogenerated autogenerate(Database& db, const std::string& dir, const schema::MetaData& target) {
  auto lease = db.connection();
  Connection& conn = *lease;
  State s = read_state(conn, dir);
  refuse_if_unsafe(s, "autogenerate");
  std::vector<std::string> pending;
  for (const auto& rev : s.history.revisions)
    if (!s.applied.count(rev.id)) pending.push_back(rev.id);
  if (!pending.empty())
    throw MigrationError(ErrorKind::other,
                         fmt::format("refusing to autogenerate: the database is behind: {} "
                                     "revision(s) not applied: {}; run `keel upgrade head` first, "
                                     "so that the new revision starts from head",
                                     pending.size(), fmt::join(pending, ", ")));
  Autogenerated out;
  std::vector<schema::Operation> ops = schema::diff(schema::reflect(conn), target, conn.backend());
  for (const auto& op : ops) out.upgrade.emplace_back(op);
  for (auto it = ops.rbegin(); it != ops.rend(); ++it)
    out.downgrade.emplace_back(schema::invert(*it));
  return out;
}

namespace {

std::string statement(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == ';')) s.pop_back();
  return s + ";\n";
}

// One revision of an offline script: what run_revision does, written out.
void script_revision(std::string& out, const Revision& rev, bool up, Backend b,
                     schema::MetaData& model) {
  const Dialect& d = dialect_for(b);
  const auto& steps = up ? rev.upgrade : rev.downgrade;
  const char* list = up ? "upgrade" : "downgrade";
  out += fmt::format("\n-- {} {}: {}\n", list, rev.id, rev.message);
  for (const auto& s : dialect::migration_prologue(b)) out += statement(s);
  out += "BEGIN;\n";
  for (std::size_t i = 0; i < steps.size(); ++i) {
    try {
      if (const auto* sql = std::get_if<SqlStep>(&steps[i])) {
        if (const std::string& text = sql_for(*sql, b); !text.empty()) out += statement(text);
        continue;
      }
      const auto& op = std::get<schema::Operation>(steps[i]);
      schema::MetaData next = model;
      schema::apply(next, op);
      // Triggers cannot be read without a database: a SQLite rebuild in a script
      // does not re-create them.
      dialect::AlterContext ctx{model, next, {}};
      for (const auto& s : dialect::operation_statements(op, ctx, b)) out += statement(s);
      model = std::move(next);
    } catch (const Error& e) {
      throw MigrationError(e.kind(), fmt::format("revision {} ({}) {}[{}] `{}`: {}", rev.id,
                                                 rev.path, list, i, describe(steps[i]), e.what()));
    }
  }
  for (const auto& s : dialect::foreign_key_check_script(b)) out += statement(s);
  const std::string id = dialect::DdlRenderer::string_literal(rev.id, "revision");
  if (up)
    out += fmt::format("INSERT INTO {} ({}, {}, {}, {}) VALUES ({}, {}, 0, {});\n", d.quote(kTable),
                       d.quote("revision"), d.quote("applied_at"), d.quote("duration_ms"),
                       d.quote("checksum"), id, d.now_utc(),
                       dialect::DdlRenderer::string_literal(rev.checksum, "checksum"));
  else
    out += fmt::format("DELETE FROM {} WHERE {} = {};\n", d.quote(kTable), d.quote("revision"), id);
  out += "COMMIT;\n";
  for (const auto& s : dialect::migration_epilogue(b)) out += statement(s);
}

}  // namespace

std::string upgrade_sql(const std::string& dir, Backend backend, std::string_view from,
                        std::string_view to) {
  History h = load_history(dir);
  std::set<std::string> applied = from == "base" || from.empty()
                                      ? std::set<std::string>{}
                                      : ancestors(h, resolve_revision(h, from));
  std::optional<int> steps = relative(to, '+');
  std::set<std::string> wanted =
      steps ? std::set<std::string>{} : ancestors(h, resolve_revision(h, to));
  std::string out = fmt::format("-- keel upgrade {} -> {} on {}, from {}\n",
                                from.empty() ? "base" : from, to, to_string(backend), dir);
  if (applied.empty())
    for (const auto& s : version_ddl(backend)) out += statement(s);
  schema::MetaData model = replay(h, applied);
  int count = 0;
  for (const auto& rev : h.revisions) {
    if (applied.count(rev.id)) continue;
    if (steps ? count >= *steps : !wanted.count(rev.id)) continue;
    ++count;
    script_revision(out, rev, true, backend, model);
  }
  return out;
}

std::string downgrade_sql(const std::string& dir, Backend backend, std::string_view from,
                          std::string_view to) {
  History h = load_history(dir);
  std::set<std::string> applied = ancestors(h, resolve_revision(h, from));
  std::optional<int> steps = relative(to, '-');
  std::set<std::string> keep =
      steps || to == "base" ? std::set<std::string>{} : ancestors(h, resolve_revision(h, to));
  if (!steps && to != "base" && !applied.count(resolve_revision(h, to)))
    throw ConfigError(
        fmt::format("revision {} is not an ancestor of {}; downgrade goes back", to, from));
  std::string out =
      fmt::format("-- keel downgrade {} -> {} on {}, from {}\n", from, to, to_string(backend), dir);
  schema::MetaData model = replay(h, applied);
  int count = 0;
  for (auto it = h.revisions.rbegin(); it != h.revisions.rend(); ++it) {
    if (!applied.count(it->id)) continue;
    if (steps ? count >= *steps : keep.count(it->id) > 0) continue;
    ++count;
    script_revision(out, *it, false, backend, model);
  }
  return out;
}

}  // namespace keel::migrate
