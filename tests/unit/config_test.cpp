#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <unistd.h>

#include "keel/config.hpp"
#include "keel/error.hpp"

using namespace keel;

namespace {

// The ConfigError message load_config_yaml throws, or "" when it does not throw.
std::string yaml_error(const std::string& yaml, std::string_view section = "database") {
  try {
    load_config_yaml(yaml, "keel.yaml", default_config(), section);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted:\n" << yaml;
  return {};
}

Config yaml(const std::string& text, std::string_view section = "database") {
  return load_config_yaml(text, "keel.yaml", default_config(), section);
}

// A scratch directory removed with the test.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("keel-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    auto p = path_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

// Sets or unsets DATABASE_URL for one test, restoring the previous value after.
class EnvGuard {
 public:
  EnvGuard() {
    if (const char* v = std::getenv("DATABASE_URL")) saved_ = v;
  }
  ~EnvGuard() {
    if (saved_)
      ::setenv("DATABASE_URL", saved_->c_str(), 1);
    else
      ::unsetenv("DATABASE_URL");
  }
  void set(const char* value) const { ::setenv("DATABASE_URL", value, 1); }
  void unset() const { ::unsetenv("DATABASE_URL"); }

 private:
  std::optional<std::string> saved_;
};

const char* kDesignExample = R"(database:
  url: postgresql://app@db.internal:5432/app     # or engine + fields:
  # engine: postgresql        # sqlite (default) | postgresql
  # host / port / dbname / user / password / path
  pool: {size: 5, max_overflow: 3, timeout_s: 30, recycle_s: 3600, pre_ping: true}
  sqlite: {journal_mode: wal, synchronous: normal, foreign_keys: true, busy_timeout_ms: 5000}
  postgresql: {statement_timeout_ms: 30000, application_name: myapp, sslmode: prefer}
schema: schema.yaml          # paths are relative to this file
migrations: migrations/
)";

}  // namespace

TEST(ConfigTest, DefaultIsSqliteInWalMode) {
  Config c = default_config();
  EXPECT_TRUE(c.is_sqlite());
  EXPECT_EQ(c.url.path, "./data/app.db");
  EXPECT_EQ(c.url.redacted(), "sqlite:///./data/app.db");
  EXPECT_EQ(c.sqlite.journal_mode, "wal");
  EXPECT_EQ(c.sqlite.synchronous, "normal");
  EXPECT_TRUE(c.sqlite.foreign_keys);
  EXPECT_EQ(c.pool.size, 5);
  EXPECT_EQ(c.url_source, "default");
}

TEST(ConfigTest, DesignExampleLoads) {
  Config c = yaml(kDesignExample);
  EXPECT_TRUE(c.is_postgresql());
  EXPECT_EQ(c.url.host, "db.internal");
  EXPECT_EQ(c.url.port, "5432");
  EXPECT_EQ(c.url.user, "app");
  EXPECT_EQ(c.url.dbname, "app");
  EXPECT_EQ(c.url_source, "keel.yaml:2");
  EXPECT_EQ(c.pool.size, 5);
  EXPECT_EQ(c.pool.max_overflow, 3);
  EXPECT_EQ(c.pool.timeout_s, 30);
  EXPECT_EQ(c.pool.recycle_s, 3600);
  EXPECT_TRUE(c.pool.pre_ping);
  EXPECT_EQ(c.sqlite.journal_mode, "wal");
  EXPECT_EQ(c.sqlite.busy_timeout_ms, 5000);
  EXPECT_EQ(c.postgresql.statement_timeout_ms, 30000);
  EXPECT_EQ(c.postgresql.application_name, "myapp");
  EXPECT_EQ(c.postgresql.sslmode, "prefer");
}

