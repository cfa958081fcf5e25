// keel/config.hpp — where the database is and how to talk to it.
//
// Precedence, lowest to highest: built-in default (sqlite:///./data/app.db, WAL),
// the `database:` section of a YAML file, the DATABASE_URL environment variable,
// an explicit URL (e.g. `--url`). Omitting all of it is the default: SQLite,
// zero configuration. A password never leaves this layer unredacted except through
// the driver-facing accessors.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace keel {

enum class Backend { sqlite, postgresql };

// "sqlite" or "postgresql".
const char* to_string(Backend backend) noexcept;

// A parsed database URL.
//   sqlite:///relative.db   sqlite:////absolute.db   sqlite:///:memory:
//   postgresql://user:pass@host:port/db?param=value  (also postgres://)
// Percent-encoding is decoded in every component; a PostgreSQL host that starts
// with '/' (or %2F) is a unix-socket directory; query parameters are passed to
// libpq as connection keywords.
struct Url {
  Backend backend = Backend::sqlite;
  // SQLite: the file path as written (relative paths are relative to the working
  // directory), or ":memory:".
  std::string path;
  // PostgreSQL components; empty means libpq's default.
  std::string host;
  std::string port;
  std::string dbname;
  std::string user;
  std::optional<std::string> password;
  // Query parameters (SQLite: URI parameters such as mode=ro; PostgreSQL: libpq
  // keywords such as sslmode, options, connect_timeout).
  std::map<std::string, std::string> params;

  bool is_sqlite() const noexcept { return backend == Backend::sqlite; }
  bool is_postgresql() const noexcept { return backend == Backend::postgresql; }
  // True for sqlite:///:memory:.
  bool is_memory() const noexcept { return is_sqlite() && path == ":memory:"; }

  // The URL with the password replaced by "***": the only form to print or log.
  std::string redacted() const;
  // The URL with the password, re-encoded; for handing to another process only.
  std::string to_string() const;
};

// Parses a database URL; throws ConfigError naming `where` (e.g. "DATABASE_URL")
// and what was expected. The message never contains the password.
Url parse_url(std::string_view url, std::string_view where = "URL");

// Connection pool sizing (see keel/pool.hpp).
struct PoolOptions {
  int size = 5;             // connections kept open
  int max_overflow = 3;     // extra connections opened under load, closed on return
  double timeout_s = 30;    // how long acquire() waits before a TimeoutError
  double recycle_s = 3600;  // connections older than this are replaced on acquire; <= 0 never
  bool pre_ping = true;     // check a connection is alive before handing it out
};

// PRAGMAs applied to every new SQLite connection (and never sent to PostgreSQL).
struct SqliteOptions {
  std::string journal_mode = "wal";    // wal | delete | truncate | persist | memory | off
  std::string synchronous = "normal";  // off | normal | full | extra
  bool foreign_keys = true;
  int busy_timeout_ms = 5000;
  std::optional<int> cache_size;       // PRAGMA cache_size (negative: KiB)
  std::string temp_store;              // default | file | memory; empty: leave as is
};

// Session settings applied to every new PostgreSQL connection. TimeZone is always UTC.
struct PostgresOptions {
  int statement_timeout_ms = 30000;    // 0 disables
  std::string application_name = "keel";
  std::string sslmode = "prefer";
  int connect_timeout_s = 10;
};

// Everything needed to open a Database.
struct Config {
  Url url;
  PoolOptions pool;
  SqliteOptions sqlite;
  PostgresOptions postgresql;
  // Where `url` came from: "default", "path/keel.yaml:3", "DATABASE_URL", "--url".
  std::string url_source = "default";
  // The file's `schema:` key (a sibling of the section), relative to the YAML file's
  // directory; empty when not given.
  std::string schema_file;
  // The file's `migrations:` key, resolved the same way; empty when not given.
  std::string migrations_dir;
  // The section's `instance_lock:` key: the name the application takes its
  // instance lock under (keel/instance_lock.hpp); `keel transfer` holds it on the
  // source for the whole run.
  std::string instance_lock = "keel";

  bool is_sqlite() const noexcept { return url.is_sqlite(); }
  bool is_postgresql() const noexcept { return url.is_postgresql(); }
};

// The built-in default: sqlite:///./data/app.db in WAL mode.
Config default_config();

// Reads the `section` mapping (default "database") of a YAML file into `base`,
// overriding only the keys present. The section may sit anywhere in an
// application's own config: `section` is a dot path ("myapp.database").
// Throws ConfigError naming file, line and key; a missing section leaves `base`.
Config load_config_file(const std::string& path, Config base = default_config(),
                        std::string_view section = "database");

// Same as load_config_file for YAML text already in memory; `origin` names it in
// error messages.
Config load_config_yaml(std::string_view yaml_text, std::string_view origin,
                        Config base = default_config(), std::string_view section = "database");

// What resolve_config() looks at.
struct ConfigSources {
  std::optional<std::string> file;          // YAML file; none: skip
  bool use_environment = true;              // read DATABASE_URL
  std::optional<std::string> explicit_url;  // e.g. --url; highest precedence
  // Names explicit_url in errors and in Config::url_source (e.g. "--url").
  std::string explicit_label = "--url";
};

// Applies default < file < DATABASE_URL < explicit URL.
Config resolve_config(const ConfigSources& sources);

}  // namespace keel
