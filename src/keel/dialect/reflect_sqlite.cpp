// SQLite reflection: sqlite_schema, the PRAGMAs, and the stored CREATE statements.
//
// The PRAGMAs give columns, declared types, defaults as written, primary keys,
// foreign keys (without names) and indexes. What they do not give — CHECK
// constraints, constraint names, a partial index's WHERE clause — only exists in
// the CREATE statement SQLite keeps verbatim in sqlite_schema, so a small
// tokenizer reads those back (see Lexer).
//
// A database keel did not create may hold what PostgreSQL refuses (a text
// default on an integer column, strftime() defaults, FKs to missing tables,
// mixed-case identifiers in CHECKs that PostgreSQL would fold to lower case).
// The reflected model is what keel renders for both backends, so such things are
// made portable or dropped here, each with a note saying what happened.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dialect/reflect.hpp"

namespace keel::dialect {

using schema::ColumnType;
using schema::TypeKind;

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}
std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}
bool iequals(std::string_view a, std::string_view b) { return lower(a) == lower(b); }
std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}
std::string quote_ident(std::string_view name) {
  std::string out = "\"";
  for (char ch : name) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + '"';
}

// ---- Lexer ------------------------------------------------------------------
//
// Why a tokenizer and not a search for "CHECK (" or "WHERE": SQLite has no
// catalog for checks, constraint names or index predicates, and the stored SQL
// is whatever the author wrote — the words may sit inside string literals,
// quoted identifiers ("where", [check]) or comments, and expressions nest
// parentheses. Tokens keep their byte offsets, so an expression is cut out of
// the original text exactly as written.

struct Token {
  enum Kind { word, ident, string, number, punct };
  Kind kind = punct;
  std::string_view text;  // as written, quotes included
  std::size_t pos = 0;    // offset in the statement
  std::size_t end() const { return pos + text.size(); }
  bool is(std::string_view keyword) const { return kind == word && iequals(text, keyword); }
  bool is_punct(char ch) const { return kind == punct && text.size() == 1 && text[0] == ch; }
};

bool word_char(char ch) {
  auto u = static_cast<unsigned char>(ch);
  return std::isalnum(u) || ch == '_' || ch == '$' || u >= 0x80;
}

std::vector<Token> tokenize(std::string_view sql) {
  std::vector<Token> out;
  std::size_t i = 0;
  const std::size_t n = sql.size();
  auto quoted = [&](char close, Token::Kind kind) {
    std::size_t start = i++;
    while (i < n) {
      if (sql[i] == close) {
        // A doubled closing quote is an escaped quote (not for [brackets]).
        if (close != ']' && i + 1 < n && sql[i + 1] == close) {
          i += 2;
          continue;
        }
        ++i;
        break;
      }
      ++i;
    }
    out.push_back({kind, sql.substr(start, i - start), start});
  };
  while (i < n) {
    char ch = sql[i];
    if (std::isspace(static_cast<unsigned char>(ch))) {
      ++i;
    } else if (ch == '-' && i + 1 < n && sql[i + 1] == '-') {
      while (i < n && sql[i] != '\n') ++i;
    } else if (ch == '/' && i + 1 < n && sql[i + 1] == '*') {
      std::size_t close = sql.find("*/", i + 2);
      i = close == std::string_view::npos ? n : close + 2;
    } else if (ch == '\'') {
      quoted('\'', Token::string);
    } else if (ch == '"') {
      quoted('"', Token::ident);
    } else if (ch == '`') {
      quoted('`', Token::ident);
    } else if (ch == '[') {
      quoted(']', Token::ident);
    } else if (std::isdigit(static_cast<unsigned char>(ch)) ||
               (ch == '.' && i + 1 < n && std::isdigit(static_cast<unsigned char>(sql[i + 1])))) {
      std::size_t start = i;
      auto exponent_sign = [&] {
        return (sql[i] == '+' || sql[i] == '-') && (sql[i - 1] == 'e' || sql[i - 1] == 'E');
      };
      while (i < n && (word_char(sql[i]) || sql[i] == '.' || exponent_sign())) ++i;
      out.push_back({Token::number, sql.substr(start, i - start), start});
    } else if (word_char(ch)) {
      std::size_t start = i;
      while (i < n && word_char(sql[i])) ++i;
      out.push_back({Token::word, sql.substr(start, i - start), start});
    } else {
      out.push_back({Token::punct, sql.substr(i, 1), i});
      ++i;
    }
  }
  return out;
}

// The name a word or quoted identifier stands for; a string literal's text.
std::string unquote(const Token& t) {
  if (t.kind != Token::ident && t.kind != Token::string) return std::string(t.text);
  std::string_view body = t.text.substr(1, t.text.size() >= 2 ? t.text.size() - 2 : 0);
  char q = t.text[0];
  if (q == '[') return std::string(body);
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    out += body[i];
    if (body[i] == q && i + 1 < body.size() && body[i + 1] == q) ++i;
  }
  return out;
}

// The index of the ')' closing the '(' at `open`, or tokens.size().
std::size_t matching_paren(const std::vector<Token>& toks, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < toks.size(); ++i) {
    if (toks[i].is_punct('(')) ++depth;
    if (toks[i].is_punct(')') && --depth == 0) return i;
  }
  return toks.size();
}

