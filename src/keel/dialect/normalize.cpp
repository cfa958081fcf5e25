// Normalisation: a model rewritten into what a backend stores and reflects.
//
// Both sides of a diff go through here, so every rule must be idempotent and
// must map a hand-written model and its reflection to the same thing. The rules
// are the losses and rewrites the backends are known for:
//  - SQLite makes a single-column INTEGER primary key the 64-bit rowid, so an
//    autoincrement integer is a bigint there;
//  - a primary key column never holds NULL, whatever its declaration says;
//  - defaults come back in the backend's words (1 for true on SQLite, '-1'::integer
//    on PostgreSQL, jsonb's re-spaced text, timestamptz in the server's format), so
//    literals are canonicalised by the column's type;
//  - PostgreSQL rewrites expressions (casts, parentheses, != as <>, IN as = ANY
//    (ARRAY[…])), so expressions are compared in a canonical text.
#include "dialect/normalize.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "keel/value.hpp"

namespace keel::dialect {
namespace {

using schema::ColumnType;
using schema::Default;
using schema::TypeKind;

bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}

bool is_operator_char(char c) {
  return std::string_view("+-*/<>=~!@#%^&|`?").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Token {
  enum class Kind { word, literal, punct };
  Kind kind;
  std::string text;
};

// The content of a '…' literal token, quotes removed and '' undoubled.
std::string unquote(std::string_view literal) {
  std::string out;
  for (std::size_t i = 1; i + 1 < literal.size(); ++i) {
    out += literal[i];
    if (literal[i] == '\'' && i + 2 < literal.size() && literal[i + 1] == '\'') ++i;
  }
  return out;
}

bool is_number(std::string_view s) {
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  if (s.empty()) return false;
  bool digit = false, dot = false;
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digit = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  return digit;
}

// Type words that continue a multi-word type name after `::`.
bool continues_type(std::string_view word) {
  for (std::string_view w : {"varying", "precision", "with", "without", "time", "zone"})
    if (word == w) return true;
  return false;
}

bool is_numeric_type(std::string_view type) {
  for (std::string_view t : {"integer", "int", "int2", "int4", "int8", "bigint", "smallint",
                             "numeric", "decimal", "real", "float4", "float8", "double precision"})
    if (type == t) return true;
  return false;
}

class Lexer {
 public:
  explicit Lexer(std::string_view sql) : s_(sql) {}

  std::vector<Token> tokens() {
    std::vector<Token> out;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++pos_;
      } else if (c == '-' && peek(1) == '-') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else if (c == '/' && peek(1) == '*') {
        std::size_t end = s_.find("*/", pos_ + 2);
        pos_ = end == std::string_view::npos ? s_.size() : end + 2;
      } else if (c == '\'') {
        out.push_back({Token::Kind::literal, std::string(literal())});
      } else if (c == '"' || c == '`' || c == '[') {
        // A quoted identifier compares by its name: PostgreSQL quotes only where
        // needed, authors quote freely. SQLite also takes `x` and [x]; a '[' after
        // ARRAY is a subscript, handled as punctuation below.
        if (c == '[' && !out.empty() && out.back().kind == Token::Kind::word &&
            out.back().text == "array") {
          out.push_back({Token::Kind::punct, "["});
          ++pos_;
        } else {
          out.push_back({Token::Kind::word, lower(quoted(c == '[' ? ']' : c))});
        }
      } else if (c == ':' && peek(1) == ':') {
        pos_ += 2;
        std::string type = cast_type();
        // '-1'::integer is how PostgreSQL writes a negative constant: the number.
        if (!out.empty() && out.back().kind == Token::Kind::literal && is_numeric_type(type)) {
          std::string content = unquote(out.back().text);
          if (is_number(content)) {
            // As the sign and the number would have been lexed unquoted.
            out.pop_back();
            if (content.front() == '-' || content.front() == '+') {
              out.push_back({Token::Kind::punct, content.substr(0, 1)});
              content.erase(0, 1);
            }
            out.push_back({Token::Kind::word, content});
          }
        }
      } else if (c == '(' || c == ')') {
        ++pos_;
      } else if (is_word_char(c)) {
        std::size_t start = pos_;
        while (pos_ < s_.size() &&
               (is_word_char(s_[pos_]) ||
                (s_[pos_] == '.' && std::isdigit(static_cast<unsigned char>(s_[start])))))
          ++pos_;
        out.push_back({Token::Kind::word, lower(s_.substr(start, pos_ - start))});
      } else if (is_operator_char(c)) {
        std::size_t start = pos_;
        while (pos_ < s_.size() && is_operator_char(s_[pos_])) ++pos_;
        std::string op(s_.substr(start, pos_ - start));
        // PostgreSQL's spellings of the standard operators.
        if (op == "!=") op = "<>";
        if (op == "==") op = "=";
        if (op == "~~") {
          out.push_back({Token::Kind::word, "like"});
        } else if (op == "~~*") {
          out.push_back({Token::Kind::word, "ilike"});
        } else if (op == "!~~" || op == "!~~*") {
          out.push_back({Token::Kind::word, "not"});
          out.push_back({Token::Kind::word, op == "!~~" ? "like" : "ilike"});
        } else {
          out.push_back({Token::Kind::punct, op});
        }
      } else {
        out.push_back({Token::Kind::punct, std::string(1, c)});
        ++pos_;
      }
    }
    return out;
  }

