// The single-instance lock on PostgreSQL: a session-level advisory lock held on a
// connection of its own (or, for a caller that holds one connection for all the locked
// work, on that connection's session), keyed by XXH64 of the name (of "schema/name" outside
// `public`). The server releases it when that session ends, however
// the holder died. The connection's application_name says who holds it, so a
// refused instance can name the holder's PID and host.
#include <unistd.h>
#include <xxhash.h>

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>

#include "driver/backends.hpp"
#include "driver/postgres/pg_connection.hpp"
#include "keel/error.hpp"

namespace keel::driver {

namespace {

// PostgreSQL truncates application_name to NAMEDATALEN - 1 bytes.
constexpr std::size_t kMaxApplicationName = 63;

void check_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 200;
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-');
  }
  if (!ok)
    throw UsageError(fmt::format(
        "instance lock name '{}' is not valid: use 1 to 200 letters, digits, '.', '_' or '-'",
        name));
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// The value of `key=` in a keel-lock application_name, or "".
std::string field(std::string_view app, std::string_view key) {
  std::string needle = " " + std::string(key) + "=";
  std::size_t at = app.find(needle);
  if (at == std::string_view::npos) return {};
  at += needle.size();
  std::size_t end = app.find(' ', at);
  return std::string(app.substr(at, end == std::string_view::npos ? end : end - at));
}

// Holds the advisory lock on `conn`: a connection of its own (`owned`), or a caller's
// whose application_name it restores to `restore_app` on release.
class PgLock final : public InstanceLock {
 public:
  PgLock(std::string name, std::int64_t key, std::string url, Connection& conn,
         std::unique_ptr<Connection> owned, std::optional<std::string> restore_app)
      : name_(std::move(name)),
        key_(key),
        url_(std::move(url)),
        conn_(conn),
        owned_(std::move(owned)),
        restore_app_(std::move(restore_app)) {}

  ~PgLock() override {
    try {
      if (!conn_.alive()) return;
      if (restore_app_)
        conn_.execute("SELECT pg_advisory_unlock(?), set_config('application_name', ?, false)",
                      {key_, *restore_app_});
      else
        conn_.execute("SELECT pg_advisory_unlock(?)", {key_});
    } catch (...) {
      // The session's end releases it anyway: an owned connection closes below, a
      // borrowed one is closed by its owner (the contract of the borrowing overload).
    }
  }

  const std::string& name() const noexcept override { return name_; }
  std::string where() const override {
    return fmt::format("advisory lock {} on {}", key_, url_);
  }
  bool held() noexcept override { return conn_.alive() && conn_.ping(); }