// The first name of each comma-separated element of the list opened at `open`
// ("(a COLLATE nocase DESC, b)" → a, b).
std::vector<std::string> name_list(const std::vector<Token>& toks, std::size_t open) {
  std::vector<std::string> names;
  std::size_t close = matching_paren(toks, open);
  bool want = true;
  int depth = 0;
  for (std::size_t i = open + 1; i < close; ++i) {
    if (toks[i].is_punct('(')) ++depth;
    if (toks[i].is_punct(')')) --depth;
    if (depth == 0 && toks[i].is_punct(',')) {
      want = true;
    } else if (want) {
      names.push_back(unquote(toks[i]));
      want = false;
    }
  }
  return names;
}

// ---- CREATE TABLE ------------------------------------------------------------

struct ParsedConstraint {
  enum Kind { primary_key, unique, check, foreign_key };
  Kind kind = check;
  std::string name;                  // "" when unnamed
  std::vector<std::string> columns;  // PK/unique/FK columns
  std::string expression;            // CHECK text as written
  std::string column;                // the column of a column constraint, "" for a table one
};

bool constraint_start(const Token& t) {
  return t.is("CONSTRAINT") || t.is("PRIMARY") || t.is("UNIQUE") || t.is("CHECK") ||
         t.is("FOREIGN");
}
bool column_constraint_start(const Token& t) {
  return constraint_start(t) || t.is("NOT") || t.is("NULL") || t.is("DEFAULT") ||
         t.is("COLLATE") || t.is("REFERENCES") || t.is("GENERATED") || t.is("AS");
}

// Reads the constraints in toks[i, end) of one column definition (`column` set)
// or one table constraint.
void parse_constraints(std::string_view sql, const std::vector<Token>& toks, std::size_t i,
                       std::size_t end, const std::string& column,
                       std::vector<ParsedConstraint>& out) {
  std::string pending;  // CONSTRAINT name, applying to the constraint that follows
  auto emit = [&](ParsedConstraint c) {
    c.name = std::exchange(pending, {});
    c.column = column;
    out.push_back(std::move(c));
  };
  auto next_paren = [&](std::size_t from) {
    while (from < end && !toks[from].is_punct('(')) ++from;
    return from;
  };
  while (i < end) {
    const Token& t = toks[i];
    if (t.is("CONSTRAINT") && i + 1 < end) {
      pending = unquote(toks[i + 1]);
      i += 2;
    } else if (t.is("PRIMARY") || t.is("UNIQUE")) {
      ParsedConstraint c;
      c.kind = t.is("PRIMARY") ? ParsedConstraint::primary_key : ParsedConstraint::unique;
      ++i;
      if (i < end && toks[i].is("KEY")) ++i;
      if (column.empty()) {
        std::size_t open = next_paren(i);
        if (open < end) {
          c.columns = name_list(toks, open);
          i = matching_paren(toks, open) + 1;
        }
      } else {
        c.columns = {column};
      }
      emit(std::move(c));
    } else if (t.is("CHECK") && i + 1 < end && toks[i + 1].is_punct('(')) {
      std::size_t close = matching_paren(toks, i + 1);
      ParsedConstraint c;
      c.kind = ParsedConstraint::check;
      std::size_t from = toks[i + 1].end();
      std::size_t to = close < toks.size() ? toks[close].pos : sql.size();
      c.expression = std::string(trim(sql.substr(from, to - from)));
      emit(std::move(c));
      i = close + 1;
    } else if (t.is("FOREIGN") || t.is("REFERENCES")) {
      ParsedConstraint c;
      c.kind = ParsedConstraint::foreign_key;
      if (t.is("FOREIGN")) {
        std::size_t open = next_paren(i);
        if (open < end) {
          c.columns = name_list(toks, open);
          i = matching_paren(toks, open) + 1;
        } else {
          i = end;
        }
        while (i < end && !toks[i].is("REFERENCES")) ++i;
      } else {
        c.columns = {column};
      }
      emit(std::move(c));
      // The REFERENCES clause itself (target, actions) comes from the PRAGMA.
      ++i;
      while (i < end && !constraint_start(toks[i])) {
        if (toks[i].is_punct('(')) i = matching_paren(toks, i);
        ++i;
      }
    } else if (t.is_punct('(')) {
      i = matching_paren(toks, i) + 1;
    } else {
      if (constraint_start(t) || t.is("NOT") || t.is("DEFAULT")) pending.clear();
      ++i;
    }
  }
}

// The constraints written in a CREATE TABLE statement (empty for CREATE TABLE … AS).
std::vector<ParsedConstraint> parse_create_table(std::string_view sql) {
  std::vector<ParsedConstraint> out;
  auto toks = tokenize(sql);
  std::size_t open = 0;
  while (open < toks.size() && !toks[open].is_punct('(')) {
    if (toks[open].is("AS")) return out;
    ++open;
  }
  if (open == toks.size()) return out;
  std::size_t close = matching_paren(toks, open);
  std::size_t item = open + 1;
  int depth = 0;
  for (std::size_t i = open + 1; i <= close && i < toks.size(); ++i) {
    if (toks[i].is_punct('(')) ++depth;
    if (toks[i].is_punct(')')) --depth;
    bool last = i == close;
    if (!(last || (depth == 0 && toks[i].is_punct(',')))) continue;
    if (item < i) {
      if (constraint_start(toks[item])) {
        parse_constraints(sql, toks, item, i, {}, out);
      } else {
        std::string column = unquote(toks[item]);
        std::size_t j = item + 1;
        while (j < i && !column_constraint_start(toks[j])) {
          if (toks[j].is_punct('(')) j = matching_paren(toks, j);
          ++j;
        }
        parse_constraints(sql, toks, j, i, column, out);
      }
    }
    item = i + 1;
  }
  return out;
}

