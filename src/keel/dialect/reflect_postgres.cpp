// PostgreSQL reflection: pg_catalog, for the tables of current_schema().
//
// Every catalog value is cast to text, bigint or boolean in the query, so the
// rows read the same whatever the driver makes of name, "char" or int2vector.
// Defaults and predicates come back as pg_get_expr() prints them (casts added,
// parentheses added); a cast literal is turned back into the literal keel wrote,
// the rest is kept as printed and compared through normalize_expression().
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "dialect/reflect.hpp"

namespace keel::dialect {

using schema::ColumnType;
using schema::TypeKind;

namespace {

std::string text_of(const Row& row, std::string_view col) {
  return row.get<std::optional<std::string>>(col).value_or("");
}
std::int64_t int_of(const Row& row, std::string_view col) {
  return row.get<std::optional<std::int64_t>>(col).value_or(0);
}
bool bool_of(const Row& row, std::string_view col) {
  return row.get<std::optional<bool>>(col).value_or(false);
}

bool is_integer_kind(TypeKind k) {
  return k == TypeKind::integer || k == TypeKind::bigint || k == TypeKind::smallint;
}

// The portable type of a column of pg_type `typname` (format_type's text in
// `declared`, atttypmod in `typmod`); nullopt for a type the model lacks.
std::optional<ColumnType> portable_type(const std::string& typname, std::int64_t typmod,
                                        const std::string& declared) {
  if (typname == "int4") return ColumnType{TypeKind::integer};
  if (typname == "int8") return ColumnType{TypeKind::bigint};
  if (typname == "int2") return ColumnType{TypeKind::smallint};
  if (typname == "bool") return ColumnType{TypeKind::boolean};
  if (typname == "float8" || typname == "float4") return ColumnType{TypeKind::real};
  if (typname == "text") return ColumnType{TypeKind::text};
  if (typname == "varchar" || typname == "bpchar") {
    if (typmod > 4) return ColumnType{TypeKind::string, static_cast<int>(typmod - 4)};
    return ColumnType{TypeKind::text};
  }
  if (typname == "numeric") {
    ColumnType t{TypeKind::numeric};
    // numeric(p,s) as format_type prints it.
    std::size_t open = declared.find('(');
    if (open != std::string::npos) {
      int p = 0, s = 0;
      const char* begin = declared.data() + open + 1;
      const char* end = declared.data() + declared.size();
      auto r = std::from_chars(begin, end, p);
      if (r.ec == std::errc() && r.ptr < end && *r.ptr == ',')
        std::from_chars(r.ptr + 1, end, s);
      t.precision = p;
      t.scale = s;
    }
    return t;
  }
  if (typname == "bytea") return ColumnType{TypeKind::blob};
  if (typname == "date") return ColumnType{TypeKind::date};
  if (typname == "timestamptz" || typname == "timestamp") return ColumnType{TypeKind::timestamp};
  if (typname == "json" || typname == "jsonb") return ColumnType{TypeKind::json};
  if (typname == "uuid") return ColumnType{TypeKind::uuid};
  return std::nullopt;
}

// Strips one pair of parentheses enclosing the whole text (pg_get_expr wraps
// predicates and CHECK bodies in one).
std::string strip_outer_parens(std::string_view text) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') return std::string(text);
  int depth = 0;
  bool quoted = false;
  char q = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (quoted) {
      if (ch == q) quoted = false;  // a doubled quote re-opens on the next character
      continue;
    }
    if (ch == '\'' || ch == '"') {
      quoted = true;
      q = ch;
    } else if (ch == '(') {
      ++depth;
    } else if (ch == ')' && --depth == 0 && i + 1 != text.size()) {
      return std::string(text);
    }
  }
  return std::string(text.substr(1, text.size() - 2));
}

