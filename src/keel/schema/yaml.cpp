// schema.yaml: load (strict, every error at file:line:column with its key) and
// save (stable and short, so a saved file diffs cleanly under review).
//
// The format is docs/schema.md. Loading keeps the position of every table,
// column, key and index it reads, so that validate()'s errors — a foreign key to
// a missing table, a default of the wrong type — point into the file too.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "keel/error.hpp"
#include "keel/schema.hpp"
#include "schema/internal.hpp"

namespace keel::schema {

namespace {

using detail::Where;
using Part = Where::Part;
using Names = std::initializer_list<std::string_view>;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

const Names kTopKeys = {"tables"};
const Names kTableKeys = {"columns", "primary_key", "foreign_keys", "unique",
                          "checks",  "indexes",     "renamed_from"};
const Names kColumnKeys = {"type", "nullable", "default", "autoincrement", "renamed_from",
                           "declared_type"};
const Names kDefaultKeys = {"now", "expression", "literal"};
const Names kKeyKeys = {"name", "columns"};
const Names kForeignKeyKeys = {"name", "columns", "references", "on_delete", "on_update"};
const Names kReferenceKeys = {"table", "columns"};
const Names kCheckKeys = {"name", "expression"};
const Names kIndexKeys = {"name", "columns", "unique", "where"};
const Names kActions = {"no_action", "restrict", "cascade", "set_null", "set_default"};
constexpr std::string_view kTypeList =
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

class Loader {
 public:
  explicit Loader(std::string_view origin) : origin_(origin) {}

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

