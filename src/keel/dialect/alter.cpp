// Schema operations as statements: the dispatch, and what both backends spell
// alike. alter_sqlite.cpp and alter_postgres.cpp hold what differs.
#include "alter.hpp"

#include <fmt/format.h>

#include "keel/error.hpp"

namespace keel::dialect {
namespace {

using schema::TypeKind;

// The operation kinds as describe() words them, for error messages.
constexpr const char* kOperationNames[] = {
    "create table",      "drop table",       "rename table",  "add column",
    "drop column",       "alter column",     "rename column", "create index",
    "drop index",        "add foreign key",  "drop foreign key", "add unique",
    "drop unique",       "add check",        "drop check",    "alter primary key"};
static_assert(std::size(kOperationNames) == std::variant_size_v<schema::Operation>);

}  // namespace

const schema::Table& table_of(const schema::MetaData& meta, std::string_view name,
                              std::string_view op_kind, std::string_view when) {
  if (const schema::Table* t = meta.table(name)) return *t;
  throw UsageError(fmt::format("{} on table \"{}\": the model {} the operation has no table \"{}\"",
                               op_kind, name, when, name));
}

std::string type_label(const schema::ColumnType& type) {
  switch (type.kind) {
    case TypeKind::integer: return "integer";
    case TypeKind::bigint: return "bigint";
    case TypeKind::smallint: return "smallint";
    case TypeKind::boolean: return "boolean";
    case TypeKind::real: return "real";
    case TypeKind::numeric:
      return type.precision > 0 ? fmt::format("numeric({},{})", type.precision, type.scale)
                                : "numeric";
    case TypeKind::text: return "text";
    case TypeKind::string: return fmt::format("string({})", type.length);
    case TypeKind::blob: return "blob";
    case TypeKind::date: return "date";
    case TypeKind::timestamp: return "timestamp";
    case TypeKind::json: return "json";
    case TypeKind::uuid: return "uuid";
  }
  return fmt::format("type {}", static_cast<int>(type.kind));
}

bool is_integer_family(TypeKind k) {
  return k == TypeKind::integer || k == TypeKind::bigint || k == TypeKind::smallint;
}

Statements AlterRenderer::render(const schema::Operation& op, const AlterContext& ctx) const {
  try {
    return std::visit(
        [&](const auto& o) -> Statements {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, schema::CreateTable>) return create_table(o, ctx);
          else if constexpr (std::is_same_v<T, schema::DropTable>) return drop_table(o, ctx);
          else if constexpr (std::is_same_v<T, schema::RenameTable>) return rename_table(o, ctx);
          else if constexpr (std::is_same_v<T, schema::AddColumn>) return add_column(o, ctx);
          else if constexpr (std::is_same_v<T, schema::DropColumn>) return drop_column(o, ctx);
          else if constexpr (std::is_same_v<T, schema::AlterColumn>) return alter_column(o, ctx);
          else if constexpr (std::is_same_v<T, schema::RenameColumn>) return rename_column(o, ctx);
          else if constexpr (std::is_same_v<T, schema::CreateIndex>) return create_index(o, ctx);
          else if constexpr (std::is_same_v<T, schema::DropIndex>) return drop_index(o, ctx);
          else if constexpr (std::is_same_v<T, schema::AddForeignKey>)
            return add_foreign_key(o, ctx);
          else if constexpr (std::is_same_v<T, schema::DropForeignKey>)
            return drop_foreign_key(o, ctx);
          else if constexpr (std::is_same_v<T, schema::AddUnique>) return add_unique(o, ctx);
          else if constexpr (std::is_same_v<T, schema::DropUnique>) return drop_unique(o, ctx);
          else if constexpr (std::is_same_v<T, schema::AddCheck>) return add_check(o, ctx);
          else if constexpr (std::is_same_v<T, schema::DropCheck>) return drop_check(o, ctx);
          else return alter_primary_key(o, ctx);
        },
        op);
  } catch (const UsageError& e) {
    // The DDL renderer names the table; the operation's kind says which step failed.
    throw UsageError(fmt::format("{}: {}", kOperationNames[op.index()], e.what()));
  }
}

