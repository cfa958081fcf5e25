// keel/dialect.hpp — the SQL that differs between SQLite and PostgreSQL.
//
// The generic rendering lives once in Dialect; each backend overrides only what
// differs. Rendered SQL uses `?` placeholders, which the PostgreSQL driver
// rewrites; identifiers are always quoted here, values are always bound.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "keel/config.hpp"

namespace keel {

// INSERT … ON CONFLICT (conflict) DO UPDATE SET … / DO NOTHING.
struct Upsert {
  std::string table;
  std::vector<std::string> columns;   // inserted, one `?` each, in this order
  std::vector<std::string> conflict;  // the unique key that decides insert or update
  // Columns overwritten on conflict from the proposed row; empty with
  // do_nothing=false means every column not in `conflict`.
  std::vector<std::string> update;
  bool do_nothing = false;
  std::vector<std::string> returning;  // RETURNING these columns, if any
};

class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual Backend backend() const noexcept = 0;

  // "name" with embedded quotes doubled; safe for any identifier.
  std::string quote(std::string_view identifier) const;
  // A comma-separated list of quoted identifiers.
  std::string quote_list(const std::vector<std::string>& identifiers) const;
  // The upsert statement for `u`; throws UsageError when it is inconsistent
  // (no columns, a conflict column not inserted…).
  std::string upsert(const Upsert& u) const;
  // " RETURNING a, b" (empty for no columns).
  std::string returning(const std::vector<std::string>& columns) const;
  // An expression for the current instant in UTC, in the type a `timestamp`
  // column holds on this backend.
  virtual std::string now_utc() const = 0;
};

// The dialect of `backend`; the objects live for the whole program.
const Dialect& dialect_for(Backend backend);

}  // namespace keel