// `'…'::type` (the whole expression one quoted literal and a cast): the literal's
// text; nullopt otherwise.
std::optional<std::string> cast_literal(std::string_view expr) {
  if (expr.empty() || expr[0] != '\'') return std::nullopt;
  std::string out;
  std::size_t i = 1;
  for (; i < expr.size(); ++i) {
    if (expr[i] == '\'') {
      if (i + 1 < expr.size() && expr[i + 1] == '\'') {
        out += '\'';
        ++i;
        continue;
      }
      break;
    }
    out += expr[i];
  }
  if (i >= expr.size()) return std::nullopt;
  std::string_view rest = expr.substr(i + 1);
  if (rest.empty()) return out;
  if (!rest.starts_with("::")) return std::nullopt;
  // The cast's type name: words, spaces, dots, quotes, and a (n) modifier, nothing else.
  for (char ch : rest.substr(2))
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == ' ' || ch == '_' || ch == '.' ||
          ch == '"' || ch == '(' || ch == ')' || ch == ',' || ch == '[' || ch == ']'))
      return std::nullopt;
  return out;
}

std::optional<Value> parse_number(std::string_view s) {
  std::int64_t i = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && p == s.data() + s.size()) return Value(i);
  if (s.empty() || s.find_first_not_of("0123456789.eE+-") != std::string_view::npos)
    return std::nullopt;
  std::string copy(s);
  char* end = nullptr;
  double d = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return std::nullopt;
  return Value(d);
}

// The model's default for pg_get_expr's text of a column default.
std::optional<schema::Default> parse_default(std::string expr, const ColumnType& type) {
  schema::Default d;
  std::string bare = strip_outer_parens(expr);
  std::string upper_bare;
  for (char ch : bare)
    upper_bare += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (upper_bare.starts_with("NULL::") || upper_bare == "NULL") return std::nullopt;
  if (upper_bare == "CURRENT_TIMESTAMP" || upper_bare == "NOW()") {
    if (type.kind == TypeKind::timestamp) {
      d.kind = schema::Default::Kind::current_timestamp;
      return d;
    }
  }
  if (bare == "true" || bare == "false") {
    d.literal = Value(bare == "true");
    return d;
  }
  // Negative numbers come back parenthesised or cast: (-1), '-1'::integer.
  if (auto n = parse_number(bare)) {
    if (type.kind == TypeKind::numeric) {
      d.literal = Value(bare);
    } else {
      d.literal = *n;
    }
    return d;
  }
  if (auto text = cast_literal(bare)) {
    if (is_integer_kind(type.kind) || type.kind == TypeKind::real) {
      if (auto n = parse_number(*text)) {
        d.literal = *n;
        return d;
      }
    } else if (type.kind == TypeKind::boolean) {
      if (*text == "true" || *text == "false") {
        d.literal = Value(*text == "true");
        return d;
      }
    }
    // A literal on a numeric/date/timestamp/json/uuid column is written as text (see
    // the DDL), and any literal on a text column is text.
    d.literal = Value(*text);
    return d;
  }
  d.kind = schema::Default::Kind::expression;
  d.expression = bare;
  return d;
}

schema::FkAction fk_action(const std::string& code) {
  if (code == "r") return schema::FkAction::restrict;
  if (code == "c") return schema::FkAction::cascade;
  if (code == "n") return schema::FkAction::set_null;
  if (code == "d") return schema::FkAction::set_default;
  return schema::FkAction::no_action;
}

// The relations of current_schema() of `kinds` (pg_class.relkind letters), by name.
constexpr const char* kRelations = R"(
  SELECT c.relname::text AS name, c.relkind::text AS kind
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
    AND NOT c.relispartition AND c.relname NOT LIKE 'keel\_%'
  ORDER BY c.relname COLLATE "C")";

constexpr const char* kColumns = R"(
  SELECT a.attname::text AS name, t.typname::text AS typname,
         pg_catalog.format_type(a.atttypid, a.atttypmod) AS declared,
         a.atttypmod::bigint AS typmod, a.attnotnull AS notnull,
         a.attidentity::text AS identity, a.attgenerated::text AS generated,
         pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS dflt,
         t.typtype::text AS typtype, t.typcategory::text AS category
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE a.attrelid = pg_catalog.to_regclass(pg_catalog.quote_ident(current_schema()) || '.' ||
                                            pg_catalog.quote_ident(?))
    AND a.attnum > 0 AND NOT a.attisdropped
  ORDER BY a.attnum)";

