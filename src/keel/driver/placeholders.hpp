// driver/placeholders.hpp — `?` and `:name` to PostgreSQL's `$n`.
//
// keel's SQL is written once with `?` (positional) or `:name` (named) placeholders;
// PostgreSQL only knows `$n`. The lexer below finds the placeholders the way the
// server's own scanner would see them: it leaves '…' and E'…' strings, "…"
// identifiers, -- and /* nested */ comments, $tag$…$tag$ dollar quotes, `::` casts
// and `:=` alone. Internal to the drivers.
//
// Decisions worth knowing:
//   - `??` is a literal `?` (jsonb's ?, ?| and ?& operators: write `??`, `??|`, `??&`).
//   - `:name` is a placeholder only when not glued to a preceding identifier or
//     number, so array slices `a[1:2]`, `a[lo:hi]` stay as written.
//   - `$n` written by hand stays as is; mixing it, `?` and `:name` is a UsageError.
//   - An unterminated literal or comment is not an error here: the rest of the text
//     is copied unchanged and the server reports the syntax error, with position.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "keel/connection.hpp"

namespace keel::driver {

// One statement's SQL with its placeholders rewritten to `$n`.
struct Placeholders {
  enum class Style { none, positional, named, dollar };
  std::string sql;                 // the rewritten text
  Style style = Style::none;
  std::size_t count = 0;           // how many parameters ($1…$count) the statement takes
  std::vector<std::string> names;  // Style::named: names[k - 1] is bound to $k
  // A ';' outside literals and comments is followed by more SQL: probably several
  // statements (or a BEGIN ATOMIC body, which the server accepts as one).
  bool several_statements = false;
};

// Rewrites `?` to $1, $2… in order and `:name` to $k (one k per distinct name);
// throws UsageError when the statement mixes placeholder styles.
Placeholders rewrite_placeholders(std::string_view sql);

// The values of `params` in $1…$n order; throws UsageError naming the statement
// when their number, style or names do not match the placeholders.
std::vector<const Value*> arrange_params(const Placeholders& placeholders, const Params& params,
                                         std::string_view sql);
// Same, into `out` (cleared first), reusing its storage.
void arrange_params(const Placeholders& placeholders, const Params& params, std::string_view sql,
                    std::vector<const Value*>& out);

// The start of `sql` on one line, shortened to about `max` bytes, for messages.
std::string sql_excerpt(std::string_view sql, std::size_t max = 80);

}  // namespace keel::driver
