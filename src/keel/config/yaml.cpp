// The `database:` section of a YAML file.
//
// Strict on purpose: an unknown key, a value of the wrong type or outside its set
// is an error naming file:line:column and the full key path, because a typo such
// as `pool: {sise: 20}` that silently falls back to a default is found only in
// production, under load. Scalars are parsed with std::from_chars rather than
// yaml-cpp's as<T>(), which takes "0x10" for an int, "y" for a bool, and reports
// failures without the offending text or key.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <optional>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "config/suggest.hpp"
#include "keel/config.hpp"
#include "keel/error.hpp"

namespace keel {

namespace {

using Names = std::initializer_list<std::string_view>;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// " (did you mean \"size\"?)" when one name is close enough to be a typo of `word`.
std::string suggestion(std::string_view word, Names names) {
  std::string w = lower(word);
  std::string_view best;
  std::size_t best_distance = SIZE_MAX;
  for (std::string_view name : names) {
    std::size_t d = detail::edit_distance(w, name);
    if (d < best_distance) best = name, best_distance = d;
  }
  // Two edits catch transpositions and a dropped letter without matching
  // unrelated short words ("off" is not a typo of "wal").
  if (best_distance > 0 && best_distance <= std::min<std::size_t>(2, (w.size() + 1) / 2))
    return fmt::format(" (did you mean \"{}\"?)", best);
  return {};
}

std::string join(Names names) { return fmt::format("{}", fmt::join(names, ", ")); }

// One `key: value` pair of a mapping, with the full dotted path of its key.
struct Entry {
  std::string path;
  std::string name;
  YAML::Node key;
  YAML::Node value;

  // The value's position, or the key's when the value is empty (`size:`).
  YAML::Mark mark() const {
    YAML::Mark m = value.Mark();
    return value.IsNull() || m.is_null() ? key.Mark() : m;
  }
};

class Reader {
 public:
  explicit Reader(std::string_view origin) : origin_(origin) {}

  std::string position(const YAML::Mark& mark) const {
    if (mark.is_null()) return origin_;
    return fmt::format("{}:{}:{}", origin_, mark.line + 1, mark.column + 1);
  }
  // "keel.yaml:3", the form Config::url_source takes.
  std::string line_of(const YAML::Mark& mark) const {
    if (mark.is_null()) return origin_;
    return fmt::format("{}:{}", origin_, mark.line + 1);
  }

  [[noreturn]] void fail(const YAML::Mark& mark, std::string_view path,
                         std::string_view message) const {
    throw ConfigError(fmt::format("{}: key {}: {}", position(mark), path, message));
  }
  [[noreturn]] void fail(const Entry& e, std::string_view message) const {
    fail(e.mark(), e.path, message);
  }

  // What a node holds, for "got …"; `secret` keeps a scalar's text out of the message.
  static std::string describe(const YAML::Node& node, bool secret = false) {
    if (node.IsNull()) return "nothing";
    if (node.IsSequence()) return "a list";
    if (node.IsMap()) return "a mapping";
    if (secret) return "a value (not shown)";
    return fmt::format("\"{}\"", node.Scalar());
  }

  [[noreturn]] void expected(const Entry& e, std::string_view what, bool secret = false) const {
    fail(e, fmt::format("expected {}, got {}", what, describe(e.value, secret)));
  }

  // Calls fn(entry) for each key of `map` (which is at `path`), refusing keys not
  // in `allowed` and keys given twice (yaml-cpp keeps the last silently).
  template <class Fn>
  void each(const YAML::Node& map, std::string_view path, Names allowed, Fn&& fn) const {
    std::map<std::string, int> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      Entry e;
      e.key = it->first;
      e.value = it->second;
      if (!e.key.IsScalar()) fail(e.key.Mark(), path, "keys must be plain names");
      e.name = e.key.Scalar();
      e.path = fmt::format("{}.{}", path, e.name);
      if (std::find(allowed.begin(), allowed.end(), e.name) == allowed.end()) {
        fail(e.key.Mark(), e.path,
             fmt::format("unknown key{}; expected one of: {}", suggestion(e.name, allowed),
                         join(allowed)));
      }
      auto [first, inserted] = seen.emplace(e.name, e.key.Mark().line + 1);
      if (!inserted) fail(e.key.Mark(), e.path, fmt::format("given twice (first on line {})",
                                                            first->second));
      fn(e);
    }
  }

