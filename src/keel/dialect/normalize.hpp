// dialect/normalize.hpp — a schema model in the form a backend stores it.
//
// diff() compares a model written by hand with one reflected from a database.
// The two describe the same tables in different words: SQLite turns an
// autoincrement integer into a 64-bit rowid, PostgreSQL rewrites default and
// predicate expressions (casts, parentheses, `!=`), a boolean default comes back
// as 1… Normalising both sides into what the backend stores makes "the same"
// mean equal, so a schema keel created diffs to nothing.
#pragma once

#include <string>
#include <string_view>

#include "keel/config.hpp"
#include "keel/schema.hpp"

namespace keel::dialect {

// Rewrites `meta` into the form `b` stores and reflects it, so that diff compares like with
// like; fields change in place, nothing is added, removed or reordered (diff relies on it).
void normalize(schema::MetaData& meta, Backend b);

// Canonical text of an SQL expression for comparison (casts, parens, case, spaces removed).
std::string normalize_expression(std::string_view sql, Backend b);

}  // namespace keel::dialect
