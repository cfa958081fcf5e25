// Schema DDL both backends spell alike, rendered once; ddl_sqlite.cpp and
// ddl_postgres.cpp hold only what differs. This file must not call functions of
// the schema layer (src/keel/schema/): the dialect library sits below it, so it
// uses keel/schema.hpp for its plain structs only.
#include "ddl.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include <fmt/format.h>

#include "keel/error.hpp"

namespace keel::dialect {
namespace {

using schema::Column;
using schema::FkAction;
using schema::ForeignKey;
using schema::MetaData;
using schema::Table;
using schema::TypeKind;

// "NO ACTION"…; schema::to_sql lives in the layer above, so the dialect has its own.
const char* action_sql(FkAction a) {
  switch (a) {
    case FkAction::no_action: return "NO ACTION";
    case FkAction::restrict: return "RESTRICT";
    case FkAction::cascade: return "CASCADE";
    case FkAction::set_null: return "SET NULL";
    case FkAction::set_default: return "SET DEFAULT";
  }
  throw UsageError(fmt::format("unknown foreign-key action {}", static_cast<int>(a)));
}

bool contains(const std::vector<const ForeignKey*>& fks, const ForeignKey* fk) {
  return std::find(fks.begin(), fks.end(), fk) != fks.end();
}

// "CONSTRAINT "name" " or nothing for an unnamed constraint (the backend names it).
std::string constraint_prefix(const Dialect& d, const std::string& name) {
  return name.empty() ? std::string() : "CONSTRAINT " + d.quote(name) + " ";
}

// Types whose literal defaults are text the backend converts (PostgreSQL casts
// '2024-01-01' to date), so a number given for them is written as text too.
bool takes_text_literal(TypeKind k) {
  switch (k) {
    case TypeKind::json:
    case TypeKind::date:
    case TypeKind::timestamp:
    case TypeKind::uuid:
    case TypeKind::numeric:
      return true;
    default:
      return false;
  }
}

// Adds the table's name to a UsageError from rendering it: quote() alone cannot
// say which table held the empty name.
template <class F>
auto in_table(const Table& t, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("DDL for table \"{}\": {}", t.name, e.what()));
  }
}

}  // namespace

// ---- dependency order ----------------------------------------------------------

CreationPlan plan_creation(const MetaData& meta) {
  const std::size_t n = meta.tables.size();
  std::map<std::string, std::size_t, std::less<>> index_of;
  for (std::size_t i = 0; i < n; ++i) index_of.emplace(meta.tables[i].name, i);

  // deps[i]: the tables i references, other than itself and tables outside the
  // model (those exist already or are the database's problem).
  std::vector<std::vector<std::size_t>> deps(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (const auto& fk : meta.tables[i].foreign_keys) {
      auto it = index_of.find(fk.ref_table);
      if (it == index_of.end() || it->second == i) continue;
      if (std::find(deps[i].begin(), deps[i].end(), it->second) == deps[i].end())
        deps[i].push_back(it->second);
    }
  }

  // Strongly connected components (Tarjan): a stuck topological sort is entered at
  // a cycle whose outside dependencies are all created, so only FKs inside one
  // cycle are ever deferred.
  std::vector<int> comp(n, -1), low(n, 0), order(n, -1);
  std::vector<std::size_t> stack;
  std::vector<bool> on_stack(n, false);
  int counter = 0, comps = 0;
  std::function<void(std::size_t)> strongconnect = [&](std::size_t v) {
    order[v] = low[v] = counter++;
    stack.push_back(v);
    on_stack[v] = true;
    for (std::size_t w : deps[v]) {
      if (order[w] < 0) {
        strongconnect(w);
        low[v] = std::min(low[v], low[w]);
      } else if (on_stack[w]) {
        low[v] = std::min(low[v], order[w]);
      }
    }
    if (low[v] == order[v]) {
      std::size_t w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        comp[w] = comps;
      } while (w != v);
      ++comps;
    }
  };
  for (std::size_t i = 0; i < n; ++i)
    if (order[i] < 0) strongconnect(i);

  std::vector<bool> created(n, false);
  auto ready = [&](std::size_t i, bool within_cycle) {
    for (std::size_t d : deps[i])
      if (!created[d] && !(within_cycle && comp[d] == comp[i])) return false;
    return true;
  };

  CreationPlan plan;
  for (std::size_t done = 0; done < n; ++done) {
    std::size_t pick = n;
    for (std::size_t i = 0; i < n && pick == n; ++i)
      if (!created[i] && ready(i, false)) pick = i;
    // Stuck: every table left waits for another. Enter the first cycle (in model
    // order) that waits for nothing outside itself; there always is one.
    for (std::size_t i = 0; i < n && pick == n; ++i)
      if (!created[i] && ready(i, true)) pick = i;
    const Table& t = meta.tables[pick];
    for (const auto& fk : t.foreign_keys) {
      auto it = index_of.find(fk.ref_table);
      if (it != index_of.end() && it->second != pick && !created[it->second])
        plan.cycle_fks.push_back({&t, &fk});
    }
    created[pick] = true;
    plan.tables.push_back(&t);
  }
  return plan;
}