// The WHERE clause of a CREATE INDEX statement, as written ("" for a full index).
std::string index_where(std::string_view sql) {
  auto toks = tokenize(sql);
  int depth = 0;
  for (const auto& t : toks) {
    if (t.is_punct('(')) ++depth;
    if (t.is_punct(')')) --depth;
    if (depth == 0 && t.is("WHERE")) {
      std::string_view rest = trim(sql.substr(t.end()));
      while (!rest.empty() && rest.back() == ';') rest = trim(rest.substr(0, rest.size() - 1));
      return std::string(rest);
    }
  }
  return {};
}

// A table's column names: as SQLite has them → as the model has them (a name
// longer than PostgreSQL's 63 bytes is shortened like a default name, see fit_name).
using Names = std::vector<std::pair<std::string, std::string>>;

// The model's name for SQLite's `name` (matched case-insensitively, as SQLite does).
std::string model_name(const Names& names, std::string_view name) {
  for (const auto& [from, to] : names)
    if (iequals(from, name)) return to;
  return std::string(name);
}
std::vector<std::string> model_names(const Names& names, const std::vector<std::string>& list) {
  std::vector<std::string> out;
  for (const auto& n : list) out.push_back(model_name(names, n));
  return out;
}

// An expression SQLite accepts, rewritten so PostgreSQL reads it the same way:
// SQLite matches identifiers case-insensitively and accepts [x] and `x`, while
// PostgreSQL folds bare names to lower case. A name of one of `columns` is written
// as that column's exact quoted name where the spelling would otherwise differ; a
// "double-quoted" word naming no column is a string in SQLite, so it becomes one.
// Everything else is kept byte for byte, so keel's own expressions come back unchanged.
std::string portable_expression(std::string_view expr, const Names& columns) {
  auto column_named = [&](std::string_view name) -> const std::string* {
    for (const auto& [from, to] : columns)
      if (iequals(from, name)) return &to;
    return nullptr;
  };
  auto renamed = [&](std::string_view name) {
    for (const auto& [from, to] : columns)
      if (iequals(from, name)) return from != to;
    return false;
  };
  std::string out;
  std::size_t copied = 0;
  auto toks = tokenize(expr);
  for (std::size_t k = 0; k < toks.size(); ++k) {
    const Token& t = toks[k];
    std::optional<std::string> replacement;
    bool call = k + 1 < toks.size() && toks[k + 1].is_punct('(');
    if (t.kind == Token::word && !call) {
      const std::string* col = column_named(t.text);
      if (col && (lower(t.text) != *col || renamed(t.text))) replacement = quote_ident(*col);
    } else if (t.kind == Token::ident) {
      std::string name = unquote(t);
      const std::string* col = column_named(name);
      if (col) {
        if (t.text[0] != '"' || name != *col || renamed(name)) replacement = quote_ident(*col);
      } else if (t.text[0] == '"') {
        std::string lit = "'";
        for (char ch : name) lit += ch == '\'' ? std::string("''") : std::string(1, ch);
        replacement = lit + "'";
      } else {
        replacement = quote_ident(name);
      }
    }
    if (!replacement) continue;
    out.append(expr.substr(copied, t.pos - copied));
    out += *replacement;
    copied = t.end();
  }
  out.append(expr.substr(copied));
  return out;
}

// Strips one pair of parentheses enclosing the whole text.
std::string strip_outer_parens(std::string_view text) {
  text = trim(text);
  auto toks = tokenize(text);
  if (toks.size() >= 2 && toks.front().is_punct('(') && toks.front().pos == 0 &&
      matching_paren(toks, 0) == toks.size() - 1 && toks.back().end() == text.size())
    return std::string(trim(text.substr(1, text.size() - 2)));
  return std::string(text);
}

// ---- Defaults ------------------------------------------------------------------

std::optional<Value> parse_number(std::string_view text) {
  std::string_view s = trim(text);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s = trim(s.substr(1));
  }
  if (s.empty()) return std::nullopt;
  std::int64_t i = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && p == s.data() + s.size()) return Value(negative ? -i : i);
  if (s.find_first_not_of("0123456789.eE+-") != std::string_view::npos) return std::nullopt;
  std::string copy(s);
  char* end = nullptr;
  double d = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return std::nullopt;
  return Value(negative ? -d : d);
}

bool is_integer_kind(TypeKind k) {
  return k == TypeKind::integer || k == TypeKind::bigint || k == TypeKind::smallint;
}

// keel's SQLite rendering of current_timestamp, compared without spaces, quotes' case
// or parentheses.
bool is_keel_now(std::string_view expr) {
  std::string squeezed;
  for (char ch : expr)
    if (!std::isspace(static_cast<unsigned char>(ch)) && ch != '(' && ch != ')') squeezed += ch;
  return lower(squeezed) == "strftime'%y-%m-%dt%h:%m:%f000z','now'";
}