TEST(ConfigTest, EveryOptionIsRead) {
  Config c = yaml(R"(
database:
  engine: sqlite
  path: /srv/app.db
  pool:
    size: 12
    max_overflow: 0
    timeout_s: 2.5
    recycle_s: -1
    pre_ping: off
  sqlite:
    journal_mode: DELETE
    synchronous: full
    foreign_keys: no
    busy_timeout_ms: 0
    cache_size: -2000
    temp_store: memory
  postgresql:
    statement_timeout_ms: 0
    application_name: "my app"
    sslmode: verify-full
    connect_timeout_s: 3
)");
  EXPECT_TRUE(c.is_sqlite());
  EXPECT_EQ(c.url.path, "/srv/app.db");
  EXPECT_EQ(c.url_source, "keel.yaml:3");
  EXPECT_EQ(c.pool.size, 12);
  EXPECT_EQ(c.pool.max_overflow, 0);
  EXPECT_DOUBLE_EQ(c.pool.timeout_s, 2.5);
  EXPECT_DOUBLE_EQ(c.pool.recycle_s, -1);
  EXPECT_FALSE(c.pool.pre_ping);
  EXPECT_EQ(c.sqlite.journal_mode, "delete");
  EXPECT_EQ(c.sqlite.synchronous, "full");
  EXPECT_FALSE(c.sqlite.foreign_keys);
  EXPECT_EQ(c.sqlite.busy_timeout_ms, 0);
  EXPECT_EQ(c.sqlite.cache_size, -2000);
  EXPECT_EQ(c.sqlite.temp_store, "memory");
  EXPECT_EQ(c.postgresql.statement_timeout_ms, 0);
  EXPECT_EQ(c.postgresql.application_name, "my app");
  EXPECT_EQ(c.postgresql.sslmode, "verify-full");
  EXPECT_EQ(c.postgresql.connect_timeout_s, 3);
}

TEST(ConfigTest, EngineAndFieldsBuildAPostgresUrl) {
  Config c = yaml(R"(database:
  engine: postgresql
  host: db.internal
  port: 6432
  dbname: app
  user: svc
  password: "p@ss:w/rd"
)");
  EXPECT_TRUE(c.is_postgresql());
  EXPECT_EQ(c.url.host, "db.internal");
  EXPECT_EQ(c.url.port, "6432");
  EXPECT_EQ(c.url.dbname, "app");
  EXPECT_EQ(c.url.user, "svc");
  EXPECT_EQ(*c.url.password, "p@ss:w/rd");
  EXPECT_EQ(c.url.redacted(), "postgresql://svc:***@db.internal:6432/app");
  EXPECT_EQ(c.url_source, "keel.yaml:2");
}

TEST(ConfigTest, InstanceLockNameIsReadBesideTheUrlAndDefaultsToKeel) {
  EXPECT_EQ(default_config().instance_lock, "keel");
  Config c = yaml("database:\n  url: sqlite:///app.db\n  instance_lock: sessiond\n");
  EXPECT_EQ(c.instance_lock, "sessiond");
  EXPECT_EQ(c.url.path, "app.db");
  EXPECT_NE(yaml_error("database:\n  instance_lock: ''\n").find("instance_lock"),
            std::string::npos);
}

TEST(ConfigTest, EngineSqliteWithoutPathKeepsTheDefaultPath) {
  Config c = yaml("database:\n  engine: sqlite\n");
  EXPECT_TRUE(c.is_sqlite());
  EXPECT_EQ(c.url.path, "./data/app.db");
}

TEST(ConfigTest, SqliteMemoryByPath) {
  EXPECT_TRUE(yaml("database: {path: ':memory:'}").url.is_memory());
}

TEST(ConfigTest, OnlyKeysPresentOverrideTheBase) {
  Config base = default_config();
  base.pool.size = 42;
  base.sqlite.busy_timeout_ms = 1;
  Config c = load_config_yaml("database:\n  pool: {max_overflow: 7}\n", "x.yaml", base);
  EXPECT_EQ(c.pool.size, 42);
  EXPECT_EQ(c.pool.max_overflow, 7);
  EXPECT_EQ(c.sqlite.busy_timeout_ms, 1);
  EXPECT_EQ(c.url_source, "default");
}

TEST(ConfigTest, FieldsRefineABaseUrlOfTheSameEngine) {
  Config base = default_config();
  base.url = parse_url("postgresql://u@h1/app");
  Config c = load_config_yaml("database: {host: h2}", "x.yaml", base);
  EXPECT_EQ(c.url.host, "h2");
  EXPECT_EQ(c.url.user, "u");
  EXPECT_EQ(c.url.dbname, "app");
}

