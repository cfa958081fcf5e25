// schema.yaml's parts, read and written for every YAML format of the schema layer
// (schema.yaml itself, and the operations of migration files), so that each part
// has one reader, one writer and one way of reporting errors: file:line:column,
// the key's path, then the message.
#pragma once

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/error.hpp"
#include "keel/schema.hpp"
#include "schema/internal.hpp"

namespace keel::schema::detail {

using Part = Where::Part;
using Names = std::vector<std::string_view>;

inline std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

inline const Names kTopKeys = {"tables"};
inline const Names kTableKeys = {"columns", "primary_key", "foreign_keys", "unique",
                                 "checks",  "indexes",     "renamed_from"};
inline const Names kColumnKeys = {"type",          "nullable",     "default",
                                  "autoincrement", "renamed_from", "declared_type"};
inline const Names kDefaultKeys = {"now", "expression", "literal"};
inline const Names kKeyKeys = {"name", "columns"};
inline const Names kForeignKeyKeys = {"name", "columns", "references", "on_delete", "on_update"};
inline const Names kReferenceKeys = {"table", "columns"};
inline const Names kCheckKeys = {"name", "expression"};
inline const Names kIndexKeys = {"name", "columns", "unique", "where"};
inline const Names kActions = {"no_action", "restrict", "cascade", "set_null", "set_default"};
inline constexpr std::string_view kTypeList =
    "integer, bigint, smallint, boolean, real, numeric, numeric(p,s), text, string(n), blob, "
    "date, timestamp, json, uuid";

// One `key: value` of a mapping (or one item of a list, name "[i]"), with its path.
struct Entry {
  std::string path;
  std::string name;
  YAML::Node key;  // null for list items
  YAML::Node value;

  // The value's position; the key's when the value is empty (`nullable:`), since
  // yaml-cpp places an empty value at the start of the next line.
  YAML::Mark mark() const {
    if ((value.IsNull() || value.Mark().is_null()) && key.IsDefined() && !key.IsNull())
      return key.Mark();
    return value.Mark();
  }
  YAML::Mark key_mark() const { return key.IsDefined() && !key.IsNull() ? key.Mark() : mark(); }
};

struct Loc {
  YAML::Mark mark;
  std::string path;
};

class YamlReader {
 public:
  explicit YamlReader(std::string_view origin) : origin_(origin) {}

  MetaData load(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      throw ConfigError(fmt::format("{}: YAML syntax error: {}", position(e.mark), e.msg));
    }
    MetaData meta;
    if (root.IsNull()) return meta;
    if (!root.IsMap()) {
      fail(root.Mark(), "(document)",
           fmt::format("expected a mapping with a tables: key, got {}", describe(root)));
    }
    each(root, "", kTopKeys, [&](const Entry& e) {
      if (e.value.IsNull()) return;
      if (!e.value.IsMap()) expected(e, "a mapping of table names to tables");
      each(e.value, e.path, {}, [&](const Entry& t) { table(meta, t); });
    });
    detail::validate(meta, [this](const Where& w) { return locate(w); });
    return meta;
  }

 public:
  // ---- errors and positions ---------------------------------------------------
  std::string position(const YAML::Mark& mark) const {
    if (mark.is_null()) return origin_;
    return fmt::format("{}:{}:{}", origin_, mark.line + 1, mark.column + 1);
  }
  [[noreturn]] void fail(const YAML::Mark& mark, std::string_view path,
                         std::string_view message) const {
    throw ConfigError(fmt::format("{}: key {}: {}", position(mark), path, message));
  }
  [[noreturn]] void fail(const Entry& e, std::string_view message) const {
    fail(e.mark(), e.path, message);
  }
  static std::string describe(const YAML::Node& node) {
    if (node.IsNull()) return "nothing";
    if (node.IsSequence()) return "a list";
    if (node.IsMap()) return "a mapping";
    return fmt::format("'{}'", node.Scalar());
  }
  [[noreturn]] void expected(const Entry& e, std::string_view what) const {
    fail(e, fmt::format("expected {}, got {}", what, describe(e.value)));
  }

  static std::string key_of(const Where& w) {
    return fmt::format("{}/{}/{}/{}", static_cast<int>(w.part), w.table, w.item, w.field);
  }
  void remember(const Where& w, const YAML::Mark& mark, std::string path) {
    locs_[key_of(w)] = Loc{mark, std::move(path)};
  }
  void remember(const Where& w, const Entry& e) { remember(w, e.mark(), e.path); }