// True for SQLite's own clock functions applied to 'now' (datetime('now'),
// strftime('…', 'now'), julianday('now')…): they exist on no other backend.
bool is_sqlite_clock(std::string_view expr) {
  auto toks = tokenize(expr);
  bool clock = false, now = false;
  for (std::size_t k = 0; k + 1 < toks.size(); ++k) {
    const Token& t = toks[k];
    if (toks[k + 1].is_punct('(') &&
        (t.is("strftime") || t.is("datetime") || t.is("date") || t.is("time") ||
         t.is("julianday") || t.is("unixepoch")))
      clock = true;
  }
  for (const auto& t : toks)
    if (t.kind == Token::string && iequals(unquote(t), "now")) now = true;
  return clock && now;
}

// Whether literal `v` is a value PostgreSQL accepts as a DEFAULT of a column of
// `type`; converts what SQLite's affinity would store as another type ('0' on an
// integer column is stored as 0). False: the default does not fit the column.
bool fit_literal(Value& v, const ColumnType& type) {
  const TypeKind k = type.kind;
  auto* text = std::get_if<std::string>(&v.storage());
  if (k == TypeKind::boolean) {
    if (v.type() == ValueType::boolean) return true;
    std::optional<Value> n = text ? parse_number(*text) : std::optional<Value>(v);
    if (text && (iequals(*text, "true") || iequals(*text, "false"))) {
      v = Value(iequals(*text, "true"));
      return true;
    }
    if (n && n->type() == ValueType::integer) {
      auto i = std::get<std::int64_t>(n->storage());
      if (i == 0 || i == 1) {
        v = Value(i == 1);
        return true;
      }
    }
    return false;
  }
  if (v.type() == ValueType::boolean) {
    if (is_integer_kind(k) || k == TypeKind::real) v = Value(std::get<bool>(v.storage()) ? 1 : 0);
    return k != TypeKind::blob && k != TypeKind::date && k != TypeKind::timestamp &&
           k != TypeKind::uuid && k != TypeKind::json;
  }
  if (is_integer_kind(k) || k == TypeKind::real) {
    if (!text) return true;
    auto n = parse_number(*text);
    if (!n) return false;
    v = *n;
    return true;
  }
  switch (k) {
    case TypeKind::numeric:
      return !text || parse_number(*text).has_value();
    case TypeKind::text:
    case TypeKind::string:
      return true;
    case TypeKind::blob:
      return text != nullptr;
    case TypeKind::date:
      return text && parse_date(*text).has_value();
    case TypeKind::timestamp:
      return text && parse_timestamp(*text).has_value();
    case TypeKind::json:
      return text && nlohmann::json::accept(*text);
    case TypeKind::uuid: {
      if (!text || text->size() != 36) return false;
      for (std::size_t i = 0; i < 36; ++i) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char ch = (*text)[i];
        if (dash ? ch != '-' : !std::isxdigit(static_cast<unsigned char>(ch))) return false;
      }
      return true;
    }
    default:
      return true;
  }
}

// The model's default for SQLite's dflt_value text (the default as written).
std::optional<schema::Default> parse_default(std::string_view written, const std::string& where,
                                             const ColumnType& type, schema::MetaData& meta) {
  std::string text = std::string(trim(written));
  if (text.empty() || iequals(text, "NULL")) return std::nullopt;
  schema::Default d;
  auto toks = tokenize(text);
  bool single = toks.size() == 1;
  if (single && (toks[0].kind == Token::string || (toks[0].kind == Token::ident &&
                                                   toks[0].text[0] == '"'))) {
    // In a DEFAULT, SQLite reads "x" as the string 'x' (there is no column to name).
    d.literal = Value(unquote(toks[0]));
  } else if (auto n = parse_number(text)) {
    d.literal = *n;
  } else if (iequals(text, "TRUE") || iequals(text, "FALSE")) {
    d.literal = Value(iequals(text, "TRUE"));
  } else if (iequals(text, "CURRENT_TIMESTAMP") || is_keel_now(text)) {
    if (type.kind == TypeKind::timestamp) {
      d.kind = schema::Default::Kind::current_timestamp;
      return d;
    }
    d.kind = schema::Default::Kind::expression;
    d.expression = "CURRENT_TIMESTAMP";
    if (!iequals(text, "CURRENT_TIMESTAMP"))
      meta.notes.push_back(
          fmt::format("{}: DEFAULT {} reflected as CURRENT_TIMESTAMP", where, text));
    return d;
  } else if (is_sqlite_clock(text)) {
    std::string expr = strip_outer_parens(text);
    if (type.kind == TypeKind::timestamp) {
      meta.notes.push_back(fmt::format(
          "{}: DEFAULT ({}) is SQLite-only; reflected as current_timestamp", where, expr));
      d.kind = schema::Default::Kind::current_timestamp;
      return d;
    }
    if (type.kind == TypeKind::date) {
      meta.notes.push_back(fmt::format(
          "{}: DEFAULT ({}) is SQLite-only; reflected as CURRENT_DATE", where, expr));
      d.kind = schema::Default::Kind::expression;
      d.expression = "CURRENT_DATE";
      return d;
    }
    meta.notes.push_back(
        fmt::format("{}: DEFAULT ({}) is SQLite-only; not reflected", where, expr));
    return std::nullopt;
  } else {
    d.kind = schema::Default::Kind::expression;
    d.expression = strip_outer_parens(text);
    return d;
  }
  if (!fit_literal(d.literal, type)) {
    meta.notes.push_back(fmt::format("{}: DEFAULT {} is not a valid {} value; not reflected", where,
                                     text, schema::to_string(type)));
    return std::nullopt;
  }
  return d;
}