 private:
  char peek(std::size_t ahead) const { return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : '\0'; }

  // A '…' literal as written, quotes included; an unterminated one runs to the end.
  std::string_view literal() {
    std::size_t start = pos_++;
    while (pos_ < s_.size()) {
      if (s_[pos_] == '\'') {
        if (peek(1) == '\'') {
          pos_ += 2;
          continue;
        }
        ++pos_;
        break;
      }
      ++pos_;
    }
    return s_.substr(start, pos_ - start);
  }

  std::string quoted(char close) {
    std::string name;
    ++pos_;
    while (pos_ < s_.size()) {
      if (s_[pos_] == close) {
        if (peek(1) == close && close != ']') {
          name += close;
          pos_ += 2;
          continue;
        }
        ++pos_;
        break;
      }
      name += s_[pos_++];
    }
    return name;
  }

  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }

  std::string word() {
    std::size_t start = pos_;
    while (pos_ < s_.size() && is_word_char(s_[pos_])) ++pos_;
    return lower(s_.substr(start, pos_ - start));
  }

  // Consumes the type of a `::type` cast: possibly several words ("timestamp with
  // time zone"), a modifier ("(10,2)") and array brackets. Returns the words.
  std::string cast_type() {
    skip_space();
    std::string type = pos_ < s_.size() && s_[pos_] == '"' ? lower(quoted('"')) : word();
    while (true) {
      std::size_t save = pos_;
      skip_space();
      std::string next = word();
      if (next.empty() || !continues_type(next)) {
        pos_ = save;
        break;
      }
      type += " " + next;
    }
    std::size_t save = pos_;
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == '(') {
      std::size_t close = s_.find(')', pos_);
      pos_ = close == std::string_view::npos ? s_.size() : close + 1;
      // "timestamp(3) with time zone": words may follow the modifier.
      while (true) {
        std::size_t before = pos_;
        skip_space();
        std::string next = word();
        if (next.empty() || !continues_type(next)) {
          pos_ = before;
          break;
        }
        type += " " + next;
      }
    } else {
      pos_ = save;
    }
    while (pos_ + 1 < s_.size() && s_[pos_] == '[' && s_[pos_ + 1] == ']') pos_ += 2;
    return type;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

// PostgreSQL stores `x IN (a, b)` as `x = ANY (ARRAY[a, b])` and `x NOT IN (…)` as
// `x <> ALL (ARRAY[…])`: turned back into the form people write.
std::vector<Token> unrewrite_any(std::vector<Token> in) {
  std::vector<Token> out;
  std::vector<bool> rewritten;  // per open '[': whether it was a rewritten ARRAY[
  for (std::size_t i = 0; i < in.size(); ++i) {
    const Token& t = in[i];
    bool any = t.kind == Token::Kind::punct && (t.text == "=" || t.text == "<>") &&
               i + 3 < in.size() && in[i + 1].text == (t.text == "=" ? "any" : "all") &&
               in[i + 2].text == "array" && in[i + 3].text == "[";
    if (any) {
      if (t.text == "<>") out.push_back({Token::Kind::word, "not"});
      out.push_back({Token::Kind::word, "in"});
      rewritten.push_back(true);
      i += 3;
      continue;
    }
    if (t.kind == Token::Kind::punct && t.text == "[") rewritten.push_back(false);
    if (t.kind == Token::Kind::punct && t.text == "]" && !rewritten.empty()) {
      bool drop = rewritten.back();
      rewritten.pop_back();
      if (drop) continue;
    }
    out.push_back(t);
  }
  return out;
}