  // A nested mapping such as `pool:`; empty (`pool:`) counts as no keys.
  template <class Fn>
  void section(const Entry& e, Names allowed, Fn&& fn) const {
    if (e.value.IsNull()) return;
    if (!e.value.IsMap()) expected(e, "a mapping");
    each(e.value, e.path, allowed, fn);
  }

  std::string text(const Entry& e, std::string_view what = "a string",
                   bool secret = false) const {
    if (!e.value.IsScalar()) expected(e, what, secret);
    return e.value.Scalar();
  }

  long long integer(const Entry& e, long long min, long long max, std::string_view what) const {
    std::string s = text(e, what);
    long long v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    bool whole = ptr == s.data() + s.size();
    if ((ec == std::errc::result_out_of_range && whole) || (ec == std::errc() && whole && v > max))
      fail(e, fmt::format("expected {}, got \"{}\" (too large)", what, s));
    if (ec != std::errc() || !whole || v < min) expected(e, what);
    return v;
  }
  int int_at_least(const Entry& e, int min, std::string_view what) const {
    return static_cast<int>(integer(e, min, INT_MAX, what));
  }

  double number(const Entry& e, double min, std::string_view what) const {
    std::string s = text(e, what);
    double v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v) || v < min)
      expected(e, what);
    return v;
  }

  bool boolean(const Entry& e) const {
    // YAML 1.1's spellings, which is what people expect of a YAML bool; yaml-cpp's
    // y/n are left out as too easy to write by accident.
    std::string s = lower(text(e, "true or false"));
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    expected(e, "true or false");
  }

  // One of `choices`, compared case-insensitively and returned in lower case.
  std::string choice(const Entry& e, Names choices) const {
    std::string what = fmt::format("one of {}", join(choices));
    std::string s = lower(text(e, what));
    if (std::find(choices.begin(), choices.end(), s) != choices.end()) return s;
    fail(e, fmt::format("expected {}, got {}{}", what, describe(e.value), suggestion(s, choices)));
  }

  const std::string& origin() const { return origin_; }

 private:
  std::string origin_;
};

const Names kDatabaseKeys = {"url",  "engine", "host",   "port",       "dbname",
                             "user", "password", "path", "pool",     "sqlite",
                             "postgresql", "instance_lock"};
const Names kPoolKeys = {"size", "max_overflow", "timeout_s", "recycle_s", "pre_ping"};
const Names kSqliteKeys = {"journal_mode",    "synchronous", "foreign_keys",
                           "busy_timeout_ms", "cache_size",  "temp_store"};
const Names kPostgresKeys = {"statement_timeout_ms", "application_name", "sslmode",
                             "connect_timeout_s"};

void read_pool(const Reader& r, const Entry& section, PoolOptions& pool) {
  r.section(section, kPoolKeys, [&](const Entry& e) {
    if (e.name == "size") {
      pool.size = r.int_at_least(e, 1, "a positive integer");
    } else if (e.name == "max_overflow") {
      pool.max_overflow = r.int_at_least(e, 0, "a non-negative integer");
    } else if (e.name == "timeout_s") {
      pool.timeout_s = r.number(e, 0, "a non-negative number of seconds");
    } else if (e.name == "recycle_s") {
      pool.recycle_s = r.number(e, -HUGE_VAL, "a number of seconds (0 or less: never)");
    } else {
      pool.pre_ping = r.boolean(e);
    }
  });
}