// ---- Rows -------------------------------------------------------------------------

std::string text_of(const Row& row, std::string_view col) {
  return row.get<std::optional<std::string>>(col).value_or("");
}
std::int64_t int_of(const Row& row, std::string_view col) {
  return row.get<std::optional<std::int64_t>>(col).value_or(0);
}

schema::FkAction fk_action(std::string_view sql) {
  std::string s = upper(sql);
  if (s == "RESTRICT") return schema::FkAction::restrict;
  if (s == "CASCADE") return schema::FkAction::cascade;
  if (s == "SET NULL") return schema::FkAction::set_null;
  if (s == "SET DEFAULT") return schema::FkAction::set_default;
  return schema::FkAction::no_action;
}

std::string joined(const std::vector<std::string>& names) {
  return fmt::format("{}", fmt::join(names, "_"));
}

bool same_names(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!iequals(a[i], b[i])) return false;
  return true;
}

bool same_set(std::vector<std::string> a, std::vector<std::string> b) {
  for (auto& s : a) s = lower(s);
  for (auto& s : b) s = lower(s);
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

// Whether a column of type `a` may reference one of type `b` on PostgreSQL.
bool compatible(const ColumnType& a, const ColumnType& b) {
  auto family = [](TypeKind k) {
    if (is_integer_kind(k)) return TypeKind::bigint;
    if (k == TypeKind::string) return TypeKind::text;
    return k;
  };
  return family(a.kind) == family(b.kind);
}

struct RawIndex {
  std::string name;
  bool unique = false;
  std::string origin;
  bool partial = false;
};

// A table's or column's name fitted to 63 bytes, with a note when that changed it.
std::string fitted(const std::string& what, const std::string& name, schema::MetaData& meta) {
  std::string fit = fit_name(name);
  if (fit != name)
    meta.notes.push_back(fmt::format("{} {}: longer than PostgreSQL's 63-byte names; "
                                     "reflected as {}",
                                     what, name, fit));
  return fit;
}

// One table; `sql` is its CREATE TABLE statement. `names` receives its columns'
// names (SQLite's → the model's).
schema::Table reflect_table(Connection& conn, const std::string& name, const std::string& sql,
                            const std::map<std::string, std::string>& index_sql,
                            schema::MetaData& meta, Names& names) {
  schema::Table t;
  t.name = fitted("table", name, meta);
  const auto parsed = parse_create_table(sql);

  // Indexes first: whether the primary key has an index of its own tells a rowid
  // alias from a WITHOUT ROWID table's INTEGER PRIMARY KEY (and from INTEGER
  // PRIMARY KEY DESC, which SQLite also does not make an alias).
  std::vector<RawIndex> raw_indexes;
  for (const auto& row : conn.query("SELECT name, \"unique\", origin, partial "
                                    "FROM pragma_index_list(?) ORDER BY seq",
                                    {name})
                             .all())
    raw_indexes.push_back({text_of(row, "name"), int_of(row, "unique") != 0,
                           text_of(row, "origin"), int_of(row, "partial") != 0});
  bool pk_index = std::any_of(raw_indexes.begin(), raw_indexes.end(),
                              [](const RawIndex& ix) { return ix.origin == "pk"; });

  std::vector<std::pair<std::int64_t, std::string>> pk_columns;
  std::string pk_declared;
  for (const auto& row :
       conn.query("SELECT name, type, \"notnull\", dflt_value, pk, hidden "
                  "FROM pragma_table_xinfo(?) ORDER BY cid",
                  {name})
           .all()) {
    schema::Column c;
    const std::string sqlite_name = text_of(row, "name");
    c.name = sqlite_name;
    std::int64_t hidden = int_of(row, "hidden");
    if (hidden == 2 || hidden == 3) {
      meta.notes.push_back(fmt::format("column {}.{}: generated ({}) column not reflected", name,
                                       c.name, hidden == 2 ? "VIRTUAL" : "STORED"));
      continue;
    }
    if (hidden != 0) continue;
    c.name = fit_name(sqlite_name);
    if (c.name != sqlite_name)
      meta.notes.push_back(fmt::format("column {}.{}: longer than PostgreSQL's 63-byte names; "
                                       "reflected as {}",
                                       name, sqlite_name, c.name));
    names.emplace_back(sqlite_name, c.name);
    c.declared_type = text_of(row, "type");
    c.type = sqlite_portable_type(c.declared_type);
    c.nullable = int_of(row, "notnull") == 0;
    if (auto written = row.get<std::optional<std::string>>("dflt_value"))
      c.server_default = parse_default(*written, name + "." + sqlite_name, c.type, meta);
    if (std::int64_t pk = int_of(row, "pk"); pk > 0) {
      pk_columns.emplace_back(pk, c.name);
      pk_declared = c.declared_type;
      // A key column holds no NULL on PostgreSQL, nor in a rowid alias or a WITHOUT
      // ROWID table; SQLite's legacy NULLs in other keys are not modelled.
      c.nullable = false;
    }
    t.columns.push_back(std::move(c));
  }

  if (!pk_columns.empty()) {
    std::sort(pk_columns.begin(), pk_columns.end());
    schema::PrimaryKey pk;
    for (auto& [_, col] : pk_columns) pk.columns.push_back(col);
    for (const auto& pc : parsed)
      if (pc.kind == ParsedConstraint::primary_key && !pc.name.empty() &&
          same_names(model_names(names, pc.columns), pk.columns))
        pk.name = fit_name(pc.name);
    if (pk.name.empty()) pk.name = fit_name(t.name + "_pkey");
    if (pk.columns.size() == 1 && iequals(trim(pk_declared), "INTEGER") && !pk_index) {
      schema::Column* c = t.column(pk.columns[0]);
      c->type = ColumnType{TypeKind::bigint};
      c->autoincrement = true;
    }
    t.primary_key = std::move(pk);
  }

  // Foreign keys: one PRAGMA row per column, grouped by id, ordered by seq.
  std::map<std::int64_t, schema::ForeignKey> fks;
  std::map<std::int64_t, std::vector<std::string>> fk_to;
  for (const auto& row : conn.query("SELECT id, seq, \"table\", \"from\", \"to\", on_update, "
                                    "on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq",
                                    {name})
                             .all()) {
    std::int64_t id = int_of(row, "id");
    auto& fk = fks[id];
    fk.ref_table = text_of(row, "table");
    fk.columns.push_back(model_name(names, text_of(row, "from")));
    fk_to[id].push_back(text_of(row, "to"));
    fk.on_update = fk_action(text_of(row, "on_update"));
    fk.on_delete = fk_action(text_of(row, "on_delete"));
  }
  // SQLite numbers FKs from the last declared; read them in declaration order.
  for (auto it = fks.rbegin(); it != fks.rend(); ++it) {
    schema::ForeignKey fk = std::move(it->second);
    const auto& to = fk_to[it->first];
    // "REFERENCES parent" without columns means the parent's primary key; the
    // PRAGMA leaves `to` empty then and it is resolved once every table is read.
    if (std::none_of(to.begin(), to.end(), [](const std::string& s) { return s.empty(); }))
      fk.ref_columns = to;
    for (const auto& pc : parsed)
      if (pc.kind == ParsedConstraint::foreign_key && !pc.name.empty() &&
          same_names(model_names(names, pc.columns), fk.columns))
        fk.name = fit_name(pc.name);
    if (fk.name.empty()) fk.name = fit_name(t.name + "_" + joined(fk.columns) + "_fkey");
    t.foreign_keys.push_back(std::move(fk));
  }

  // Indexes: UNIQUE constraints (origin u) are constraints, CREATE INDEX (origin c)
  // indexes, the primary key's (origin pk) nothing of their own.
  for (const auto& ix : raw_indexes) {
    if (ix.origin == "pk") continue;
    std::vector<std::string> columns;
    bool expression = false;
    for (const auto& row : conn.query("SELECT cid, name FROM pragma_index_xinfo(?) "
                                      "WHERE key = 1 ORDER BY seqno",
                                      {ix.name})
                               .all()) {
      if (int_of(row, "cid") == -2) expression = true;
      columns.push_back(
          model_name(names, row.get<std::optional<std::string>>("name").value_or("rowid")));
    }
    if (expression) {
      meta.notes.push_back(
          fmt::format("index {} on {}: an expression index; not reflected", ix.name, name));
      continue;
    }
    if (ix.origin == "u") {
      schema::UniqueConstraint u;
      u.columns = columns;
      for (const auto& pc : parsed)
        if (pc.kind == ParsedConstraint::unique && !pc.name.empty() &&
            same_names(model_names(names, pc.columns), columns))
          u.name = fit_name(pc.name);
      if (u.name.empty()) u.name = fit_name(t.name + "_" + joined(columns) + "_key");
      t.uniques.push_back(std::move(u));
      continue;
    }
    schema::Index index;
    index.name = fit_name(ix.name);
    index.columns = columns;
    index.unique = ix.unique;
    if (ix.partial) {
      auto it = index_sql.find(ix.name);
      if (it != index_sql.end())
        index.where = portable_expression(index_where(it->second), names);
    }
    t.indexes.push_back(std::move(index));
  }

  // CHECK constraints exist only in the statement. keel's types imply some on
  // SQLite (boolean, json); those belong to the type, not to the user.
  std::set<std::string> check_names;
  for (const auto& pc : parsed) {
    if (pc.kind != ParsedConstraint::check) continue;
    if (!pc.name.empty()) {
      bool implied = false;
      for (const auto& c : t.columns) {
        // Fitted on both sides: a database from before names were fitted has them whole.
        std::string prefix = t.name + "_" + c.name;
        std::string fit = fit_name(pc.name);
        if ((c.type.kind == TypeKind::boolean && fit == fit_name(prefix + "_bool")) ||
            (c.type.kind == TypeKind::json && fit == fit_name(prefix + "_json")))
          implied = true;
      }
      if (implied) continue;
    }
    schema::CheckConstraint check;
    check.expression = portable_expression(pc.expression, names);
    check.name = fit_name(pc.name);
    if (check.name.empty()) {
      // PostgreSQL's names for unnamed checks: <table>_<column>_check when the
      // expression uses one column, <table>_check otherwise, numbered when taken.
      std::set<std::string> used;
      for (const auto& tok : tokenize(pc.expression))
        if (tok.kind == Token::word || tok.kind == Token::ident)
          for (const auto& [from, to] : names)
            if (iequals(from, unquote(tok))) used.insert(to);
      std::string base = used.size() == 1 ? t.name + "_" + *used.begin() + "_check"
                                          : t.name + "_check";
      check.name = fit_name(base);
      for (int n = 1; check_names.count(check.name); ++n)
        check.name = fit_name(base + std::to_string(n));
    }
    check_names.insert(check.name);
    t.checks.push_back(std::move(check));
  }
  return t;
}

// Drops what PostgreSQL would refuse in an FK and SQLite could never enforce
// (a missing table or column, a target that is not a key, incompatible types),
// each with a note; fills the target columns of "REFERENCES parent".
// `aliases`: each table's SQLite name (lower case) → its model name and column names.
void check_foreign_keys(schema::MetaData& meta,
                        const std::map<std::string, std::pair<std::string, Names>>& aliases) {
  for (auto& t : meta.tables) {
    std::vector<schema::ForeignKey> kept;
    for (auto& fk : t.foreign_keys) {
      auto drop = [&](std::string_view why) {
        meta.notes.push_back(fmt::format("foreign key {} of {} ({}) → {}: {}; not reflected",
                                         fk.name, t.name, fmt::join(fk.columns, ", "),
                                         fk.ref_table, why));
      };
      auto alias = aliases.find(lower(fk.ref_table));
      const schema::Table* parent =
          alias == aliases.end() ? nullptr : meta.table(alias->second.first);
      if (!parent) {
        drop("no such table");
        continue;
      }
      fk.ref_table = parent->name;
      fk.ref_columns = model_names(alias->second.second, fk.ref_columns);
      if (fk.ref_columns.empty() && parent->primary_key)
        fk.ref_columns = parent->primary_key->columns;
      if (fk.ref_columns.size() != fk.columns.size()) {
        drop("the referenced columns do not match");
        continue;
      }
      bool types_ok = true, columns_ok = true;
      for (std::size_t i = 0; i < fk.columns.size(); ++i) {
        const schema::Column* from = nullptr;
        const schema::Column* to = nullptr;
        for (const auto& c : t.columns)
          if (iequals(c.name, fk.columns[i])) from = &c;
        for (const auto& c : parent->columns)
          if (iequals(c.name, fk.ref_columns[i])) to = &c;
        if (!from || !to) {
          columns_ok = false;
          break;
        }
        fk.columns[i] = from->name;
        fk.ref_columns[i] = to->name;
        if (!compatible(from->type, to->type)) types_ok = false;
      }
      if (!columns_ok) {
        drop("no such column");
        continue;
      }
      bool keyed = parent->primary_key && same_set(parent->primary_key->columns, fk.ref_columns);
      for (const auto& u : parent->uniques) keyed = keyed || same_set(u.columns, fk.ref_columns);
      for (const auto& ix : parent->indexes)
        keyed = keyed || (ix.unique && ix.where.empty() && same_set(ix.columns, fk.ref_columns));
      if (!keyed) {
        drop("the referenced columns are not a primary key or unique");
        continue;
      }
      if (!types_ok) {
        drop("the column types differ");
        continue;
      }
      kept.push_back(std::move(fk));
    }
    t.foreign_keys = std::move(kept);
  }
}

}  // namespace