TEST(ConfigTest, MissingOrEmptySectionLeavesBase) {
  EXPECT_EQ(yaml("").url.path, "./data/app.db");
  EXPECT_EQ(yaml("other: 1\n").url.path, "./data/app.db");
  EXPECT_EQ(yaml("database:\n").url.path, "./data/app.db");
  EXPECT_EQ(yaml("# only a comment\n").url.path, "./data/app.db");
  EXPECT_EQ(yaml("myapp: {}\n", "myapp.database").url.path, "./data/app.db");
}

TEST(ConfigTest, NestedSectionPath) {
  Config c = yaml(R"(myapp:
  name: demo
  storage:
    database:
      url: sqlite:///nested.db
      pool: {size: 2}
database:
  url: sqlite:///not-this-one.db
)",
                  "myapp.storage.database");
  EXPECT_EQ(c.url.path, "nested.db");
  EXPECT_EQ(c.pool.size, 2);
  EXPECT_EQ(c.url_source, "keel.yaml:5");
}

TEST(ConfigTest, NestedSectionErrorsUseTheFullKeyPath) {
  std::string msg = yaml_error("myapp:\n  db:\n    pool: {size: 0}\n", "myapp.db");
  EXPECT_EQ(msg, "keel.yaml:3:18: key myapp.db.pool.size: expected a positive integer, got \"0\"");
}

TEST(ConfigTest, SectionParentThatIsNotAMapping) {
  std::string msg = yaml_error("myapp: 3\n", "myapp.database");
  EXPECT_NE(msg.find("keel.yaml:1:8: key myapp: expected a mapping"), std::string::npos) << msg;
}

TEST(ConfigTest, SectionThatIsNotAMapping) {
  EXPECT_EQ(yaml_error("database: sqlite:///x.db\n"),
            "keel.yaml:1:11: key database: expected a mapping (url, engine, pool, sqlite, "
            "postgresql…), got \"sqlite:///x.db\"");
}

TEST(ConfigTest, NegativePoolSize) {
  EXPECT_EQ(yaml_error("database:\n  pool:\n    size: -1\n"),
            "keel.yaml:3:11: key database.pool.size: expected a positive integer, got \"-1\"");
}

TEST(ConfigTest, WrongTypesAndValues) {
  struct Case {
    const char* yaml;
    const char* message;
  } cases[] = {
      {"database:\n  pool: {max_overflow: -2}\n",
       "keel.yaml:2:24: key database.pool.max_overflow: expected a non-negative integer, got "
       "\"-2\""},
      {"database:\n  pool: {size: 2.5}\n",
       "keel.yaml:2:16: key database.pool.size: expected a positive integer, got \"2.5\""},
      {"database:\n  pool: {size: [1]}\n",
       "keel.yaml:2:16: key database.pool.size: expected a positive integer, got a list"},
      {"database:\n  pool: {size: 99999999999}\n",
       "keel.yaml:2:16: key database.pool.size: expected a positive integer, got \"99999999999\" "
       "(too large)"},
      {"database:\n  pool: {timeout_s: -0.5}\n",
       "keel.yaml:2:21: key database.pool.timeout_s: expected a non-negative number of seconds, "
       "got \"-0.5\""},
      {"database:\n  pool: {timeout_s: .inf}\n",
       "keel.yaml:2:21: key database.pool.timeout_s: expected a non-negative number of seconds, "
       "got \".inf\""},
      {"database:\n  pool: {pre_ping: maybe}\n",
       "keel.yaml:2:20: key database.pool.pre_ping: expected true or false, got \"maybe\""},
      {"database:\n  pool:\n    pre_ping:\n",
       "keel.yaml:3:5: key database.pool.pre_ping: expected true or false, got nothing"},
      {"database:\n  sqlite: {journal_mode: fast}\n",
       "keel.yaml:2:26: key database.sqlite.journal_mode: expected one of wal, delete, truncate, "
       "persist, memory, off, got \"fast\""},
      {"database:\n  sqlite: {synchronous: nromal}\n",
       "keel.yaml:2:25: key database.sqlite.synchronous: expected one of off, normal, full, "
       "extra, got \"nromal\" (did you mean \"normal\"?)"},
      {"database:\n  sqlite: {temp_store: disk}\n",
       "keel.yaml:2:24: key database.sqlite.temp_store: expected one of default, file, memory, "
       "got \"disk\""},
      {"database:\n  sqlite: {busy_timeout_ms: -5}\n",
       "keel.yaml:2:29: key database.sqlite.busy_timeout_ms: expected a non-negative number of "
       "milliseconds, got \"-5\""},
      {"database:\n  sqlite: {cache_size: lots}\n",
       "keel.yaml:2:24: key database.sqlite.cache_size: expected an integer (pages, or "
       "negative: KiB), got \"lots\""},
      {"database:\n  postgresql: {sslmode: always}\n",
       "keel.yaml:2:25: key database.postgresql.sslmode: expected one of disable, allow, prefer, "
       "require, verify-ca, verify-full, got \"always\""},
      {"database:\n  postgresql: {statement_timeout_ms: 1s}\n",
       "keel.yaml:2:38: key database.postgresql.statement_timeout_ms: expected a non-negative "
       "number of milliseconds (0 disables), got \"1s\""},
      {"database:\n  postgresql: {connect_timeout_s: -1}\n",
       "keel.yaml:2:35: key database.postgresql.connect_timeout_s: expected a non-negative "
       "number of seconds, got \"-1\""},
      {"database:\n  postgresql: {application_name: {a: 1}}\n",
       "keel.yaml:2:34: key database.postgresql.application_name: expected a string, got a "
       "mapping"},
      {"database:\n  pool: 5\n",
       "keel.yaml:2:9: key database.pool: expected a mapping, got \"5\""},
      {"database:\n  engine: mysql\n",
       "keel.yaml:2:11: key database.engine: expected one of sqlite, postgresql, postgres, got "
       "\"mysql\""},
      {"database:\n  engine: postgresql\n  port: 70000\n",
       "keel.yaml:3:9: key database.port: expected a port number 1..65535, got \"70000\" (too "
       "large)"},
  };
  for (const Case& c : cases) EXPECT_EQ(yaml_error(c.yaml), c.message) << c.yaml;
}