 private:
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
  void each(const YAML::Node& map, const std::string& path, Names allowed, Fn&& fn) const {
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

  // ---- tables ---------------------------------------------------------------------
  void table(MetaData& meta, const Entry& e) {
    std::size_t ti = meta.tables.size();
    meta.tables.push_back(Table{});
    Table& t = meta.tables.back();
    t.name = e.name;
    remember({Part::table, ti, 0, ""}, e.key.Mark(), e.path);
    if (e.value.IsNull()) return;  // validate() says it has no columns
    if (!e.value.IsMap()) expected(e, "a mapping (columns, primary_key, indexes…)");
    each(e.value, e.path, kTableKeys, [&](const Entry& k) {
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

  void column(Table& t, std::size_t ti, const Entry& e) {
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
    each(e.value, e.path, kColumnKeys, [&](const Entry& k) {
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

  void foreign_key(Table& t, std::size_t ti, const Entry& e) {
    std::size_t i = t.foreign_keys.size();
    ForeignKey fk;
    remember({Part::foreign_key, ti, i, ""}, e);
    if (!e.value.IsMap()) expected(e, "a mapping {columns: […], references: {table, columns}}");
    bool has_columns = false, has_references = false;
    each(e.value, e.path, kForeignKeyKeys, [&](const Entry& k) {
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

  void unique(Table& t, std::size_t ti, const Entry& e) {
    std::size_t i = t.uniques.size();
    UniqueConstraint u;
    remember({Part::unique, ti, i, ""}, e);
    if (e.value.IsMap()) {
      bool has_columns = false;
      each(e.value, e.path, kKeyKeys, [&](const Entry& k) {
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

  void check(Table& t, std::size_t ti, const Entry& e) {
    std::size_t i = t.checks.size();
    CheckConstraint ck;
    remember({Part::check, ti, i, ""}, e);
    if (!e.value.IsMap()) expected(e, "a mapping {name: …, expression: SQL}");
    bool has_expression = false;
    each(e.value, e.path, kCheckKeys, [&](const Entry& k) {
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

  void index(Table& t, std::size_t ti, const Entry& e) {
    std::size_t i = t.indexes.size();
    Index ix;
    remember({Part::index, ti, i, ""}, e);
    if (!e.value.IsMap()) expected(e, "a mapping {columns: […], name, unique, where}");
    bool has_columns = false;
    each(e.value, e.path, kIndexKeys, [&](const Entry& k) {
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

  std::string origin_;
  std::map<std::string, Loc> locs_;
};

// ---- saving ---------------------------------------------------------------------

// Names that YAML would read as something else (true, null, 12, "a b") are quoted.
bool plain_safe(std::string_view s) {
  if (s.empty()) return false;
  if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  static const std::set<std::string> kReserved = {"null", "true", "false", "yes", "no", "on",
                                                  "off",  "y",    "n",     "now"};
  return !kReserved.count(lower(s));
}

YAML::Emitter& name(YAML::Emitter& out, const std::string& s) {
  if (plain_safe(s)) return out << s;
  return out << YAML::DoubleQuoted << s;
}

YAML::Emitter& quoted(YAML::Emitter& out, const std::string& s) {
  return out << YAML::DoubleQuoted << s;
}

void name_list(YAML::Emitter& out, const std::vector<std::string>& names) {
  out << YAML::Flow << YAML::BeginSeq;
  for (const auto& n : names) name(out, n);
  out << YAML::EndSeq;
}

// A real always shows it is one (1.0, not 1), so it loads back as a real.
std::string real_text(double d) {
  std::string s = fmt::format("{}", d);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

void default_value(YAML::Emitter& out, const Default& d) {
  switch (d.kind) {
    case Default::Kind::current_timestamp:
      out << "now";
      return;
    case Default::Kind::expression:
      out << YAML::Flow << YAML::BeginMap << YAML::Key << "expression" << YAML::Value;
      quoted(out, d.expression);
      out << YAML::EndMap;
      return;
    case Default::Kind::literal:
      break;
  }
  const auto& v = d.literal.storage();
  if (auto* b = std::get_if<bool>(&v)) out << (*b ? "true" : "false");
  else if (auto* i = std::get_if<std::int64_t>(&v)) out << std::to_string(*i);
  else if (auto* r = std::get_if<double>(&v)) out << real_text(*r);
  else if (auto* s = std::get_if<std::string>(&v)) quoted(out, *s);
  else if (auto* j = std::get_if<Json>(&v)) quoted(out, j->text);
  else if (auto* dec = std::get_if<Decimal>(&v)) quoted(out, dec->text);
  else if (auto* date = std::get_if<Date>(&v)) quoted(out, format_date(*date));
  else if (auto* ts = std::get_if<Timestamp>(&v)) quoted(out, format_timestamp(*ts));
  else out << YAML::Null;
}

std::string default_name(const std::string& pattern, const std::string& table,
                         const std::vector<std::string>& cols) {
  return detail::shorten_name(
      fmt::format(fmt::runtime(pattern), table, fmt::join(cols, "_")));
}

template <class T>
std::vector<const T*> by_name(const std::vector<T>& items) {
  std::vector<const T*> out;
  for (const auto& x : items) out.push_back(&x);
  std::stable_sort(out.begin(), out.end(),
                   [](const T* a, const T* b) { return a->name < b->name; });
  return out;
}

void column(YAML::Emitter& out, const Column& c) {
  name(out, c.name);
  out << YAML::Value;
  bool short_form = c.nullable && !c.server_default && !c.autoincrement &&
                    c.renamed_from.empty() && c.declared_type.empty();
  if (short_form) {
    out << to_string(c.type);
    return;
  }
  out << YAML::Flow << YAML::BeginMap << YAML::Key << "type" << YAML::Value << to_string(c.type);
  if (!c.nullable) out << YAML::Key << "nullable" << YAML::Value << "false";
  if (c.server_default) {
    out << YAML::Key << "default" << YAML::Value;
    default_value(out, *c.server_default);
  }
  if (c.autoincrement) out << YAML::Key << "autoincrement" << YAML::Value << "true";
  if (!c.renamed_from.empty()) {
    out << YAML::Key << "renamed_from" << YAML::Value;
    name(out, c.renamed_from);
  }
  if (!c.declared_type.empty()) {
    out << YAML::Key << "declared_type" << YAML::Value;
    quoted(out, c.declared_type);
  }
  out << YAML::EndMap;
}

void table(YAML::Emitter& out, const Table& t) {
  name(out, t.name);
  out << YAML::Value << YAML::BeginMap;
  if (!t.renamed_from.empty()) {
    out << YAML::Key << "renamed_from" << YAML::Value;
    name(out, t.renamed_from);
  }
  out << YAML::Key << "columns" << YAML::Value << YAML::BeginMap;
  for (const auto& c : t.columns) {
    out << YAML::Key;
    column(out, c);
  }
  out << YAML::EndMap;

  if (t.primary_key) {
    out << YAML::Key << "primary_key" << YAML::Value;
    const PrimaryKey& pk = *t.primary_key;
    if (pk.name.empty() || pk.name == detail::shorten_name(t.name + "_pkey")) {
      name_list(out, pk.columns);
    } else {
      out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value;
      name(out, pk.name);
      out << YAML::Key << "columns" << YAML::Value;
      name_list(out, pk.columns);
      out << YAML::EndMap;
    }
  }
  if (!t.foreign_keys.empty()) {
    out << YAML::Key << "foreign_keys" << YAML::Value << YAML::BeginSeq;
    for (const ForeignKey* fk : by_name(t.foreign_keys)) {
      out << YAML::Flow << YAML::BeginMap;
      if (!fk->name.empty() && fk->name != default_name("{}_{}_fkey", t.name, fk->columns)) {
        out << YAML::Key << "name" << YAML::Value;
        name(out, fk->name);
      }
      out << YAML::Key << "columns" << YAML::Value;
      name_list(out, fk->columns);
      out << YAML::Key << "references" << YAML::Value << YAML::Flow << YAML::BeginMap
          << YAML::Key << "table" << YAML::Value;
      name(out, fk->ref_table);
      out << YAML::Key << "columns" << YAML::Value;
      name_list(out, fk->ref_columns);
      out << YAML::EndMap;
      if (fk->on_delete != FkAction::no_action) {
        out << YAML::Key << "on_delete" << YAML::Value
            << kActions.begin()[static_cast<int>(fk->on_delete)].data();
      }
      if (fk->on_update != FkAction::no_action) {
        out << YAML::Key << "on_update" << YAML::Value
            << kActions.begin()[static_cast<int>(fk->on_update)].data();
      }
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  if (!t.uniques.empty()) {
    out << YAML::Key << "unique" << YAML::Value << YAML::BeginSeq;
    for (const UniqueConstraint* u : by_name(t.uniques)) {
      if (u->name.empty() || u->name == default_name("{}_{}_key", t.name, u->columns)) {
        name_list(out, u->columns);
        continue;
      }
      out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value;
      name(out, u->name);
      out << YAML::Key << "columns" << YAML::Value;
      name_list(out, u->columns);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  if (!t.checks.empty()) {
    out << YAML::Key << "checks" << YAML::Value << YAML::BeginSeq;
    for (const CheckConstraint* ck : by_name(t.checks)) {
      out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value;
      name(out, ck->name);
      out << YAML::Key << "expression" << YAML::Value;
      quoted(out, ck->expression);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  if (!t.indexes.empty()) {
    out << YAML::Key << "indexes" << YAML::Value << YAML::BeginSeq;
    for (const Index* ix : by_name(t.indexes)) {
      out << YAML::Flow << YAML::BeginMap;
      if (!ix->name.empty() && ix->name != default_name("ix_{}_{}", t.name, ix->columns)) {
        out << YAML::Key << "name" << YAML::Value;
        name(out, ix->name);
      }
      out << YAML::Key << "columns" << YAML::Value;
      name_list(out, ix->columns);
      if (ix->unique) out << YAML::Key << "unique" << YAML::Value << "true";
      if (!ix->where.empty()) {
        out << YAML::Key << "where" << YAML::Value;
        quoted(out, ix->where);
      }
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
}

}  // namespace

MetaData load_schema_yaml(std::string_view yaml_text, std::string_view origin) {
  return Loader(origin).load(yaml_text);
}

MetaData load_schema_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) throw ConfigError(fmt::format("{}: schema file not found", path));
  if (fs::is_directory(status))
    throw ConfigError(fmt::format("{}: is a directory, expected a schema YAML file", path));
  std::ifstream in(path, std::ios::binary);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in && !in.eof()) throw ConfigError(fmt::format("{}: schema file cannot be read", path));
  return load_schema_yaml(text, path);
}

std::string save_schema_yaml(const MetaData& meta) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap << YAML::Key << "tables" << YAML::Value;
  if (meta.tables.empty()) {
    out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
  } else {
    out << YAML::BeginMap;
    for (const Table* t : by_name(meta.tables)) {
      out << YAML::Key;
      table(out, *t);
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;

  std::string text;
  for (const auto& note : meta.notes) {
    std::string line = note;
    std::replace(line.begin(), line.end(), '\n', ' ');
    text += fmt::format("# note: {}\n", line);
  }
  // A blank line before each table (the only lines indented by exactly two).
  std::istringstream lines(out.c_str());
  bool first = true;
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > 2 && line[0] == ' ' && line[1] == ' ' && line[2] != ' ') {
      if (!first) text += '\n';
      first = false;
    }
    text += line;
    text += '\n';
  }
  return text;
}

}  // namespace keel::schema