// ---- whole schemas -------------------------------------------------------------

std::vector<std::string> DdlRenderer::create_all(const MetaData& meta) const {
  CreationPlan plan = plan_creation(meta);
  std::vector<std::string> out;
  for (const Table* t : plan.tables) {
    std::vector<const ForeignKey*> skip;
    if (defers_cycle_foreign_keys())
      for (const auto& d : plan.cycle_fks)
        if (d.table == t) skip.push_back(d.fk);
    out.push_back(create_table(*t, skip));
    for (const auto& ix : t->indexes) out.push_back(create_index(*t, ix));
  }
  if (defers_cycle_foreign_keys())
    for (const auto& d : plan.cycle_fks) out.push_back(add_foreign_key(*d.table, *d.fk));
  return out;
}

std::vector<std::string> DdlRenderer::drop_all(const MetaData& meta) const {
  CreationPlan plan = plan_creation(meta);
  std::vector<std::string> out;
  // The FKs added last go first: after that the tables drop in plain reverse order.
  if (defers_cycle_foreign_keys()) {
    for (auto it = plan.cycle_fks.rbegin(); it != plan.cycle_fks.rend(); ++it) {
      if (it->fk->name.empty())
        throw UsageError(fmt::format("DDL for table \"{}\": the foreign key to \"{}\" closes a "
                                     "cycle and has no name to drop it by; run schema::validate "
                                     "first",
                                     it->table->name, it->fk->ref_table));
      out.push_back(drop_constraint(*it->table, it->fk->name));
    }
  }
  for (const Table* t : drop_order(plan)) out.push_back(drop_table(*t));
  return out;
}

// ---- statements ----------------------------------------------------------------

std::string DdlRenderer::create_table(const Table& t,
                                      const std::vector<const ForeignKey*>& skip_fks) const {
  return in_table(t, [&] {
    if (t.columns.empty()) throw UsageError("a table needs at least one column");
    std::string sql = "CREATE TABLE " + dialect_.quote(t.name) + " (";
    bool first = true;
    for (const auto& c : t.columns) {
      sql += first ? "\n  " : ",\n  ";
      first = false;
      sql += column_definition(t, c);
    }
    for (const auto& tc : table_constraints(t, skip_fks)) sql += ",\n  " + tc;
    sql += "\n)";
    return sql;
  });
}

std::string DdlRenderer::drop_table(const Table& t) const {
  return in_table(t, [&] { return "DROP TABLE " + dialect_.quote(t.name); });
}

std::string DdlRenderer::create_index(const Table& t, const schema::Index& ix) const {
  return in_table(t, [&] {
    if (ix.name.empty())
      throw UsageError("an index has no name; run schema::validate first to name it");
    if (ix.columns.empty())
      throw UsageError(fmt::format("index \"{}\" has no columns", ix.name));
    std::string sql = fmt::format("CREATE {}INDEX {} ON {} ({})", ix.unique ? "UNIQUE " : "",
                                  dialect_.quote(ix.name), dialect_.quote(t.name),
                                  dialect_.quote_list(ix.columns));
    if (!ix.where.empty()) sql += " WHERE " + ix.where;
    return sql;
  });
}

