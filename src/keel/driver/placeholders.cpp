// The placeholder lexer. It is deliberately a scanner, not a parser: it only has to
// know where PostgreSQL's literals, quoted identifiers and comments begin and end,
// which the server's scan.l defines exactly. Everything outside them is copied
// byte for byte except the placeholders.
#include "driver/placeholders.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <unordered_map>

#include "keel/error.hpp"

namespace keel::driver {

namespace {

bool is_ident_start(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
// PostgreSQL identifiers may contain '$' after their first character.
bool is_ident_char(unsigned char c) { return is_ident_start(c) || is_digit(c) || c == '$'; }
// Placeholder names are plain ASCII, unlike PostgreSQL identifiers.
bool is_name_start(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(unsigned char c) { return is_name_start(c) || is_digit(c); }

const char* style_name(Placeholders::Style style) {
  switch (style) {
    case Placeholders::Style::positional: return "?";
    case Placeholders::Style::named: return ":name";
    case Placeholders::Style::dollar: return "$n";
    case Placeholders::Style::none: break;
  }
  return "no";
}

class Lexer {
 public:
  explicit Lexer(std::string_view sql) : in_(sql) { out_.sql.reserve(sql.size() + 8); }

  Placeholders run() {
    while (i_ < in_.size()) step();
    return std::move(out_);
  }

 private:
  unsigned char at(std::size_t k) const {
    return k < in_.size() ? static_cast<unsigned char>(in_[k]) : 0;
  }
  void copy(std::size_t end) {
    end = std::min(end, in_.size());
    out_.sql.append(in_.substr(i_, end - i_));
    i_ = end;
  }
  void use_style(Placeholders::Style style) {
    if (out_.style != Placeholders::Style::none && out_.style != style) {
      throw UsageError(fmt::format(
          "SQL mixes {} and {} placeholders (at byte {}): use one style per statement: {}",
          style_name(out_.style), style_name(style), i_, sql_excerpt(in_)));
    }
    out_.style = style;
  }

  void step() {
    unsigned char c = at(i_);
    if (c == ';') {
      semicolon_ = true;
    } else if (semicolon_ && !(c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
                               (c == '-' && at(i_ + 1) == '-') ||
                               (c == '/' && at(i_ + 1) == '*'))) {
      out_.several_statements = true;
    }
    if (c == '\'') return quoted('\'', false);
    if (c == '"') return quoted('"', false);
    if (c == '-' && at(i_ + 1) == '-') return copy(in_.find('\n', i_));
    if (c == '/' && at(i_ + 1) == '*') return block_comment();
    if (is_ident_start(c)) return word();
    if (is_digit(c)) return number();
    if (c == '$') return dollar();
    if (c == '?') return question();
    if (c == ':') return colon();
    copy(i_ + 1);
    glued_ = false;
  }

  // '…' with '' inside; E'…' also takes backslash escapes. "…" with "".
  void quoted(char quote, bool backslashes) {
    std::size_t k = i_ + 1;
    while (k < in_.size()) {
      char c = in_[k];
      if (backslashes && c == '\\') {
        k += 2;
      } else if (c == quote) {
        if (at(k + 1) == static_cast<unsigned char>(quote)) {
          k += 2;
        } else {
          ++k;
          break;
        }
      } else {
        ++k;
      }
    }
    copy(k);
    glued_ = false;
  }

  // /* … */ nests in PostgreSQL, unlike the SQL standard.
  void block_comment() {
    std::size_t k = i_ + 2;
    int depth = 1;
    while (k < in_.size() && depth > 0) {
      if (in_[k] == '/' && at(k + 1) == '*') {
        ++depth;
        k += 2;
      } else if (in_[k] == '*' && at(k + 1) == '/') {
        --depth;
        k += 2;
      } else {
        ++k;
      }
    }
    copy(k);
    glued_ = false;
  }

  void word() {
    std::size_t k = i_ + 1;
    while (k < in_.size() && is_ident_char(at(k))) ++k;
    // E'…' is an escape string only when the E stands alone.
    if (k == i_ + 1 && (in_[i_] == 'E' || in_[i_] == 'e') && at(k) == '\'') {
      copy(k);
      return quoted('\'', true);
    }
    copy(k);
    glued_ = true;
  }

  void number() {
    std::size_t k = i_ + 1;
    while (k < in_.size() && (is_digit(at(k)) || at(k) == '.' || at(k) == '_')) ++k;
    copy(k);
    glued_ = true;
  }

  // $n, $tag$…$tag$, or a lone '$' (an identifier's '$' never gets here: word()
  // takes it).
  void dollar() {
    if (is_digit(at(i_ + 1))) {
      std::size_t k = i_ + 1;
      std::size_t n = 0;
      while (k < in_.size() && is_digit(at(k))) n = n * 10 + (at(k++) - '0');
      use_style(Placeholders::Style::dollar);
      out_.count = std::max(out_.count, n);
      copy(k);
      glued_ = true;
      return;
    }
    std::size_t k = i_ + 1;
    if (is_ident_start(at(k))) {
      ++k;
      while (k < in_.size() && is_ident_char(at(k)) && at(k) != '$') ++k;
    }
    if (at(k) != '$') {
      copy(i_ + 1);
      glued_ = false;
      return;
    }
    std::string_view tag = in_.substr(i_, k + 1 - i_);
    std::size_t close = in_.find(tag, k + 1);
    copy(close == std::string_view::npos ? in_.size() : close + tag.size());
    glued_ = false;
  }

  void question() {
    if (at(i_ + 1) == '?') {
      out_.sql += '?';
      i_ += 2;
      glued_ = false;
      return;
    }
    use_style(Placeholders::Style::positional);
    fmt::format_to(std::back_inserter(out_.sql), "${}", ++out_.count);
    ++i_;
    glued_ = true;
  }

  void colon() {
    unsigned char next = at(i_ + 1);
    if (next == ':' || next == '=') {
      copy(i_ + 2);
      glued_ = false;
      return;
    }
    if (glued_ || !is_name_start(next)) {
      copy(i_ + 1);
      glued_ = false;
      return;
    }
    std::size_t k = i_ + 1;
    while (k < in_.size() && is_name_char(at(k))) ++k;
    std::string name(in_.substr(i_ + 1, k - i_ - 1));
    use_style(Placeholders::Style::named);
    auto [it, added] = index_.try_emplace(name, out_.names.size() + 1);
    if (added) out_.names.push_back(name);
    out_.count = out_.names.size();
    fmt::format_to(std::back_inserter(out_.sql), "${}", it->second);
    i_ = k;
    glued_ = true;
  }

  std::string_view in_;
  std::size_t i_ = 0;
  // The previous token was an identifier, number or placeholder, directly before
  // the current byte: a ':' then is an array-slice bound, not a placeholder.
  bool glued_ = false;
  bool semicolon_ = false;
  Placeholders out_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace

Placeholders rewrite_placeholders(std::string_view sql) { return Lexer(sql).run(); }

std::vector<const Value*> arrange_params(const Placeholders& placeholders, const Params& params,
                                         std::string_view sql) {
  std::vector<const Value*> out;
  arrange_params(placeholders, params, sql, out);
  return out;
}

void arrange_params(const Placeholders& placeholders, const Params& params, std::string_view sql,
                    std::vector<const Value*>& out) {
  out.clear();
  if (!params.positional.empty() && !params.named.empty())
    throw UsageError(fmt::format("both positional and named parameters given for: {}",
                                 sql_excerpt(sql)));
  if (placeholders.style == Placeholders::Style::named) {
    if (!params.positional.empty())
      throw UsageError(fmt::format(
          "SQL uses :name placeholders but {} positional parameter(s) were given: {}",
          params.positional.size(), sql_excerpt(sql)));
    out.reserve(placeholders.names.size());
    for (const auto& name : placeholders.names) {
      auto it = std::find_if(params.named.begin(), params.named.end(),
                             [&](const auto& p) { return p.first == name; });
      if (it == params.named.end())
        throw UsageError(fmt::format("no value given for :{} in: {}", name, sql_excerpt(sql)));
      out.push_back(&it->second);
    }
    for (const auto& [name, value] : params.named) {
      if (std::find(placeholders.names.begin(), placeholders.names.end(), name) ==
          placeholders.names.end())
        throw UsageError(fmt::format("parameter :{} is not used by: {}", name, sql_excerpt(sql)));
    }
    return;
  }
  if (!params.named.empty())
    throw UsageError(fmt::format("named parameters given but the SQL has {} placeholders: {}",
                                 style_name(placeholders.style), sql_excerpt(sql)));
  if (params.positional.size() != placeholders.count)
    throw UsageError(fmt::format("SQL takes {} parameter(s) but {} were given: {}",
                                 placeholders.count, params.positional.size(), sql_excerpt(sql)));
  out.reserve(params.positional.size());
  for (const auto& v : params.positional) out.push_back(&v);
}

std::string sql_excerpt(std::string_view sql, std::size_t max) {
  std::string out;
  out.reserve(std::min(sql.size(), max) + 4);
  bool space = false;
  for (char c : sql) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (out.size() >= max) {
      // Do not cut a UTF-8 sequence in half.
      while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80)
        out.pop_back();
      if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
      return out + "…";
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace keel::driver