std::string canonical_uuid(std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (c == '-' || c == '{' || c == '}') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::string(text);
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 32) return std::string(text);
  return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4),
                     hex.substr(16, 4), hex.substr(20));
}

// 0012.50 and 12.5 are one number: PostgreSQL prints a numeric default as it
// stores it, SQLite keeps the text as written.
std::string canonical_decimal(const std::string& text) {
  if (!is_number(text)) return text;
  std::string_view s = text;
  bool negative = s.front() == '-';
  if (s.front() == '-' || s.front() == '+') s.remove_prefix(1);
  std::size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  while (!whole.empty() && whole.front() == '0') whole.remove_prefix(1);
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  std::string out = whole.empty() ? "0" : std::string(whole);
  if (!fraction.empty()) out += "." + std::string(fraction);
  if (negative && out != "0") out = "-" + out;
  return out;
}

std::string canonical_json(const std::string& text) {
  // jsonb keeps neither the spacing nor the key order nor duplicate keys of what
  // was written; a parsed-and-printed document compares what it means.
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return doc.is_discarded() ? text : doc.dump();
}

bool is_integer_kind(TypeKind k) {
  return k == TypeKind::integer || k == TypeKind::bigint || k == TypeKind::smallint;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// A literal as text, the way rendering writes a literal into a text-typed column.
std::string literal_text(const Value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return {};
        else if constexpr (std::is_same_v<T, std::int64_t>)
          return std::to_string(x);
        else if constexpr (std::is_same_v<T, double>)
          return fmt::format("{}", x);
        else if constexpr (std::is_same_v<T, std::string>)
          return x;
        else if constexpr (std::is_same_v<T, bool>)
          return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, Date>)
          return format_date(x);
        else if constexpr (std::is_same_v<T, Timestamp>)
          return format_timestamp(x);
        else if constexpr (std::is_same_v<T, Json> || std::is_same_v<T, Decimal>)
          return x.text;
        else
          return Value(x).to_display();
      },
      v.storage());
}

// The literal `v` as a column of type `type` holds it.
Value canonical_literal(const Value& v, const ColumnType& type) {
  const auto& s = v.storage();
  if (is_integer_kind(type.kind)) {
    if (auto* b = std::get_if<bool>(&s)) return Value(static_cast<std::int64_t>(*b));
    if (auto* d = std::get_if<double>(&s); d && std::trunc(*d) == *d && std::abs(*d) < 9.0e18)
      return Value(static_cast<std::int64_t>(*d));
    if (auto* t = std::get_if<std::string>(&s))
      if (auto i = parse_int(*t)) return Value(*i);
    return v;
  }
  if (type.kind == TypeKind::real) {
    if (auto* i = std::get_if<std::int64_t>(&s)) return Value(static_cast<double>(*i));
    if (auto* t = std::get_if<std::string>(&s))
      if (auto d = parse_double(*t)) return Value(*d);
    return v;
  }
  if (type.kind == TypeKind::boolean) {
    if (auto* i = std::get_if<std::int64_t>(&s); i && (*i == 0 || *i == 1)) return Value(*i == 1);
    if (auto* t = std::get_if<std::string>(&s)) {
      std::string w = lower(*t);
      if (w == "true" || w == "t" || w == "1" || w == "yes" || w == "on") return Value(true);
      if (w == "false" || w == "f" || w == "0" || w == "no" || w == "off") return Value(false);
    }
    return v;
  }
  std::string text = literal_text(v);
  switch (type.kind) {
    case TypeKind::numeric:
      text = canonical_decimal(text);
      break;
    case TypeKind::date:
      if (auto d = parse_date(text)) text = format_date(*d);
      break;
    case TypeKind::timestamp:
      if (auto t = parse_timestamp(text)) text = format_timestamp(*t);
      break;
    case TypeKind::json:
      text = canonical_json(text);
      break;
    case TypeKind::uuid:
      text = canonical_uuid(text);
      break;
    default:
      break;
  }
  return Value(std::move(text));
}