TEST(ConfigTest, UnknownKeySuggestsTheClosest) {
  EXPECT_EQ(yaml_error("database:\n  pool:\n    sise: 20\n"),
            "keel.yaml:3:5: key database.pool.sise: unknown key (did you mean \"size\"?); "
            "expected one of: size, max_overflow, timeout_s, recycle_s, pre_ping");
  std::string msg = yaml_error("database:\n  uri: sqlite:///x.db\n");
  EXPECT_NE(msg.find("keel.yaml:2:3: key database.uri: unknown key (did you mean \"url\"?)"),
            std::string::npos)
      << msg;
  msg = yaml_error("database:\n  sqlite: {journalmode: wal}\n");
  EXPECT_NE(msg.find("did you mean \"journal_mode\"?"), std::string::npos) << msg;
}

TEST(ConfigTest, UnknownKeyFarFromAnyHasNoSuggestion) {
  std::string msg = yaml_error("database:\n  schema: schema.yaml\n");
  EXPECT_NE(msg.find("key database.schema: unknown key; expected one of: url, engine"),
            std::string::npos)
      << msg;
}

TEST(ConfigTest, DuplicateKey) {
  std::string msg = yaml_error("database:\n  pool: {size: 1}\n  pool: {size: 2}\n");
  EXPECT_EQ(msg, "keel.yaml:3:3: key database.pool: given twice (first on line 2)");
}

TEST(ConfigTest, UrlAndEngineTogether) {
  std::string msg =
      yaml_error("database:\n  url: sqlite:///a.db\n  engine: postgresql\n  host: h\n");
  EXPECT_EQ(msg,
            "keel.yaml:3:3: key database.engine: cannot be combined with database.url (line 2); "
            "give either url or engine with host/port/dbname/user/password/path");
  msg = yaml_error("database:\n  host: h\n  url: sqlite:///a.db\n");
  EXPECT_NE(msg.find("key database.host: cannot be combined with database.url"),
            std::string::npos)
      << msg;
}