std::string DdlRenderer::drop_index(const Table& t, const schema::Index& ix) const {
  return in_table(t, [&] { return "DROP INDEX " + dialect_.quote(ix.name); });
}

std::string DdlRenderer::add_foreign_key(const Table& t, const ForeignKey& fk) const {
  return in_table(t, [&] {
    return "ALTER TABLE " + dialect_.quote(t.name) + " ADD " + foreign_key_constraint(fk);
  });
}

std::string DdlRenderer::drop_constraint(const Table& t, std::string_view name) const {
  return in_table(t, [&] {
    return "ALTER TABLE " + dialect_.quote(t.name) + " DROP CONSTRAINT " + dialect_.quote(name);
  });
}

// ---- pieces ----------------------------------------------------------------------

bool DdlRenderer::is_sole_primary_key(const Table& t, const Column& c) {
  return t.primary_key && t.primary_key->columns.size() == 1 &&
         t.primary_key->columns.front() == c.name;
}

bool DdlRenderer::is_autoincrement_key(const Table& t, const Column& c) {
  return c.autoincrement && is_sole_primary_key(t, c);
}

std::string DdlRenderer::column_definition(const Table& t, const Column& c) const {
  std::string sql = dialect_.quote(c.name) + " " + column_type(&t, c);
  if (c.autoincrement) {
    if (c.server_default)
      throw UsageError(fmt::format("column \"{}\" is autoincrement and has a server default; "
                                   "it can have only one of them",
                                   c.name));
    sql += autoincrement_clause(c);
  }
  if (!c.nullable) sql += " NOT NULL";
  sql += default_clause(t, c);
  return sql;
}

std::string DdlRenderer::default_clause(const Table& t, const Column& c) const {
  if (!c.server_default) return {};
  const schema::Default& d = *c.server_default;
  switch (d.kind) {
    case schema::Default::Kind::literal:
      return " DEFAULT " + default_literal(t, c, d.literal);
    case schema::Default::Kind::current_timestamp:
      return " DEFAULT " + current_timestamp_default();
    case schema::Default::Kind::expression:
      if (d.expression.empty())
        throw UsageError(fmt::format("column \"{}\": the default expression is empty", c.name));
      return " DEFAULT (" + d.expression + ")";
  }
  throw UsageError(fmt::format("column \"{}\": unknown default kind", c.name));
}

std::string DdlRenderer::default_literal(const Table& /*t*/, const Column& c,
                                         const Value& v) const {
  const std::string what = fmt::format("default of column \"{}\"", c.name);
  const TypeKind kind = c.type.kind;
  if (v.is_null()) return "NULL";
  if (kind == TypeKind::boolean) {
    if (v.type() == ValueType::boolean) return boolean_literal(std::get<bool>(v.storage()));
    // YAML's `default: 1` on a boolean column means true, and PostgreSQL rejects an
    // integer default for a boolean.
    if (v.type() == ValueType::integer) {
      auto i = std::get<std::int64_t>(v.storage());
      if (i == 0 || i == 1) return boolean_literal(i == 1);
    }
  }
  if (takes_text_literal(kind) && v.type() != ValueType::blob)
    return string_literal(v.to_display(), what);
  switch (v.type()) {
    case ValueType::integer:
      return fmt::format("{}", std::get<std::int64_t>(v.storage()));
    case ValueType::real: {
      double x = std::get<double>(v.storage());
      if (!std::isfinite(x))
        throw UsageError(fmt::format("{}: {} has no SQL literal", what, x));
      // Shortest round-trip form, kept recognisably real: "1" would read back as an
      // integer default.
      std::string s = fmt::format("{}", x);
      if (s.find_first_of(".e") == std::string::npos) s += ".0";
      return s;
    }
    case ValueType::boolean:
      return boolean_literal(std::get<bool>(v.storage()));
    case ValueType::blob:
      return blob_literal(std::get<Blob>(v.storage()));
    default:
      return string_literal(v.to_display(), what);
  }
}

