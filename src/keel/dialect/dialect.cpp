// The SQL both backends agree on, rendered once. SQLite (3.24+ for ON CONFLICT,
// 3.35+ for RETURNING) and PostgreSQL (9.5+) accept the same upsert and RETURNING
// syntax, so only now_utc() is per backend today (sqlite.cpp, postgres.cpp).
#include "keel/dialect.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "dialects.hpp"
#include "keel/error.hpp"

namespace keel {
namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The names for an error message: a, b, c (unquoted, they are only read by people).
std::string listing(const std::vector<std::string>& names) {
  return names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

std::string Dialect::quote(std::string_view identifier) const {
  if (identifier.empty()) throw UsageError("empty SQL identifier");
  if (identifier.find('\0') != std::string_view::npos)
    throw UsageError(fmt::format("SQL identifier \"{}\" contains a NUL byte",
                                 std::string(identifier.substr(0, identifier.find('\0')))));
  std::string out;
  out.reserve(identifier.size() + 2);
  out += '"';
  for (char ch : identifier) {
    // Doubling is the only escape SQL has inside a quoted identifier; with it any
    // name — a reserved word, one with spaces, quotes or UTF-8 — is safe.
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
  return out;
}

std::string Dialect::quote_list(const std::vector<std::string>& identifiers) const {
  std::string out;
  for (const auto& id : identifiers) {
    if (!out.empty()) out += ", ";
    out += quote(id);
  }
  return out;
}

std::string Dialect::returning(const std::vector<std::string>& columns) const {
  if (columns.empty()) return {};
  // "*" is the one bare word allowed: a column literally named * is not worth
  // making RETURNING * unspellable.
  if (columns.size() == 1 && columns.front() == "*") return " RETURNING *";
  return " RETURNING " + quote_list(columns);
}

// Validation happens before any SQL exists, so a bad Upsert never reaches the
// database. Should a backend ever need a different spelling, this becomes the
// default of a virtual hook the way now_utc() is; today both share it.
std::string Dialect::upsert(const Upsert& u) const {
  if (u.table.empty()) throw UsageError("upsert: the table name is empty");
  const std::string where = fmt::format("upsert into {}", quote(u.table));
  if (u.columns.empty()) throw UsageError(where + ": no columns to insert");
  for (std::size_t i = 0; i < u.columns.size(); ++i) {
    quote(u.columns[i]);  // rejects empty / NUL names before they are listed
    if (std::find(u.columns.begin(), u.columns.begin() + static_cast<std::ptrdiff_t>(i),
                  u.columns[i]) != u.columns.begin() + static_cast<std::ptrdiff_t>(i))
      throw UsageError(fmt::format("{}: column \"{}\" is inserted twice", where, u.columns[i]));
  }
  for (const auto& c : u.conflict) {
    if (!contains(u.columns, c))
      throw UsageError(fmt::format("{}: conflict column \"{}\" is not among the inserted columns "
                                   "({})",
                                   where, c, listing(u.columns)));
  }
  if (u.do_nothing && !u.update.empty())
    throw UsageError(fmt::format("{}: update columns ({}) given together with do_nothing", where,
                                 listing(u.update)));
  if (!u.do_nothing && u.conflict.empty())
    throw UsageError(where + ": DO UPDATE needs the conflict key that decides insert or update "
                             "(set `conflict`, or do_nothing)");

  std::vector<std::string> update = u.update;
  if (!u.do_nothing) {
    for (const auto& c : update) {
      if (!contains(u.columns, c))
        throw UsageError(fmt::format("{}: update column \"{}\" is not among the inserted columns "
                                     "({})",
                                     where, c, listing(u.columns)));
      if (contains(u.conflict, c))
        throw UsageError(fmt::format("{}: update column \"{}\" is part of the conflict key ({})",
                                     where, c, listing(u.conflict)));
    }
    if (update.empty()) {
      for (const auto& c : u.columns)
        if (!contains(u.conflict, c)) update.push_back(c);
      if (update.empty())
        throw UsageError(fmt::format("{}: every inserted column is in the conflict key, so there "
                                     "is nothing to update; use do_nothing",
                                     where));
    }
  }

  std::string sql = fmt::format("INSERT INTO {} ({}) VALUES (", quote(u.table),
                                quote_list(u.columns));
  for (std::size_t i = 0; i < u.columns.size(); ++i) sql += i == 0 ? "?" : ", ?";
  sql += ") ON CONFLICT";
  if (!u.conflict.empty()) sql += fmt::format(" ({})", quote_list(u.conflict));
  if (u.do_nothing) {
    sql += " DO NOTHING";
  } else {
    sql += " DO UPDATE SET ";
    for (std::size_t i = 0; i < update.size(); ++i) {
      if (i > 0) sql += ", ";
      std::string q = quote(update[i]);
      sql += fmt::format("{} = excluded.{}", q, q);
    }
  }
  sql += returning(u.returning);
  return sql;
}

const Dialect& dialect_for(Backend backend) {
  switch (backend) {
    case Backend::sqlite:
      return dialect::sqlite();
    case Backend::postgresql:
      return dialect::postgresql();
  }
  throw UsageError(fmt::format("no dialect for backend {}", static_cast<int>(backend)));
}

}  // namespace keel