// ---- what both backends spell alike ----------------------------------------------

Statements AlterRenderer::create_table(const schema::CreateTable& op, const AlterContext&) const {
  Statements out{ddl_.create_table(op.table)};
  for (const auto& ix : op.table.indexes) out.push_back(ddl_.create_index(op.table, ix));
  return out;
}

// On SQLite this relies on the prologue: with foreign keys on, DROP TABLE deletes the
// rows first and fires the children's ON DELETE actions.
Statements AlterRenderer::drop_table(const schema::DropTable& op, const AlterContext&) const {
  return {ddl_.drop_table(op.table)};
}

Statements AlterRenderer::rename_table(const schema::RenameTable& op, const AlterContext&) const {
  return {alter_table(op.from) + " RENAME TO " + quote(op.to)};
}

Statements AlterRenderer::rename_column(const schema::RenameColumn& op,
                                        const AlterContext&) const {
  return {alter_table(op.table) + " RENAME COLUMN " + quote(op.from) + " TO " + quote(op.to)};
}

Statements AlterRenderer::create_index(const schema::CreateIndex& op, const AlterContext&) const {
  schema::Table t;
  t.name = op.table;
  return {ddl_.create_index(t, op.index)};
}

Statements AlterRenderer::drop_index(const schema::DropIndex& op, const AlterContext&) const {
  schema::Table t;
  t.name = op.table;
  return {ddl_.drop_index(t, op.index)};
}

// ---- entry points ------------------------------------------------------------------

std::vector<std::string> operation_statements(const schema::Operation& op,
                                              const AlterContext& ctx, Backend b) {
  switch (b) {
    case Backend::sqlite: return sqlite_alter().render(op, ctx);
    case Backend::postgresql: return postgres_alter().render(op, ctx);
  }
  throw UsageError(fmt::format("no ALTER renderer for backend {}", static_cast<int>(b)));
}

std::vector<std::string> migration_prologue(Backend b) {
  if (b == Backend::sqlite) return {"PRAGMA foreign_keys=OFF"};
  return {};
}

std::vector<std::string> migration_epilogue(Backend b) {
  if (b == Backend::sqlite) return {"PRAGMA foreign_keys=ON"};
  return {};
}

bool sends_whole_revisions(Backend b) { return b == Backend::postgresql; }

std::string deferred_commit_sql(Backend b) {
  return b == Backend::postgresql ? "SET LOCAL synchronous_commit = off" : "";
}

std::string durable_commit_script(Backend b) {
  // A commit with a transaction id waits for the flush up to its own record, which
  // follows every earlier commit's.
  return b == Backend::postgresql ? "BEGIN; SELECT txid_current(); COMMIT" : "";
}

std::string elapsed_ms_sql(Backend b) {
  return b == Backend::postgresql ? "(extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint"
                                  : "0";
}

std::string foreign_key_check_sql(Backend b) {
  return b == Backend::sqlite ? "PRAGMA foreign_key_check" : "";
}

std::vector<std::string> foreign_key_check_script(Backend b) {
  if (b != Backend::sqlite) return {};
  // A script cannot branch, but a CHECK constraint can fail: one row counting the
  // violations goes into a temporary table that only accepts zero, and the
  // constraint's name is the message sqlite3 prints.
  return {"CREATE TEMP TABLE IF NOT EXISTS keel_foreign_key_check (violations INTEGER "
          "CONSTRAINT \"this revision broke foreign keys: see PRAGMA foreign_key_check\" "
          "CHECK (violations = 0))",
          "INSERT INTO temp.keel_foreign_key_check SELECT count(*) FROM pragma_foreign_key_check"};
}

std::vector<std::string> triggers_to_preserve(Connection& conn, const std::string& table) {
  std::vector<std::string> out;
  if (conn.backend() != Backend::sqlite) return out;
  for (const Row& row : conn.query(
           "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ? AND sql IS NOT "
           "NULL ORDER BY name",
           {table}))
    out.push_back(row.get<std::string>(0));
  return out;
}

}  // namespace keel::dialect