TEST(ConfigTest, FieldForTheOtherEngine) {
  EXPECT_EQ(yaml_error("database:\n  engine: sqlite\n  host: db\n"),
            "keel.yaml:3:3: key database.host: applies to engine postgresql only, and the engine "
            "is sqlite");
  EXPECT_EQ(yaml_error("database:\n  host: db\n"),
            "keel.yaml:2:3: key database.host: applies to engine postgresql only, and the engine "
            "is sqlite (set engine: to choose)");
  EXPECT_NE(yaml_error("database:\n  engine: postgresql\n  path: a.db\n")
                .find("key database.path: applies to engine sqlite only"),
            std::string::npos);
}

TEST(ConfigTest, BadUrlInFileNamesFileLineAndKeyAndHidesPassword) {
  std::string msg = yaml_error("database:\n  url: postgresql://u:hunter2@h:port/db\n");
  EXPECT_EQ(msg.rfind("keel.yaml:2:8: key database.url: invalid database URL ", 0), 0u) << msg;
  EXPECT_NE(msg.find("postgresql://u:***@h:port/db"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
}

TEST(ConfigTest, PasswordFieldOfWrongTypeIsNotShown) {
  std::string msg =
      yaml_error("database:\n  engine: postgresql\n  password: [hunter2]\n");
  EXPECT_NE(msg.find("key database.password: expected a password, got a list"),
            std::string::npos)
      << msg;
  EXPECT_EQ(msg.find("hunter2"), std::string::npos);
}

TEST(ConfigTest, YamlSyntaxErrorCarriesLine) {
  std::string msg = yaml_error("database:\n  pool: {size: 5\n  sqlite: x\n");
  EXPECT_EQ(msg.rfind("keel.yaml:", 0), 0u) << msg;
  EXPECT_NE(msg.find("YAML syntax error"), std::string::npos) << msg;
  msg = yaml_error("database:\n  url: a\n bad: [\n");
  EXPECT_NE(msg.find("YAML syntax error"), std::string::npos) << msg;
}

TEST(ConfigTest, DocumentThatIsNotAMapping) {
  EXPECT_NE(yaml_error("- a\n- b\n").find("expected a mapping containing database, got a list"),
            std::string::npos);
}

TEST(ConfigTest, LoadConfigFileUsesThePathInMessagesAndSources) {
  TempDir dir;
  std::string path = dir.write("keel.yaml", "database:\n  url: sqlite:///f.db\n");
  Config c = load_config_file(path);
  EXPECT_EQ(c.url.path, "f.db");
  EXPECT_EQ(c.url_source, path + ":2");

  std::string bad = dir.write("bad.yaml", "database:\n  pool: {size: -1}\n");
  try {
    load_config_file(bad);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(bad + ":2:16: key database.pool.size", 0), 0u)
        << e.what();
  }
}

TEST(ConfigTest, SchemaAndMigrationsPathsAreSiblingsOfTheSection) {
  Config c = yaml(kDesignExample);
  EXPECT_EQ(c.schema_file, "schema.yaml");
  EXPECT_EQ(c.migrations_dir, "migrations/");
  EXPECT_EQ(default_config().schema_file, "");
  EXPECT_EQ(default_config().migrations_dir, "");
  // Read without a database section too, and beside a nested section.
  EXPECT_EQ(yaml("schema: db/schema.yaml\n").schema_file, "db/schema.yaml");
  Config nested = yaml("myapp:\n  database: {url: sqlite:///n.db}\n  schema: s.yaml\n"
                       "schema: not-this.yaml\n",
                       "myapp.database");
  EXPECT_EQ(nested.schema_file, "s.yaml");
  EXPECT_EQ(nested.migrations_dir, "");
}

TEST(ConfigTest, SchemaAndMigrationsPathsAreRelativeToTheFile) {
  TempDir dir;
  std::string path = dir.write("keel.yaml", "schema: schema.yaml\nmigrations: /abs/migrations\n");
  Config c = load_config_file(path);
  EXPECT_EQ(c.schema_file, (dir.path() / "schema.yaml").string());
  EXPECT_EQ(c.migrations_dir, "/abs/migrations");
}

TEST(ConfigTest, SchemaPathOfTheWrongTypeNamesLineAndKey) {
  EXPECT_EQ(yaml_error("database: {}\nschema: [a, b]\n"),
            "keel.yaml:2:9: key schema: expected a schema file path, got a list");
  EXPECT_EQ(yaml_error("migrations: ''\n"),
            "keel.yaml:1:13: key migrations: expected a non-empty path, got \"\"");
}

TEST(ConfigTest, EmptyFileIsTheDefault) {
  TempDir dir;
  EXPECT_EQ(load_config_file(dir.write("empty.yaml", "")).url.path, "./data/app.db");
}

TEST(ConfigTest, MissingFileIsAConfigErrorNamingIt) {
  TempDir dir;
  std::string path = (dir.path() / "nope.yaml").string();
  try {
    load_config_file(path);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": config file not found");
  }
  EXPECT_THROW(load_config_file(dir.path().string()), ConfigError);
}