std::vector<std::string> DdlRenderer::table_constraints(
    const Table& t, const std::vector<const ForeignKey*>& skip_fks) const {
  std::vector<std::string> out;
  if (t.primary_key) out.push_back(primary_key_constraint(*t.primary_key));
  for (const auto& fk : t.foreign_keys)
    if (!contains(skip_fks, &fk)) out.push_back(foreign_key_constraint(fk));
  for (const auto& u : t.uniques) out.push_back(unique_constraint(u));
  for (const auto& ck : implied_checks(t)) out.push_back(check_constraint(ck));
  for (const auto& ck : t.checks) out.push_back(check_constraint(ck));
  return out;
}

std::string DdlRenderer::primary_key_constraint(const schema::PrimaryKey& pk) const {
  if (pk.columns.empty()) throw UsageError("the primary key has no columns");
  return constraint_prefix(dialect_, pk.name) + "PRIMARY KEY (" + dialect_.quote_list(pk.columns) +
         ")";
}

std::string DdlRenderer::foreign_key_constraint(const ForeignKey& fk) const {
  if (fk.columns.empty())
    throw UsageError(fmt::format("the foreign key to \"{}\" has no columns", fk.ref_table));
  std::string sql = constraint_prefix(dialect_, fk.name) + "FOREIGN KEY (" +
                    dialect_.quote_list(fk.columns) + ") REFERENCES " +
                    dialect_.quote(fk.ref_table);
  // No column list means the referenced table's primary key, on both backends.
  if (!fk.ref_columns.empty()) sql += " (" + dialect_.quote_list(fk.ref_columns) + ")";
  // NO ACTION is the default; leaving it out keeps the stored SQL what a person writes.
  if (fk.on_delete != FkAction::no_action)
    sql += fmt::format(" ON DELETE {}", action_sql(fk.on_delete));
  if (fk.on_update != FkAction::no_action)
    sql += fmt::format(" ON UPDATE {}", action_sql(fk.on_update));
  return sql;
}

std::string DdlRenderer::unique_constraint(const schema::UniqueConstraint& u) const {
  if (u.columns.empty()) throw UsageError("a unique constraint has no columns");
  return constraint_prefix(dialect_, u.name) + "UNIQUE (" + dialect_.quote_list(u.columns) + ")";
}

std::string DdlRenderer::check_constraint(const schema::CheckConstraint& c) const {
  if (c.expression.empty())
    throw UsageError(fmt::format("check \"{}\" has no expression", c.name));
  return constraint_prefix(dialect_, c.name) + "CHECK (" + c.expression + ")";
}

std::string DdlRenderer::string_literal(std::string_view text, std::string_view what) {
  if (text.find('\0') != std::string_view::npos)
    throw UsageError(fmt::format("{}: a text literal cannot contain a NUL byte", what));
  std::string out;
  out.reserve(text.size() + 2);
  out += '\'';
  for (char ch : text) {
    // Doubling is the one escape standard SQL strings have; PostgreSQL keeps
    // backslashes literal (standard_conforming_strings, on since 9.1).
    if (ch == '\'') out += '\'';
    out += ch;
  }
  out += '\'';
  return out;
}

// ---- entry points ----------------------------------------------------------------

const DdlRenderer& ddl_renderer(Backend b) {
  switch (b) {
    case Backend::sqlite: return sqlite_ddl();
    case Backend::postgresql: return postgres_ddl();
  }
  throw UsageError(fmt::format("no DDL renderer for backend {}", static_cast<int>(b)));
}

std::vector<std::string> create_statements(const MetaData& meta, Backend b) {
  return ddl_renderer(b).create_all(meta);
}

std::vector<std::string> drop_statements(const MetaData& meta, Backend b) {
  return ddl_renderer(b).drop_all(meta);
}

std::string column_type_sql(const Column& c, Backend b) {
  return ddl_renderer(b).column_type(nullptr, c);
}

std::string column_type_sql(const Table& t, const Column& c, Backend b) {
  return ddl_renderer(b).column_type(&t, c);
}

bool separates_cycle_foreign_keys(Backend b) { return b == Backend::postgresql; }

}  // namespace keel::dialect