ColumnType sqlite_portable_type(std::string_view declared) {
  const std::string full = upper(trim(declared));
  // The name without its "(…)" arguments, spaces squeezed; and the numbers in them.
  std::string base;
  std::vector<int> args;
  {
    std::size_t open = full.find('(');
    std::string_view head = std::string_view(full).substr(0, open);
    bool space = false;
    for (char ch : trim(head)) {
      if (std::isspace(static_cast<unsigned char>(ch))) {
        space = true;
        continue;
      }
      if (space && !base.empty()) base += ' ';
      space = false;
      base += ch;
    }
    if (open != std::string::npos) {
      std::string_view rest = std::string_view(full).substr(open + 1);
      rest = rest.substr(0, rest.find(')'));
      std::size_t i = 0;
      while (i <= rest.size()) {
        std::size_t comma = rest.find(',', i);
        std::string_view part = trim(rest.substr(i, comma == std::string_view::npos
                                                        ? std::string_view::npos
                                                        : comma - i));
        int v = 0;
        auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
        if (ec != std::errc() || p != part.data() + part.size()) {
          args.clear();
          break;
        }
        args.push_back(v);
        if (comma == std::string_view::npos) break;
        i = comma + 1;
      }
    }
  }
  auto numeric = [&]() {
    ColumnType t{TypeKind::numeric};
    if (!args.empty() && args[0] >= 1 && args[0] <= 1000) {
      t.precision = args[0];
      t.scale = args.size() > 1 ? args[1] : 0;
      if (t.scale < 0 || t.scale > t.precision) t = ColumnType{TypeKind::numeric};
    }
    return t;
  };
  auto has = [&](std::string_view s) { return full.find(s) != std::string::npos; };

  // keel's own names first (DECIMAL TEXT would otherwise be text by affinity).
  if (base == "DECIMAL TEXT") return numeric();
  if (base == "DATE TEXT") return {TypeKind::date};
  if (base == "TIMESTAMP TEXT") return {TypeKind::timestamp};
  if (base == "JSON TEXT") return {TypeKind::json};
  if (base == "UUID TEXT") return {TypeKind::uuid};
  if (base == "BOOLEAN") return {TypeKind::boolean};

  // SQLite's affinity rules (https://sqlite.org/datatype3.html §3.1), in its order.
  if (has("INT")) {
    if (has("BIGINT") || has("INT8") || has("UNSIGNED BIG INT")) return {TypeKind::bigint};
    if (has("SMALLINT") || has("INT2") || has("TINYINT") || has("MEDIUMINT"))
      return {TypeKind::smallint};
    if (base == "INTEGER" || base == "INT") return {TypeKind::integer};
    return {TypeKind::bigint};
  }
  if (has("CHAR") || has("CLOB") || has("TEXT")) {
    if (has("CHAR") && args.size() == 1 && args[0] > 0 && args[0] <= 10485760)
      return {TypeKind::string, args[0]};
    return {TypeKind::text};
  }
  if (has("BLOB") || full.empty()) return {TypeKind::blob};
  if (has("REAL") || has("FLOA") || has("DOUB")) return {TypeKind::real};
  if (base == "BOOL") return {TypeKind::boolean};
  if (base == "DATE") return {TypeKind::date};
  if (base == "DATETIME" || base.starts_with("TIMESTAMP")) return {TypeKind::timestamp};
  if (base == "DECIMAL" || base == "NUMERIC") return numeric();
  if (base == "JSON" || base == "JSONB") return {TypeKind::json};
  if (base == "UUID") return {TypeKind::uuid};
  // MySQL's types in schemas ported to SQLite (Sakila's `rating ENUM`): NUMERIC
  // affinity keeps the labels as text ('PG', 'NC-17'), so numeric would refuse them.
  if (base == "ENUM") return {TypeKind::text};
  if (base == "YEAR") return {TypeKind::integer};
  return {TypeKind::numeric};
}

