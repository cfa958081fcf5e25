// dialect/ddl.hpp — schema DDL per backend (internal).
//
// Shaped like Alembic's ddl/impl.py: DdlRenderer renders everything both
// backends spell alike, once; SqliteDdl (ddl_sqlite.cpp) and PostgresDdl
// (ddl_postgres.cpp) override only what differs — types, autoincrement, the
// checks SQLite needs for types it lacks, literal spellings, and what to do with
// foreign-key cycles. Each statement kind is its own method, so migrations
// (ALTER, SQLite table rebuilds) extend the renderer instead of re-rendering.
//
// Input is a validated model (schema::validate fills the default names); an
// unnamed primary key, foreign key, unique or check is rendered without its
// CONSTRAINT clause, an unnamed index is a UsageError.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "keel/config.hpp"
#include "keel/dialect.hpp"
#include "keel/schema.hpp"

namespace keel::dialect {

// Statements creating `meta` (tables in FK dependency order, then indexes).
std::vector<std::string> create_statements(const schema::MetaData& meta, Backend b);
// Statements dropping every table of `meta`, dependents first.
std::vector<std::string> drop_statements(const schema::MetaData& meta, Backend b);
// True when `b` checks a foreign key's target at CREATE TABLE, so the keys that close a
// cycle are added (and dropped) apart from their tables — PostgreSQL; SQLite keeps them
// inline because it cannot add a foreign key to an existing table.
bool separates_cycle_foreign_keys(Backend b);
// The declared type of a column on `b` ("BIGINT", "DECIMAL TEXT(10,2)", "timestamptz"),
// taken on its own (see the overload for a column in its table).
std::string column_type_sql(const schema::Column& c, Backend b);
// The declared type of column `c` of table `t`: on SQLite an integer that alone is
// the primary key without autoincrement is "INT", so it does not alias the rowid.
std::string column_type_sql(const schema::Table& t, const schema::Column& c, Backend b);

// The order tables are created in, and the foreign keys a backend must add after
// creating them because they close a cycle.
struct CreationPlan {
  std::vector<const schema::Table*> tables;  // referenced tables first
  struct Deferred {
    const schema::Table* table;
    const schema::ForeignKey* fk;
  };
  // The FKs of cycles: each references a table created after its own (self
  // references are never deferred).
  std::vector<Deferred> cycle_fks;
};
// Orders meta's tables topologically by their FKs. Stable: among tables free to go,
// the model's order decides; a cycle is entered at its first table in model order.
CreationPlan plan_creation(const schema::MetaData& meta);

class DdlRenderer {
 public:
  virtual ~DdlRenderer() = default;
  DdlRenderer(const DdlRenderer&) = delete;
  DdlRenderer& operator=(const DdlRenderer&) = delete;

  const Dialect& dialect() const noexcept { return dialect_; }
  Backend backend() const noexcept { return dialect_.backend(); }

  // ---- whole schemas ----
  // See create_statements / drop_statements.
  std::vector<std::string> create_all(const schema::MetaData& meta) const;
  std::vector<std::string> drop_all(const schema::MetaData& meta) const;

  // ---- one statement each ----
  // CREATE TABLE with every column and table constraint except the FKs in `skip_fks`.
  std::string create_table(const schema::Table& t,
                           const std::vector<const schema::ForeignKey*>& skip_fks = {}) const;
  // DROP TABLE "t".
  std::string drop_table(const schema::Table& t) const;
  // CREATE [UNIQUE] INDEX "name" ON "t" (…) [WHERE …].
  std::string create_index(const schema::Table& t, const schema::Index& ix) const;
  // DROP INDEX "name".
  std::string drop_index(const schema::Table& t, const schema::Index& ix) const;
  // ALTER TABLE "t" ADD CONSTRAINT "name" FOREIGN KEY … (PostgreSQL only: SQLite
  // cannot add constraints to an existing table; there it throws UsageError).
  virtual std::string add_foreign_key(const schema::Table& t, const schema::ForeignKey& fk) const;
  // ALTER TABLE "t" DROP CONSTRAINT "name" (PostgreSQL only, like add_foreign_key).
  virtual std::string drop_constraint(const schema::Table& t, std::string_view name) const;

  // ---- pieces ----
  // The column's declared type; `t` decides what depends on the table (may be null).
  virtual std::string column_type(const schema::Table* t, const schema::Column& c) const = 0;
  // "name" type [identity] [NOT NULL] [DEFAULT …].
  std::string column_definition(const schema::Table& t, const schema::Column& c) const;
  // " DEFAULT …" for the column's server default ("" without one).
  std::string default_clause(const schema::Table& t, const schema::Column& c) const;
  // The table constraints of `t`, each "CONSTRAINT "name" …", in this order: primary
  // key, foreign keys (minus skip_fks), uniques, the checks the backend implies for
  // types it lacks, then the user's checks.
  std::vector<std::string> table_constraints(
      const schema::Table& t, const std::vector<const schema::ForeignKey*>& skip_fks) const;
  std::string primary_key_constraint(const schema::PrimaryKey& pk) const;
  std::string foreign_key_constraint(const schema::ForeignKey& fk) const;
  std::string unique_constraint(const schema::UniqueConstraint& u) const;
  std::string check_constraint(const schema::CheckConstraint& c) const;
  // 'text' with quotes doubled; UsageError for a NUL byte (`what` names the place).
  static std::string string_literal(std::string_view text, std::string_view what);

  // True when c is an autoincrement key that alone is t's primary key.
  static bool is_autoincrement_key(const schema::Table& t, const schema::Column& c);
  // True when c alone is t's primary key.
  static bool is_sole_primary_key(const schema::Table& t, const schema::Column& c);

 protected:
  explicit DdlRenderer(const Dialect& d) : dialect_(d) {}

  // What follows the type of an autoincrement key (PostgreSQL's identity clause).
  virtual std::string autoincrement_clause(const schema::Column&) const { return {}; }
  // Checks standing in for a type the backend lacks (SQLite's boolean, json).
  virtual std::vector<schema::CheckConstraint> implied_checks(const schema::Table&) const {
    return {};
  }
  // A boolean literal.
  virtual std::string boolean_literal(bool v) const = 0;
  // A blob literal.
  virtual std::string blob_literal(const Blob& b) const = 0;
  // The DEFAULT expression for current_timestamp.
  virtual std::string current_timestamp_default() const = 0;
  // True when the backend checks FK targets at CREATE TABLE, so cycle-closing FKs
  // must be added by ALTER TABLE after every table exists.
  virtual bool defers_cycle_foreign_keys() const { return false; }
  // The order drop_all drops the tables of `plan` in: the reverse of creation.
  virtual std::vector<const schema::Table*> drop_order(const CreationPlan& plan) const {
    return {plan.tables.rbegin(), plan.tables.rend()};
  }

 private:
  // The literal `v` as a DEFAULT of column `c` of `t`.
  std::string default_literal(const schema::Table& t, const schema::Column& c,
                              const Value& v) const;

  const Dialect& dialect_;
};

// The renderer of backend `b`; the objects live for the whole program.
const DdlRenderer& ddl_renderer(Backend b);
const DdlRenderer& sqlite_ddl();
const DdlRenderer& postgres_ddl();

}  // namespace keel::dialect