// One row per constraint column, in the key's order (conkey/confkey ordinality).
constexpr const char* kKeyConstraints = R"(
  SELECT con.conname::text AS name, con.contype::text AS type, k.ord AS ord,
         a.attname::text AS col, fc.relname::text AS ref_table, fa.attname::text AS ref_col,
         con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update
  FROM pg_catalog.pg_constraint con
  CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
  LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid
  LEFT JOIN pg_catalog.pg_attribute fa
         ON fa.attrelid = con.confrelid AND fa.attnum = con.confkey[k.ord]
  WHERE con.conrelid = pg_catalog.to_regclass(pg_catalog.quote_ident(current_schema()) || '.' ||
                                              pg_catalog.quote_ident(?))
    AND con.contype IN ('p', 'f', 'u')
  ORDER BY con.conname COLLATE "C", k.ord)";

constexpr const char* kChecks = R"(
  SELECT con.conname::text AS name, pg_catalog.pg_get_constraintdef(con.oid) AS def
  FROM pg_catalog.pg_constraint con
  WHERE con.conrelid = pg_catalog.to_regclass(pg_catalog.quote_ident(current_schema()) || '.' ||
                                              pg_catalog.quote_ident(?))
    AND con.contype = 'c'
  ORDER BY con.conname COLLATE "C")";

// Indexes that do not back a constraint (a PRIMARY KEY's or UNIQUE's own index is
// the constraint), with each key column; attnum 0 is an expression.
constexpr const char* kIndexes = R"(
  SELECT i.relname::text AS name, x.indisunique AS is_unique,
         pg_catalog.pg_get_expr(x.indpred, x.indrelid) AS pred,
         am.amname::text AS method, k.ord AS ord, k.attnum::bigint AS attnum,
         a.attname::text AS col, x.indnatts::bigint AS natts, x.indnkeyatts::bigint AS nkeyatts,
         pg_catalog.pg_get_indexdef(x.indexrelid) AS def
  FROM pg_catalog.pg_index x
  JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
  JOIN pg_catalog.pg_am am ON am.oid = i.relam
  CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
  LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
  WHERE x.indrelid = pg_catalog.to_regclass(pg_catalog.quote_ident(current_schema()) || '.' ||
                                            pg_catalog.quote_ident(?))
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con
                    WHERE con.conindid = x.indexrelid AND con.conrelid = x.indrelid
                      AND con.contype IN ('p', 'u', 'x'))
  ORDER BY i.relname COLLATE "C", k.ord)";

constexpr const char* kTriggers = R"(
  SELECT tg.tgname::text AS name, c.relname::text AS tbl
  FROM pg_catalog.pg_trigger tg
  JOIN pg_catalog.pg_class c ON c.oid = tg.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = current_schema() AND NOT tg.tgisinternal
    AND c.relname NOT LIKE 'keel\_%'
  ORDER BY tg.tgname COLLATE "C")";