schema::MetaData reflect_sqlite(Connection& conn) {
  schema::MetaData meta;
  struct Object {
    std::string type, name, tbl_name, sql;
  };
  std::vector<Object> objects;
  for (const auto& row :
       conn.query("SELECT type, name, tbl_name, sql FROM main.sqlite_schema ORDER BY rowid").all())
    objects.push_back({text_of(row, "type"), text_of(row, "name"), text_of(row, "tbl_name"),
                       text_of(row, "sql")});
  // Shadow tables of virtual tables (FTS5's t_data…) are the virtual table's business.
  std::set<std::string> shadow;
  for (const auto& row :
       conn.query("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'")
           .all())
    shadow.insert(text_of(row, "name"));

  auto internal = [](const std::string& n) {
    return lower(n).starts_with("sqlite_") || lower(n).starts_with("keel_");
  };
  std::map<std::string, std::string> index_sql;
  std::map<std::string, std::pair<std::string, Names>> aliases;
  for (const auto& o : objects)
    if (o.type == "index" && !o.sql.empty()) index_sql[o.name] = o.sql;

  for (const auto& o : objects) {
    if (internal(o.type == "table" ? o.name : o.tbl_name)) continue;
    if (o.type == "view") {
      meta.notes.push_back(fmt::format("view {}: views are not reflected", o.name));
    } else if (o.type == "trigger") {
      meta.notes.push_back(
          fmt::format("trigger {} on {}: triggers are not reflected", o.name, o.tbl_name));
    } else if (o.type == "table") {
      auto toks = tokenize(o.sql);
      if (toks.size() > 1 && toks[1].is("VIRTUAL")) {
        meta.notes.push_back(
            fmt::format("virtual table {}: virtual tables are not reflected", o.name));
      } else if (shadow.count(o.name)) {
        continue;
      } else {
        Names names;
        meta.tables.push_back(reflect_table(conn, o.name, o.sql, index_sql, meta, names));
        aliases[lower(o.name)] = {meta.tables.back().name, std::move(names)};
      }
    }
  }
  check_foreign_keys(meta, aliases);

  // Sorted by name, as PostgreSQL reflects them, so both backends agree.
  std::sort(meta.tables.begin(), meta.tables.end(),
            [](const schema::Table& a, const schema::Table& b) { return a.name < b.name; });
  for (auto& t : meta.tables) {
    auto by_name = [](const auto& a, const auto& b) { return a.name < b.name; };
    std::sort(t.foreign_keys.begin(), t.foreign_keys.end(), by_name);
    std::sort(t.uniques.begin(), t.uniques.end(), by_name);
    std::sort(t.checks.begin(), t.checks.end(), by_name);
    std::sort(t.indexes.begin(), t.indexes.end(), by_name);
  }
  return meta;
}

}  // namespace keel::dialect