void read_sqlite(const Reader& r, const Entry& section, SqliteOptions& sqlite) {
  r.section(section, kSqliteKeys, [&](const Entry& e) {
    if (e.name == "journal_mode") {
      sqlite.journal_mode = r.choice(e, {"wal", "delete", "truncate", "persist", "memory", "off"});
    } else if (e.name == "synchronous") {
      sqlite.synchronous = r.choice(e, {"off", "normal", "full", "extra"});
    } else if (e.name == "foreign_keys") {
      sqlite.foreign_keys = r.boolean(e);
    } else if (e.name == "busy_timeout_ms") {
      sqlite.busy_timeout_ms = r.int_at_least(e, 0, "a non-negative number of milliseconds");
    } else if (e.name == "cache_size") {
      // Negative is meaningful (KiB rather than pages); null means "leave SQLite's".
      if (e.value.IsNull()) {
        sqlite.cache_size.reset();
      } else {
        sqlite.cache_size = static_cast<int>(
            r.integer(e, INT_MIN, INT_MAX, "an integer (pages, or negative: KiB)"));
      }
    } else {
      sqlite.temp_store = r.choice(e, {"default", "file", "memory"});
    }
  });
}

void read_postgres(const Reader& r, const Entry& section, PostgresOptions& pg) {
  r.section(section, kPostgresKeys, [&](const Entry& e) {
    if (e.name == "statement_timeout_ms") {
      pg.statement_timeout_ms =
          r.int_at_least(e, 0, "a non-negative number of milliseconds (0 disables)");
    } else if (e.name == "application_name") {
      pg.application_name = r.text(e);
    } else if (e.name == "sslmode") {
      pg.sslmode =
          r.choice(e, {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"});
    } else {
      pg.connect_timeout_s = r.int_at_least(e, 0, "a non-negative number of seconds");
    }
  });
}

void read_database(const Reader& r, const YAML::Node& node, const std::string& path,
                   Config& config) {
  std::optional<Entry> url;
  std::optional<Entry> engine;
  std::vector<Entry> fields;  // host, port, dbname, user, password, path
  r.each(node, path, kDatabaseKeys, [&](const Entry& e) {
    if (e.name == "url") {
      url = e;
    } else if (e.name == "engine") {
      engine = e;
    } else if (e.name == "pool") {
      read_pool(r, e, config.pool);
    } else if (e.name == "sqlite") {
      read_sqlite(r, e, config.sqlite);
    } else if (e.name == "postgresql") {
      read_postgres(r, e, config.postgresql);
    } else if (e.name == "instance_lock") {
      // The lock checks the characters it allows when it is taken.
      config.instance_lock = r.text(e, "an instance-lock name");
      if (config.instance_lock.empty()) r.expected(e, "a non-empty instance-lock name");
    } else {
      fields.push_back(e);
    }
  });

  if (url && (engine || !fields.empty())) {
    const Entry& other = engine ? *engine : fields.front();
    r.fail(other.key.Mark(), other.path,
           fmt::format("cannot be combined with {} (line {}); give either url or engine with "
                       "host/port/dbname/user/password/path",
                       url->path, url->key.Mark().line + 1));
  }
  if (url) {
    std::string text = r.text(*url, "a database URL");
    config.url = parse_url(text, fmt::format("{}: key {}", r.position(url->mark()), url->path));
    config.url_source = r.line_of(url->key.Mark());
    return;
  }
  if (!engine && fields.empty()) return;

  Backend backend = config.url.backend;
  if (engine) {
    std::string name = r.choice(*engine, {"sqlite", "postgresql", "postgres"});
    backend = name == "sqlite" ? Backend::sqlite : Backend::postgresql;
  }
  // Fields refine the URL already in force when the engine is the same (so a
  // second file can change just the host); a different engine starts afresh.
  if (backend != config.url.backend) {
    config.url = Url{};
    config.url.backend = backend;
    if (backend == Backend::sqlite) config.url.path = default_config().url.path;
  }
  for (const Entry& e : fields) {
    bool sqlite_field = e.name == "path";
    if (sqlite_field != (backend == Backend::sqlite)) {
      r.fail(e.key.Mark(), e.path,
             fmt::format("applies to engine {} only, and the engine is {}{}",
                         sqlite_field ? "sqlite" : "postgresql", to_string(backend),
                         engine ? "" : " (set engine: to choose)"));
    }
    if (e.name == "path") {
      config.url.path = r.text(e, "a file path or :memory:");
      if (config.url.path.empty()) r.expected(e, "a file path or :memory:");
    } else if (e.name == "host") {
      config.url.host = r.text(e, "a host name, address or socket directory");
    } else if (e.name == "port") {
      config.url.port = std::to_string(r.integer(e, 1, 65535, "a port number 1..65535"));
    } else if (e.name == "dbname") {
      config.url.dbname = r.text(e, "a database name");
    } else if (e.name == "user") {
      config.url.user = r.text(e, "a user name");
    } else {
      config.url.password = r.text(e, "a password", true);
    }
  }
  config.url_source = r.line_of((engine ? *engine : fields.front()).key.Mark());
}

// The `schema:` and `migrations:` keys beside the section: paths relative to the
// file's directory, so a keel.yaml works from any working directory.
void read_paths(const Reader& r, const YAML::Node& parent, const std::string& parent_path,
                Config& config) {
  for (auto it = parent.begin(); it != parent.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string& name = it->first.Scalar();
    if (name != "schema" && name != "migrations") continue;
    Entry e;
    e.key = it->first;
    e.value = it->second;
    e.name = name;
    e.path = parent_path.empty() ? name : fmt::format("{}.{}", parent_path, name);
    std::string text =
        r.text(e, name == "schema" ? "a schema file path" : "a migrations directory path");
    if (text.empty()) r.expected(e, "a non-empty path");
    std::filesystem::path p(text);
    if (p.is_relative()) p = std::filesystem::path(r.origin()).parent_path() / p;
    (name == "schema" ? config.schema_file : config.migrations_dir) = p.string();
  }
}

Config load(const Reader& r, const YAML::Node& root, Config config, std::string_view section) {
  // Walk the dot path. yaml-cpp's Node::operator= assigns through to the tree, so
  // the cursor moves with reset().
  YAML::Node node;
  node.reset(root);
  std::string path;
  std::size_t pos = 0;
  while (pos <= section.size() && !section.empty()) {
    std::size_t dot = section.find('.', pos);
    std::string_view part = section.substr(pos, dot == section.npos ? section.npos : dot - pos);
    pos = dot == section.npos ? section.size() + 1 : dot + 1;
    if (node.IsNull()) return config;
    if (!node.IsMap()) {
      r.fail(node.Mark(), path.empty() ? std::string("(document)") : path,
             fmt::format("expected a mapping containing {}, got {}", part, Reader::describe(node)));
    }
    if (pos > section.size()) read_paths(r, node, path, config);
    path = path.empty() ? std::string(part) : fmt::format("{}.{}", path, part);
    YAML::Node child;
    bool found = false;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == part) child.reset(it->second), found = true;
    }
    if (!found) return config;
    node.reset(child);
  }
  if (node.IsNull()) return config;
  if (!node.IsMap()) {
    r.fail(node.Mark(), path,
           fmt::format("expected a mapping (url, engine, pool, sqlite, postgresql…), got {}",
                       Reader::describe(node)));
  }
  read_database(r, node, path.empty() ? std::string("(document)") : path, config);
  return config;
}

}  // namespace

Config load_config_yaml(std::string_view yaml_text, std::string_view origin, Config base,
                        std::string_view section) {
  Reader reader(origin);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}: YAML syntax error: {}", reader.position(e.mark), e.msg));
  }
  return load(reader, root, std::move(base), section);
}

Config load_config_file(const std::string& path, Config base, std::string_view section) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) throw ConfigError(fmt::format("{}: config file not found", path));
  if (fs::is_directory(status))
    throw ConfigError(fmt::format("{}: is a directory, expected a YAML config file", path));
  std::ifstream in(path, std::ios::binary);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in && !in.eof()) throw ConfigError(fmt::format("{}: config file cannot be read", path));
  return load_config_yaml(text, path, std::move(base), section);
}

}  // namespace keel