  // The most precise position known for `w`: its field, its item, its table.
  std::string locate(const Where& w) const {
    Where item = w;
    item.field.clear();
    Where table{Part::table, w.table, 0, ""};
    for (const Where* x : std::initializer_list<const Where*>{&w, &item, &table}) {
      auto it = locs_.find(key_of(*x));
      if (it != locs_.end())
        return fmt::format("{}: key {}: ", position(it->second.mark), it->second.path);
    }
    return fmt::format("{}: ", origin_);
  }

  // Calls fn(entry) for each key of `map`, refusing keys not in `allowed` (any
  // key when `allowed` is empty) and keys given twice, which yaml-cpp would keep
  // silently.
  template <class Fn>
  void each(const YAML::Node& map, const std::string& path, const Names& allowed, Fn&& fn) const {
    std::map<std::string, int> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      Entry e;
      e.key = it->first;
      e.value = it->second;
      if (!e.key.IsScalar()) {
        fail(e.key.IsNull() ? map.Mark() : e.key.Mark(), path.empty() ? "(document)" : path,
             "keys must be plain names");
      }
      e.name = e.key.Scalar();
      e.path = path.empty() ? e.name : fmt::format("{}.{}", path, e.name);
      if (allowed.size() != 0 &&
          std::find(allowed.begin(), allowed.end(), e.name) == allowed.end()) {
        std::vector<std::string> names(allowed.begin(), allowed.end());
        std::string hint = detail::closest(e.name, names);
        fail(e.key.Mark(), e.path,
             fmt::format("unknown key{}; expected one of: {}",
                         hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint),
                         fmt::join(allowed, ", ")));
      }
      auto [first, inserted] = seen.emplace(e.name, e.key.Mark().line + 1);
      if (!inserted) {
        fail(e.key.Mark(), e.path,
             fmt::format("'{}' is given twice (first on line {})", e.name, first->second));
      }
      fn(e);
    }
  }

  template <class Fn>
  void items(const Entry& list, Fn&& fn) const {
    if (list.value.IsNull()) return;
    if (!list.value.IsSequence()) expected(list, "a list");
    for (std::size_t i = 0; i < list.value.size(); ++i) {
      Entry e;
      e.path = fmt::format("{}[{}]", list.path, i);
      e.name = fmt::format("[{}]", i);
      e.value = list.value[i];
      fn(e, i);
    }
  }

  // ---- scalars ------------------------------------------------------------------
  std::string text(const Entry& e, std::string_view what = "a string") const {
    if (!e.value.IsScalar()) expected(e, what);
    return e.value.Scalar();
  }
  std::string name(const Entry& e, std::string_view what = "a name") const {
    std::string s = text(e, what);
    if (s.empty()) expected(e, what);
    return s;
  }
  bool boolean(const Entry& e) const {
    if (e.value.IsScalar() && e.value.Tag() == "?") {
      std::string s = lower(e.value.Scalar());
      if (s == "true" || s == "yes" || s == "on") return true;
      if (s == "false" || s == "no" || s == "off") return false;
    }
    expected(e, "true or false");
  }
  // A list of column names; a single name stands for a list of one.
  std::vector<std::string> columns(const Entry& e) const {
    std::vector<std::string> out;
    if (e.value.IsScalar()) {
      out.push_back(name(e, "a column name or a list of them"));
      return out;
    }
    if (!e.value.IsSequence()) expected(e, "a list of column names");
    items(e, [&](const Entry& item, std::size_t) { out.push_back(name(item, "a column name")); });
    return out;
  }

  // ---- parts embedded in other formats -------------------------------------------
  // The readers below take `extra`: keys that the embedding format reads itself
  // (an operation's table:), accepted and skipped.
  static Names with(const Names& keys, const Names& extra) {
    Names out = keys;
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
  }
  static bool is_extra(const Names& extra, std::string_view key) {
    return std::find(extra.begin(), extra.end(), key) != extra.end();
  }

  // ---- tables ---------------------------------------------------------------------
  void table(MetaData& meta, const Entry& e, const Names& extra = {}) {
    std::size_t ti = meta.tables.size();
    meta.tables.push_back(Table{});
    Table& t = meta.tables.back();
    t.name = e.name;
    remember({Part::table, ti, 0, ""}, e.key.Mark(), e.path);
    if (e.value.IsNull()) return;  // validate() says it has no columns
    if (!e.value.IsMap()) expected(e, "a mapping (columns, primary_key, indexes…)");
    each(e.value, e.path, with(kTableKeys, extra), [&](const Entry& k) {
      if (is_extra(extra, k.name)) return;
      if (k.name == "columns") {
        if (k.value.IsNull()) return;
        if (!k.value.IsMap()) expected(k, "a mapping of column names to types");
        each(k.value, k.path, {}, [&](const Entry& c) { column(t, ti, c); });
      } else if (k.name == "primary_key") {
        primary_key(t, ti, k);
      } else if (k.name == "foreign_keys") {
        items(k, [&](const Entry& item, std::size_t) { foreign_key(t, ti, item); });
      } else if (k.name == "unique") {
        items(k, [&](const Entry& item, std::size_t) { unique(t, ti, item); });
      } else if (k.name == "checks") {
        items(k, [&](const Entry& item, std::size_t) { check(t, ti, item); });
      } else if (k.name == "indexes") {
        items(k, [&](const Entry& item, std::size_t) { index(t, ti, item); });
      } else {
        t.renamed_from = name(k, "the table's previous name");
      }
    });
  }

  void column(Table& t, std::size_t ti, const Entry& e, const Names& extra = {}) {
    std::size_t ci = t.columns.size();
    t.columns.push_back(Column{});
    Column& c = t.columns.back();
    c.name = e.name;
    remember({Part::column, ti, ci, ""}, e.key.Mark(), e.path);
    if (e.value.IsScalar()) {  // short form: `title: text`
      c.type = type(e);
      remember({Part::column, ti, ci, "type"}, e);
      return;
    }
    if (!e.value.IsMap())
      expected(e, fmt::format("a type ({}) or a mapping with type:", kTypeList));
    bool typed = false;
    each(e.value, e.path, with(kColumnKeys, extra), [&](const Entry& k) {
      if (is_extra(extra, k.name)) return;
      remember({Part::column, ti, ci, k.name}, k);
      if (k.name == "type") {
        c.type = type(k);
        typed = true;
      } else if (k.name == "nullable") {
        c.nullable = boolean(k);
      } else if (k.name == "default") {
        c.server_default = default_value(k);
      } else if (k.name == "autoincrement") {
        c.autoincrement = boolean(k);
      } else if (k.name == "renamed_from") {
        c.renamed_from = name(k, "the column's previous name");
      } else {
        c.declared_type = text(k);
      }
    });
    if (!typed) fail(e.key.Mark(), e.path, "column has no type: key");
  }

  ColumnType type(const Entry& e) const {
    std::string s = text(e, fmt::format("a type ({})", kTypeList));
    if (auto parsed = parse_type(s)) return *parsed;
    std::string base = lower(s.substr(0, s.find('(')));
    std::vector<std::string> names = {"integer", "bigint", "smallint", "boolean", "real",
                                      "numeric", "text",   "string",   "blob",    "date",
                                      "timestamp", "json", "uuid"};
    std::string hint;
    if (base == "numeric" && s.find('(') != s.npos && s.find(')') == s.npos) {
      // yaml-cpp has split `{type: numeric(12,4)}` at the comma.
      hint = " (inside {...} a comma ends the value: write \"numeric(p,s)\" in quotes)";
    } else if (std::find(names.begin(), names.end(), base) != names.end()) {
      hint = base == "string" ? " (string needs a length: string(n))"
                              : fmt::format(" (write {} or check the parentheses)",
                                            base == "numeric" ? "numeric(p,s)" : base);
    } else if (std::string close = detail::closest(base, names); !close.empty()) {
      hint = fmt::format(" (did you mean '{}'?)", close);
    }
    fail(e, fmt::format("unknown type '{}'{}; expected one of: {}", s, hint, kTypeList));
  }

  // `default:` — a scalar is a literal (quoted: text; plain: a number, true/false,
  // or `now`), or a mapping {now: true} / {expression: SQL} / {literal: value}.
  std::optional<Default> default_value(const Entry& e) const {
    if (e.value.IsNull()) return std::nullopt;
    if (e.value.IsScalar()) {
      if (e.value.Tag() == "?") {
        std::string s = lower(e.value.Scalar());
        if (s == "now" || s == "current_timestamp") return now();
      }
      return literal_value(e);
    }
    if (!e.value.IsMap()) expected(e, "a value, now, {expression: SQL} or {literal: value}");
    if (e.value.size() != 1) {
      fail(e, "give exactly one of now: true, expression: SQL or literal: value");
    }
    std::optional<Default> out;
    each(e.value, e.path, kDefaultKeys, [&](const Entry& k) {
      if (k.name == "now") {
        if (!boolean(k)) fail(k, "now: false is no default; leave default: out instead");
        out = now();
      } else if (k.name == "expression") {
        std::string sql = text(k, "an SQL expression");
        if (sql.empty()) expected(k, "an SQL expression");
        out = expression(std::move(sql));
      } else {
        if (k.value.IsNull()) expected(k, "a value");
        out = literal_value(k);
      }
    });
    return out;
  }

  Default literal_value(const Entry& e) const {
    if (!e.value.IsScalar()) expected(e, "a number, true/false or a quoted string");
    const std::string& s = e.value.Scalar();
    const std::string& tag = e.value.Tag();
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return literal(Value(s));
    if (tag != "?") fail(e, fmt::format("unsupported tag '{}'; quote the value for text", tag));
    std::string l = lower(s);
    if (l == "true") return literal(Value(true));
    if (l == "false") return literal(Value(false));
    if (l == "null" || l == "~") return literal(Value());
    if (!s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' ||
                       s[0] == '+' || s[0] == '.')) {
      std::string_view num = s;
      if (num.front() == '+') num.remove_prefix(1);
      std::int64_t i = 0;
      auto [iptr, iec] = std::from_chars(num.data(), num.data() + num.size(), i);
      if (iec == std::errc() && iptr == num.data() + num.size()) return literal(Value(i));
      if (iec == std::errc::result_out_of_range && iptr == num.data() + num.size())
        fail(e, fmt::format("integer '{}' is out of range (quote it for text)", s));
      double d = 0;
      auto [dptr, dec] = std::from_chars(num.data(), num.data() + num.size(), d);
      if (dec == std::errc() && dptr == num.data() + num.size() && std::isfinite(d))
        return literal(Value(d));
      fail(e, fmt::format("'{}' is not a number; quote it to make it text", s));
    }
    // Any other plain word is text, as in YAML itself (`default: pending`).
    return literal(Value(s));
  }

  FkAction action(const Entry& e) const {
    std::string s = lower(text(e, "a foreign key action"));
    std::replace(s.begin(), s.end(), ' ', '_');
    for (std::size_t i = 0; i < kActions.size(); ++i)
      if (kActions.begin()[i] == s) return static_cast<FkAction>(i);
    std::vector<std::string> names(kActions.begin(), kActions.end());
    std::string hint = detail::closest(s, names);
    fail(e, fmt::format("unknown action '{}'{}; expected one of: {}", e.value.Scalar(),
                        hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint),
                        fmt::join(kActions, ", ")));
  }

  void primary_key(Table& t, std::size_t ti, const Entry& e) {
    PrimaryKey pk;
    remember({Part::primary_key, ti, 0, ""}, e);
    if (e.value.IsMap()) {
      bool has_columns = false;
      each(e.value, e.path, kKeyKeys, [&](const Entry& k) {
        remember({Part::primary_key, ti, 0, k.name}, k);
        if (k.name == "name") {
          pk.name = name(k);
        } else {
          pk.columns = columns(k);
          has_columns = true;
        }
      });
      if (!has_columns) fail(e, "primary key has no columns: key");
    } else {
      remember({Part::primary_key, ti, 0, "columns"}, e);
      pk.columns = columns(e);
    }
    t.primary_key = std::move(pk);
  }

  void foreign_key(Table& t, std::size_t ti, const Entry& e, const Names& extra = {}) {
    std::size_t i = t.foreign_keys.size();
    ForeignKey fk;
    remember({Part::foreign_key, ti, i, ""}, e);
    if (!e.value.IsMap()) expected(e, "a mapping {columns: […], references: {table, columns}}");
    bool has_columns = false, has_references = false;
    each(e.value, e.path, with(kForeignKeyKeys, extra), [&](const Entry& k) {
      if (is_extra(extra, k.name)) return;
      remember({Part::foreign_key, ti, i, k.name}, k);
      if (k.name == "name") {
        fk.name = name(k);
      } else if (k.name == "columns") {
        fk.columns = columns(k);
        has_columns = true;
      } else if (k.name == "references") {
        if (!k.value.IsMap()) expected(k, "a mapping {table: …, columns: […]}");
        bool has_table = false, has_ref_columns = false;
        each(k.value, k.path, kReferenceKeys, [&](const Entry& r) {
          remember({Part::foreign_key, ti, i, "references." + r.name}, r);
          if (r.name == "table") {
            fk.ref_table = name(r, "a table name");
            has_table = true;
          } else {
            fk.ref_columns = columns(r);
            has_ref_columns = true;
          }
        });
        if (!has_table) fail(k, "references has no table: key");
        if (!has_ref_columns) fail(k, "references has no columns: key");
        has_references = true;
      } else if (k.name == "on_delete") {
        fk.on_delete = action(k);
      } else {
        fk.on_update = action(k);
      }
    });
    if (!has_columns) fail(e, "foreign key has no columns: key");
    if (!has_references) fail(e, "foreign key has no references: key");
    t.foreign_keys.push_back(std::move(fk));
  }

  void unique(Table& t, std::size_t ti, const Entry& e, const Names& extra = {}) {
    std::size_t i = t.uniques.size();
    UniqueConstraint u;
    remember({Part::unique, ti, i, ""}, e);
    if (e.value.IsMap()) {
      bool has_columns = false;
      each(e.value, e.path, with(kKeyKeys, extra), [&](const Entry& k) {
        if (is_extra(extra, k.name)) return;
        remember({Part::unique, ti, i, k.name}, k);
        if (k.name == "name") {
          u.name = name(k);
        } else {
          u.columns = columns(k);
          has_columns = true;
        }
      });
      if (!has_columns) fail(e, "unique constraint has no columns: key");
    } else {
      remember({Part::unique, ti, i, "columns"}, e);
      u.columns = columns(e);
    }
    t.uniques.push_back(std::move(u));
  }

  void check(Table& t, std::size_t ti, const Entry& e, const Names& extra = {}) {
    std::size_t i = t.checks.size();
    CheckConstraint ck;
    remember({Part::check, ti, i, ""}, e);
    if (!e.value.IsMap()) expected(e, "a mapping {name: …, expression: SQL}");
    bool has_expression = false;
    each(e.value, e.path, with(kCheckKeys, extra), [&](const Entry& k) {
      if (is_extra(extra, k.name)) return;
      remember({Part::check, ti, i, k.name}, k);
      if (k.name == "name") {
        ck.name = name(k);
      } else {
        ck.expression = text(k, "an SQL expression");
        has_expression = true;
      }
    });
    if (!has_expression) fail(e, "check has no expression: key");
    t.checks.push_back(std::move(ck));
  }

  void index(Table& t, std::size_t ti, const Entry& e, const Names& extra = {}) {
    std::size_t i = t.indexes.size();
    Index ix;
    remember({Part::index, ti, i, ""}, e);
    if (!e.value.IsMap()) expected(e, "a mapping {columns: […], name, unique, where}");
    bool has_columns = false;
    each(e.value, e.path, with(kIndexKeys, extra), [&](const Entry& k) {
      if (is_extra(extra, k.name)) return;
      remember({Part::index, ti, i, k.name}, k);
      if (k.name == "name") {
        ix.name = name(k);
      } else if (k.name == "columns") {
        ix.columns = columns(k);
        has_columns = true;
      } else if (k.name == "unique") {
        ix.unique = boolean(k);
      } else {
        ix.where = text(k, "an SQL condition");
      }
    });
    if (!has_columns) fail(e, "index has no columns: key");
    t.indexes.push_back(std::move(ix));
  }

 private:
  std::string origin_;
  std::map<std::string, Loc> locs_;
};

// ---- writing ----------------------------------------------------------------------
// Each writes into an emitter positioned where the value (or, for *_fields, the
// keys of an open mapping) goes.

// A name, quoted when YAML would read it as something else (true, null, 12, "a b").
YAML::Emitter& name(YAML::Emitter& out, const std::string& s);
// [a, b] in flow style.
void name_list(YAML::Emitter& out, const std::vector<std::string>& names);
// The keys of a column: type, nullable, default, autoincrement, renamed_from, declared_type.
void column_fields(YAML::Emitter& out, const Column& c);
// The keys of a table after its name: renamed_from, columns, primary_key, foreign_keys…
void table_fields(YAML::Emitter& out, const Table& t);
// The keys of a foreign key after its name: columns, references, on_delete, on_update.
void foreign_key_fields(YAML::Emitter& out, const ForeignKey& fk);
// The keys of an index after its name: columns, unique, where.
void index_fields(YAML::Emitter& out, const Index& ix);
// A check's expression: key.
void check_fields(YAML::Emitter& out, const CheckConstraint& ck);

}  // namespace keel::schema::detail