bool is_now(std::string_view expr) {
  // SQLite's strftime form is what keel renders; the rest are what people write.
  return expr == "current_timestamp" || expr == "now" || expr == "localtimestamp" ||
         expr == "transaction_timestamp" || expr == "strftime'%Y-%m-%dT%H:%M:%f000Z','now'" ||
         expr == "strftime'%Y-%m-%dT%H:%M:%fZ','now'";
}

void normalize_default(schema::Column& c, Backend b) {
  if (!c.server_default) return;
  Default& d = *c.server_default;
  if (d.kind == Default::Kind::expression) {
    std::string e = normalize_expression(d.expression, b);
    auto tokens = Lexer(d.expression).tokens();
    if (e.empty() || e == "null") {
      c.server_default.reset();
      return;
    }
    if (is_now(e)) {
      d = Default{Default::Kind::current_timestamp, Value(), {}};
    } else if (tokens.size() == 1 && tokens[0].kind == Token::Kind::literal) {
      d = Default{Default::Kind::literal, Value(unquote(tokens[0].text)), {}};
    } else if (is_number(e) && (parse_int(e) || parse_double(e))) {
      auto i = parse_int(e);
      d = Default{Default::Kind::literal, i ? Value(*i) : Value(*parse_double(e)), {}};
    } else if (e == "true" || e == "false") {
      d = Default{Default::Kind::literal, Value(e == "true"), {}};
    } else {
      d.expression = e;
      d.literal = Value();
      return;
    }
  }
  if (d.kind == Default::Kind::current_timestamp) {
    d.literal = Value();
    d.expression.clear();
    return;
  }
  if (d.literal.is_null()) {
    c.server_default.reset();
    return;
  }
  d.expression.clear();
  d.literal = canonical_literal(d.literal, c.type);
}

}  // namespace

std::string normalize_expression(std::string_view sql, Backend) {
  // The same rules for both backends: either may have stored what the other wrote.
  std::vector<Token> tokens = unrewrite_any(Lexer(sql).tokens());
  std::string out;
  bool prev_word = false;
  for (const Token& t : tokens) {
    bool word = t.kind == Token::Kind::word;
    if (word && prev_word) out += ' ';
    out += t.text;
    prev_word = word;
  }
  return out;
}

void normalize(schema::MetaData& meta, Backend b) {
  for (schema::Table& t : meta.tables) {
    for (schema::Column& c : t.columns) {
      if (c.type.kind == TypeKind::string && c.type.length <= 0) c.type = {TypeKind::text};
      if (c.type.kind != TypeKind::string) c.type.length = 0;
      if (c.type.kind != TypeKind::numeric) c.type.precision = c.type.scale = 0;
      if (c.type.kind == TypeKind::numeric && c.type.precision <= 0) c.type.scale = 0;
      if (c.autoincrement) {
        c.nullable = false;
        // An autoincrement key has the sequence (identity, rowid) as its default.
        c.server_default.reset();
        // The rowid is 64 bits whatever the declaration said.
        if (b == Backend::sqlite && c.type.kind == TypeKind::integer)
          c.type.kind = TypeKind::bigint;
      }
      normalize_default(c, b);
    }
    if (t.primary_key) {
      for (const std::string& name : t.primary_key->columns)
        if (schema::Column* c = t.column(name)) c->nullable = false;
    }
    for (schema::CheckConstraint& check : t.checks)
      check.expression = normalize_expression(check.expression, b);
    for (schema::Index& index : t.indexes) index.where = normalize_expression(index.where, b);
  }
  // A foreign key without target columns references the primary key.
  for (schema::Table& t : meta.tables) {
    for (schema::ForeignKey& fk : t.foreign_keys) {
      if (!fk.ref_columns.empty()) continue;
      if (const schema::Table* target = meta.table(fk.ref_table);
          target != nullptr && target->primary_key)
        fk.ref_columns = target->primary_key->columns;
    }
  }
}

}  // namespace keel::dialect