 private:
  std::string name_;
  std::int64_t key_;
  std::string url_;  // redacted
  Connection& conn_;
  std::unique_ptr<Connection> owned_;
  std::optional<std::string> restore_app_;
};

// pg_locks' (classid, objid) of a bigint advisory key: its high and low 32 bits
// (with objsubid = 1).
Params key_columns(std::int64_t key) {
  auto k = static_cast<std::uint64_t>(key);
  return {static_cast<std::int64_t>(k >> 32), static_cast<std::int64_t>(k & 0xffffffffu)};
}

// Who holds advisory lock `key`: "pid 1234 on host H (PostgreSQL backend …)".
std::string describe_holder(Connection& conn, std::int64_t key) {
  auto row = conn.query(
                     "SELECT a.pid, a.application_name, host(a.client_addr) AS addr, "
                     "to_char(a.backend_start AT TIME ZONE 'UTC', "
                     "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS since "
                     "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                     "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                     "AND l.database = (SELECT oid FROM pg_database "
                     "WHERE datname = current_database()) "
                     "AND l.classid::bigint = ? AND l.objid::bigint = ? LIMIT 1",
                     key_columns(key))
                 .one();
  if (!row) return "another session (its details are not visible to this database role)";
  auto backend = row->get<std::int64_t>("pid");
  auto app = row->get<std::optional<std::string>>("application_name").value_or("");
  auto addr = row->get<std::optional<std::string>>("addr");
  auto since = row->get<std::optional<std::string>>("since");
  std::string session =
      fmt::format("PostgreSQL backend {} from {}{}", backend,
                  addr ? *addr : std::string("a local socket"), since ? " since " + *since : "");
  if (app.rfind("keel-lock ", 0) == 0) {
    std::string pid = field(app, "pid");
    std::string host = field(app, "host");
    if (!pid.empty())
      return fmt::format("pid {} on host {} ({})", pid, host.empty() ? "?" : host, session);
  }
  return app.empty() ? session : fmt::format("{} (application '{}')", session, app);
}

// "keel-lock <name> pid=… host=…": what describe_holder() reads back.
std::string lock_application_name(std::string_view name) {
  std::string app = fmt::format("keel-lock {} pid={} host={}", name, ::getpid(), host_name());
  if (app.size() > kMaxApplicationName) app.resize(kMaxApplicationName);
  return app;
}

// The advisory key of `name` for conn's database and schema. Advisory locks are
// database-wide, but a keel database on PostgreSQL may be one schema of a shared
// database (tenants, the test suite): the key covers the schema the application's
// tables live in. In the usual `public` it is the hash of the name alone.
std::int64_t lock_key(Connection& conn, std::string_view name) {
  auto schema = conn.query("SELECT current_schema()").one();
  std::string space = schema ? schema->get<std::optional<std::string>>(0).value_or("") : "";
  std::string keyed = space.empty() || space == "public" ? std::string(name)
                                                         : space + "/" + std::string(name);
  return static_cast<std::int64_t>(XXH64(keyed.data(), keyed.size(), 0));
}

// Takes advisory lock `key` on conn's session, or throws AlreadyRunning naming the holder.
void try_lock(Connection& conn, std::int64_t key, std::string_view name) {
  // One retry covers a holder that let go between our attempt and the lookup.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto got = conn.query("SELECT pg_try_advisory_lock(?)", {key}).one();
    if (got && got->get<bool>(0)) return;
    std::string holder = describe_holder(conn, key);
    if (attempt == 1 || holder.rfind("another session", 0) != 0)
      throw AlreadyRunning(fmt::format(
          "another instance is already running: lock '{}' (advisory lock {}) is held by {}",
          name, key, holder));
  }
}

}  // namespace

std::unique_ptr<InstanceLock> lock_postgres(const Config& config, std::string_view name) {
  check_name(name);
  std::string app = lock_application_name(name);
  Config lock_config = config;
  lock_config.postgresql.application_name = app;
  lock_config.url.params["application_name"] = app;
  // The lock session only ever runs trivial statements; it must not be cut off by a
  // server-side timeout meant for application queries.
  lock_config.postgresql.statement_timeout_ms = 0;
  std::unique_ptr<Connection> conn = pg::open(lock_config);
  std::int64_t key = lock_key(*conn, name);
  try_lock(*conn, key, name);
  Connection& held = *conn;
  return std::make_unique<PgLock>(std::string(name), key, config.url.redacted(), held,
                                  std::move(conn), std::nullopt);
}

std::unique_ptr<InstanceLock> lock_postgres_on(Connection& conn, const Config& config,
                                               std::string_view name) {
  check_name(name);
  std::int64_t key = lock_key(conn, name);
  // Advisory locks nest within a session, so a second take on the same session would
  // succeed where any other holder is refused (as a second flock is on SQLite).
  auto row = conn.query("SELECT current_setting('application_name'), EXISTS (SELECT 1 FROM "
                        "pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND "
                        "granted AND objsubid = 1 AND classid::bigint = ? AND objid::bigint = ?)",
                        key_columns(key))
                 .one();
  std::string own_name = row ? row->get<std::optional<std::string>>(0).value_or("") : "";
  if (row && row->get<bool>(1))
    throw AlreadyRunning(fmt::format(
        "another instance is already running: lock '{}' (advisory lock {}) is already held "
        "on this connection's session",
        name, key));
  try_lock(conn, key, name);
  auto lock = std::make_unique<PgLock>(std::string(name), key, config.url.redacted(), conn,
                                       nullptr, std::move(own_name));
  // While it holds the lock the session says so, for a refused instance to name us;
  // the release gives the session its own name back.
  conn.execute("SELECT set_config('application_name', ?, false)", {lock_application_name(name)});
  return lock;
}

}  // namespace keel::driver