TEST(ConfigTest, ResolveWithNothingIsTheDefault) {
  EnvGuard env;
  env.unset();
  Config c = resolve_config({});
  EXPECT_TRUE(c.is_sqlite());
  EXPECT_EQ(c.url.path, "./data/app.db");
  EXPECT_EQ(c.url_source, "default");
}

TEST(ConfigTest, ResolveFileOverridesDefault) {
  EnvGuard env;
  env.unset();
  TempDir dir;
  ConfigSources sources;
  sources.file = dir.write("keel.yaml", "database:\n  url: sqlite:///file.db\n");
  Config c = resolve_config(sources);
  EXPECT_EQ(c.url.path, "file.db");
  EXPECT_EQ(c.url_source, *sources.file + ":2");
}

TEST(ConfigTest, ResolveEnvironmentOverridesFile) {
  EnvGuard env;
  env.set("postgresql://env@h/envdb");
  TempDir dir;
  ConfigSources sources;
  sources.file = dir.write("keel.yaml", "database:\n  url: sqlite:///file.db\n  pool: {size: 9}\n");
  Config c = resolve_config(sources);
  EXPECT_TRUE(c.is_postgresql());
  EXPECT_EQ(c.url.dbname, "envdb");
  EXPECT_EQ(c.url_source, "DATABASE_URL");
  EXPECT_EQ(c.pool.size, 9) << "options from the file stay";

  sources.use_environment = false;
  EXPECT_EQ(resolve_config(sources).url.path, "file.db");
}

TEST(ConfigTest, ResolveExplicitOverridesEnvironmentButKeepsFileOptions) {
  EnvGuard env;
  env.set("postgresql://env@h/envdb");
  TempDir dir;
  ConfigSources sources;
  sources.file = dir.write("keel.yaml", R"(database:
  url: sqlite:///file.db
  pool: {size: 9}
  sqlite: {journal_mode: truncate}
  postgresql: {application_name: fromfile}
)");
  sources.explicit_url = "sqlite:///explicit.db";
  Config c = resolve_config(sources);
  EXPECT_EQ(c.url.path, "explicit.db");
  EXPECT_EQ(c.url_source, "--url");
  EXPECT_EQ(c.pool.size, 9);
  EXPECT_EQ(c.sqlite.journal_mode, "truncate");
  EXPECT_EQ(c.postgresql.application_name, "fromfile");
}

TEST(ConfigTest, ResolveExplicitLabelNamesTheSource) {
  EnvGuard env;
  env.unset();
  ConfigSources sources;
  sources.explicit_url = "sqlite:///x.db";
  sources.explicit_label = "--from";
  EXPECT_EQ(resolve_config(sources).url_source, "--from");
  sources.explicit_url = "bogus";
  try {
    resolve_config(sources);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--from: ", 0), 0u) << e.what();
  }
}

TEST(ConfigTest, ResolveEmptyEnvironmentIsUnset) {
  EnvGuard env;
  env.set("");
  Config c = resolve_config({});
  EXPECT_EQ(c.url_source, "default");
  EXPECT_TRUE(c.is_sqlite());
}

TEST(ConfigTest, ResolveBadEnvironmentNamesTheVariableAndHidesPassword) {
  EnvGuard env;
  env.set("postgresql://u:hunter2@h:x/db");
  try {
    resolve_config({});
    FAIL();
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("DATABASE_URL: ", 0), 0u) << msg;
    EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
  }
}

TEST(ConfigTest, ResolveMissingFileIsAnError) {
  EnvGuard env;
  env.unset();
  ConfigSources sources;
  sources.file = "/nonexistent/keel.yaml";
  EXPECT_THROW(resolve_config(sources), ConfigError);
}