schema::Table reflect_table(Connection& conn, const std::string& name, schema::MetaData& meta) {
  schema::Table t;
  t.name = name;

  for (const auto& row : conn.query(kColumns, {name}).all()) {
    schema::Column c;
    c.name = text_of(row, "name");
    if (!text_of(row, "generated").empty()) {
      meta.notes.push_back(fmt::format(
          "column {}.{}: generated column not reflected", name, c.name));
      continue;
    }
    const std::string typname = text_of(row, "typname");
    c.declared_type = text_of(row, "declared");
    if (auto type = portable_type(typname, int_of(row, "typmod"), c.declared_type)) {
      c.type = *type;
      if (typname == "timestamp")
        meta.notes.push_back(fmt::format(
            "column {}.{}: timestamp without time zone reflected as timestamp (timestamptz)",
            name, c.name));
    } else {
      c.type = ColumnType{TypeKind::text};
      meta.notes.push_back(fmt::format("column {}.{}: type {} has no portable equivalent; "
                                       "reflected as text",
                                       name, c.name, c.declared_type));
    }
    c.nullable = !bool_of(row, "notnull");
    std::string identity = text_of(row, "identity");
    auto dflt = row.get<std::optional<std::string>>("dflt");
    if (identity == "a" || identity == "d") {
      c.autoincrement = true;
    } else if (dflt && dflt->starts_with("nextval(")) {
      // serial: an autoincrement key by another route; its default is the sequence.
      c.autoincrement = true;
    } else if (dflt) {
      c.server_default = parse_default(*dflt, c.type);
    }
    t.columns.push_back(std::move(c));
  }

  // Key constraints: rows per column, grouped by constraint name (ordered).
  std::string current;
  char current_type = 0;
  for (const auto& row : conn.query(kKeyConstraints, {name}).all()) {
    std::string cname = text_of(row, "name");
    std::string type = text_of(row, "type");
    bool first = cname != current;
    current = cname;
    current_type = type.empty() ? 0 : type[0];
    std::string col = text_of(row, "col");
    if (current_type == 'p') {
      if (first) t.primary_key = schema::PrimaryKey{cname, {}};
      t.primary_key->columns.push_back(col);
    } else if (current_type == 'u') {
      if (first) t.uniques.push_back({cname, {}});
      t.uniques.back().columns.push_back(col);
    } else if (current_type == 'f') {
      if (first) {
        schema::ForeignKey fk;
        fk.name = cname;
        fk.ref_table = text_of(row, "ref_table");
        fk.on_delete = fk_action(text_of(row, "on_delete"));
        fk.on_update = fk_action(text_of(row, "on_update"));
        t.foreign_keys.push_back(std::move(fk));
      }
      t.foreign_keys.back().columns.push_back(col);
      t.foreign_keys.back().ref_columns.push_back(text_of(row, "ref_col"));
    }
  }

  for (const auto& row : conn.query(kChecks, {name}).all()) {
    std::string def = text_of(row, "def");
    // "CHECK ((expr)) [NOT VALID]" → expr
    if (def.ends_with(" NOT VALID")) def.resize(def.size() - 10);
    if (def.starts_with("CHECK ")) def = def.substr(6);
    def = strip_outer_parens(strip_outer_parens(def));
    t.checks.push_back({text_of(row, "name"), def});
  }

  struct RawIndex {
    schema::Index index;
    bool skip = false;
    std::string why;
  };
  std::vector<RawIndex> indexes;
  for (const auto& row : conn.query(kIndexes, {name}).all()) {
    std::string iname = text_of(row, "name");
    if (indexes.empty() || indexes.back().index.name != iname) {
      RawIndex raw;
      raw.index.name = iname;
      raw.index.unique = bool_of(row, "is_unique");
      if (auto pred = row.get<std::optional<std::string>>("pred"))
        raw.index.where = strip_outer_parens(*pred);
      std::string method = text_of(row, "method");
      if (method != "btree") {
        raw.skip = true;
        raw.why = fmt::format("a {} index", method);
      }
      if (int_of(row, "natts") != int_of(row, "nkeyatts")) {
        raw.skip = true;
        raw.why = "an index with INCLUDE columns";
      }
      indexes.push_back(std::move(raw));
    }
    auto& raw = indexes.back();
    if (int_of(row, "attnum") == 0) {
      raw.skip = true;
      raw.why = "an expression index";
    }
    if (int_of(row, "ord") <= int_of(row, "nkeyatts"))
      raw.index.columns.push_back(text_of(row, "col"));
    if (raw.skip && raw.why.find(':') == std::string::npos)
      raw.why += ": " + text_of(row, "def");
  }
  for (auto& raw : indexes) {
    if (raw.skip) {
      meta.notes.push_back(
          fmt::format("index {} on {}: {}; not reflected", raw.index.name, name, raw.why));
      continue;
    }
    t.indexes.push_back(std::move(raw.index));
  }
  return t;
}

}  // namespace

schema::MetaData reflect_postgres(Connection& conn) {
  schema::MetaData meta;
  std::vector<std::string> tables;
  for (const auto& row : conn.query(kRelations).all()) {
    std::string name = text_of(row, "name");
    std::string kind = text_of(row, "kind");
    if (kind == "r" || kind == "p") {
      tables.push_back(name);
    } else if (kind == "v") {
      meta.notes.push_back(fmt::format("view {}: views are not reflected", name));
    } else if (kind == "m") {
      meta.notes.push_back(
          fmt::format("materialized view {}: materialized views are not reflected", name));
    } else {
      meta.notes.push_back(
          fmt::format("foreign table {}: foreign tables are not reflected", name));
    }
  }
  for (const auto& name : tables) meta.tables.push_back(reflect_table(conn, name, meta));
  for (const auto& row : conn.query(kTriggers).all())
    meta.notes.push_back(fmt::format("trigger {} on {}: triggers are not reflected",
                                     text_of(row, "name"), text_of(row, "tbl")));
  return meta;
}

}  // namespace keel::dialect
