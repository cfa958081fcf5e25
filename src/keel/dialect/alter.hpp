// dialect/alter.hpp — schema operations as ALTER statements, per backend (internal).
//
// The migration engine applies one schema::Operation at a time to its model and
// asks here for the statements that do the same to the database. PostgreSQL's
// ALTER TABLE can do everything; SQLite's can rename tables and columns, add and
// drop some columns, and nothing else, so every other change rebuilds the table as
// https://www.sqlite.org/lang_altertable.html ("Making Other Kinds Of Table Schema
// Changes") prescribes: create "_keel_new_<t>" as the table should be, copy the
// rows (converted where a type changes), drop the old table, rename the new one,
// re-create its indexes and triggers.
//
// A rebuild drops a table other tables may reference, so a migration on SQLite runs
// with foreign-key enforcement off (migration_prologue): with it on, DROP TABLE would
// first delete every row, firing the children's ON DELETE CASCADE — the data loss
// other tools' rebuilds are known for. SQLite ignores PRAGMA foreign_keys inside a
// transaction, so the prologue runs before BEGIN and the epilogue after COMMIT; in
// between, foreign_key_check_sql() must find no violation before COMMIT.
//
// Like ddl.cpp, this layer sits below the schema layer: it uses keel/schema.hpp for
// its plain structs only and calls none of its functions.
#pragma once

#include <string>
#include <vector>

#include "ddl.hpp"
#include "keel/config.hpp"
#include "keel/connection.hpp"
#include "keel/schema.hpp"

namespace keel::dialect {

struct AlterContext {
  const schema::MetaData& before;  // the model before the operation
  const schema::MetaData& after;   // the model after it
  // SQLite only, online runs: CREATE TRIGGER statements of the rebuilt table, to re-create.
  std::vector<std::string> triggers;
};

// The statements that perform `op` on `b`; UsageError when the models do not hold
// the tables the operation names.
std::vector<std::string> operation_statements(const schema::Operation& op,
                                              const AlterContext& ctx, Backend b);

// SQLite: statements to run on the migration connection outside any transaction before
// the migration ("PRAGMA foreign_keys=OFF"); PostgreSQL: none.
std::vector<std::string> migration_prologue(Backend b);
// SQLite: statements to run after the migration's transaction ("PRAGMA foreign_keys=ON");
// PostgreSQL: none.
std::vector<std::string> migration_epilogue(Backend b);
// SQLite: "PRAGMA foreign_key_check" — run inside the transaction before COMMIT; any row
// it returns is a violation and the transaction must roll back. PostgreSQL: "" (FKs are
// checked immediately).
std::string foreign_key_check_sql(Backend b);
// The same check for an offline script, where nobody reads the pragma's rows: statements
// that FAIL when a foreign key is broken, so `sqlite3 -bail` stops before COMMIT and the
// revision rolls back. PostgreSQL: none.
std::vector<std::string> foreign_key_check_script(Backend b);
// Whether a revision goes to the server as one script (BEGIN; steps; history row;
// COMMIT): PostgreSQL, where each statement would cost a round trip. SQLite reads
// between statements (triggers before a rebuild, the foreign-key check's rows) and
// runs in-process, so it goes step by step.
bool sends_whole_revisions(Backend b);
// In such a script, right after BEGIN: lets its COMMIT skip the WAL flush, which a
// later durable commit of the same run makes for it ("" where there is no such thing).
std::string deferred_commit_sql(Backend b);
// A transaction whose commit waits for the WAL flush, making every earlier commit
// durable ("" where every commit already is).
std::string durable_commit_script(Backend b);
// An expression for the milliseconds since the transaction began, for the history
// row's duration when the server runs the whole revision.
std::string elapsed_ms_sql(Backend b);
// The CREATE TRIGGER statements a rebuild of `table` must re-create, read from the live
// database (AlterContext::triggers). PostgreSQL alters tables in place: none.
std::vector<std::string> triggers_to_preserve(Connection& conn, const std::string& table);

// ---- shared by the backends' halves (alter_sqlite.cpp, alter_postgres.cpp) ----

using Statements = std::vector<std::string>;

// Renders each operation kind; the base renders what both backends spell alike.
class AlterRenderer {
 public:
  virtual ~AlterRenderer() = default;
  AlterRenderer(const AlterRenderer&) = delete;
  AlterRenderer& operator=(const AlterRenderer&) = delete;

  // See operation_statements.
  Statements render(const schema::Operation& op, const AlterContext& ctx) const;

  const DdlRenderer& ddl() const noexcept { return ddl_; }
  std::string quote(std::string_view name) const { return ddl_.dialect().quote(name); }

 protected:
  explicit AlterRenderer(const DdlRenderer& ddl) : ddl_(ddl) {}

  virtual Statements create_table(const schema::CreateTable& op, const AlterContext& ctx) const;
  virtual Statements drop_table(const schema::DropTable& op, const AlterContext& ctx) const;
  virtual Statements rename_table(const schema::RenameTable& op, const AlterContext& ctx) const;
  virtual Statements add_column(const schema::AddColumn& op, const AlterContext& ctx) const = 0;
  virtual Statements drop_column(const schema::DropColumn& op, const AlterContext& ctx) const = 0;
  virtual Statements alter_column(const schema::AlterColumn& op,
                                  const AlterContext& ctx) const = 0;
  virtual Statements rename_column(const schema::RenameColumn& op,
                                   const AlterContext& ctx) const;
  virtual Statements create_index(const schema::CreateIndex& op, const AlterContext& ctx) const;
  virtual Statements drop_index(const schema::DropIndex& op, const AlterContext& ctx) const;
  // The constraint operations: PostgreSQL adds or drops the constraint, SQLite rebuilds.
  virtual Statements add_foreign_key(const schema::AddForeignKey& op,
                                     const AlterContext& ctx) const = 0;
  virtual Statements drop_foreign_key(const schema::DropForeignKey& op,
                                      const AlterContext& ctx) const = 0;
  virtual Statements add_unique(const schema::AddUnique& op, const AlterContext& ctx) const = 0;
  virtual Statements drop_unique(const schema::DropUnique& op, const AlterContext& ctx) const = 0;
  virtual Statements add_check(const schema::AddCheck& op, const AlterContext& ctx) const = 0;
  virtual Statements drop_check(const schema::DropCheck& op, const AlterContext& ctx) const = 0;
  virtual Statements alter_primary_key(const schema::AlterPrimaryKey& op,
                                       const AlterContext& ctx) const = 0;

  // ALTER TABLE "t" (the statement's common start).
  std::string alter_table(std::string_view table) const { return "ALTER TABLE " + quote(table); }

 private:
  const DdlRenderer& ddl_;
};

// The table `name` of the model before (`when` = "before") or after the operation;
// UsageError naming the operation when it is missing.
const schema::Table& table_of(const schema::MetaData& meta, std::string_view name,
                              std::string_view op_kind, std::string_view when);
// "bigint", "string(40)", "numeric(10,2)" — for messages (schema::to_string is a layer up).
std::string type_label(const schema::ColumnType& type);
// True for integer, bigint and smallint.
bool is_integer_family(schema::TypeKind k);

const AlterRenderer& sqlite_alter();
const AlterRenderer& postgres_alter();

}  // namespace keel::dialect
