// SQLite: its own ALTER TABLE where it can, the documented table rebuild elsewhere.
//
// SQLite's ALTER TABLE renames tables and columns, adds a column that needs no
// check of existing rows (nullable or with a constant default, not part of a key),
// and drops a column nothing else uses. Everything else follows "Making Other Kinds
// Of Table Schema Changes" (https://www.sqlite.org/lang_altertable.html):
//
//   CREATE TABLE "_keel_new_t" (… the table as it must become …)
//   INSERT INTO "_keel_new_t" (…) SELECT … FROM "t"      -- converted where types change
//   DROP TABLE "t"
//   ALTER TABLE "_keel_new_t" RENAME TO "t"
//   CREATE INDEX …; CREATE TRIGGER …                      -- the table's, re-created
//
// DROP TABLE with foreign keys on deletes every row first, which fires ON DELETE
// CASCADE (or SET NULL) in every child table: a rebuild would silently empty or
// orphan the children — the data loss other tools' rebuilds are known for. And
// PRAGMA foreign_keys cannot change inside a transaction. So the whole migration
// runs with enforcement off (migration_prologue, before BEGIN), and instead of
// enforcing row by row it ends with PRAGMA foreign_key_check before COMMIT: any
// violation the new definitions reveal rolls everything back.
//
// SQLite converts silently where PostgreSQL refuses ('abc' in an INTEGER column
// stays text; CAST('abc' AS INTEGER) is 0). The copy therefore goes through a
// temporary BEFORE INSERT trigger on the new table that aborts with a message
// naming the table and column when a row would become NULL in a NOT NULL column or
// a value does not convert to the new type — the same rows PostgreSQL's ALTER
// refuses — so a migration fails instead of losing data.
#include <fmt/format.h>

#include "alter.hpp"
#include "keel/error.hpp"

namespace keel::dialect {
namespace {

using schema::Column;
using schema::Table;
using schema::TypeKind;

// keel's timestamp text, as the SQLite DEFAULT for now() writes it.
constexpr const char* kTimestampFormat = "'%Y-%m-%dT%H:%M:%f000Z'";
constexpr const char* kTimestampGlob =
    "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
    ".[0-9][0-9][0-9][0-9][0-9][0-9]Z'";
constexpr const char* kUuidGlob =
    "'[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-"
    "[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-"
    "[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-"
    "[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]"
    "[0-9a-f]'";

bool is_texty(TypeKind k) { return k == TypeKind::text || k == TypeKind::string; }

// True when the type's SQLite rendering carries a CHECK named after the table and
// column (boolean, json): renaming either leaves a check reflection no longer
// recognises as the type's, so the table is rebuilt to re-create it under the new name.
bool has_implied_check(const Column& c) {
  return c.type.kind == TypeKind::boolean || c.type.kind == TypeKind::json;
}

bool has_implied_check(const Table& t) {
  for (const auto& c : t.columns)
    if (has_implied_check(c)) return true;
  return false;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  for (const auto& n : names)
    if (n == name) return true;
  return false;
}

// How a surviving column's value is copied into the rebuilt table: the SELECT
// expression, and the predicate on NEW."col" that means "this row did not convert".
struct Conversion {
  std::string expr;
  std::string bad;  // "" when every value converts
};

// A rebuild: the table as it is (`source`, named as it is now) and as it must become.
// Columns are matched by name: a rename runs natively before any rebuild.
struct Rebuild {
  const Table& source;
  const Table& target;
};

class SqliteAlter final : public AlterRenderer {
 public:
  SqliteAlter() : AlterRenderer(sqlite_ddl()) {}

 protected:
  Statements rename_table(const schema::RenameTable& op, const AlterContext& ctx) const override {
    // The native rename also rewrites other tables' REFERENCES (SQLite ≥ 3.26 does
    // so even with foreign keys off), which a rebuild under the new name would not.
    Statements out = AlterRenderer::rename_table(op, ctx);
    const Table& before = table_of(ctx.before, op.from, "rename table", "before");
    if (!has_implied_check(before)) return out;
    Table renamed = before;
    renamed.name = op.to;
    append(out, rebuild({renamed, table_of(ctx.after, op.to, "rename table", "after")}, ctx));
    return out;
  }

  Statements rename_column(const schema::RenameColumn& op,
                           const AlterContext& ctx) const override {
    Statements out = AlterRenderer::rename_column(op, ctx);
    const Table& before = table_of(ctx.before, op.table, "rename column", "before");
    const Column* c = before.column(op.from);
    if (c == nullptr || !has_implied_check(*c)) return out;
    Table renamed = before;
    renamed.column(op.from)->name = op.to;
    append(out,
           rebuild({renamed, table_of(ctx.after, op.table, "rename column", "after")}, ctx));
    return out;
  }

  Statements add_column(const schema::AddColumn& op, const AlterContext& ctx) const override {
    const Table& after = table_of(ctx.after, op.table, "add column", "after");
    if (native_add_column(after, op.column))
      return {alter_table(op.table) + " ADD COLUMN " + ddl().column_definition(after, op.column)};
    return rebuild({table_of(ctx.before, op.table, "add column", "before"), after}, ctx);
  }

  Statements drop_column(const schema::DropColumn& op, const AlterContext& ctx) const override {
    const Table& before = table_of(ctx.before, op.table, "drop column", "before");
    if (native_drop_column(ctx, before, op.column.name))
      return {alter_table(op.table) + " DROP COLUMN " + quote(op.column.name)};
    return rebuild({before, table_of(ctx.after, op.table, "drop column", "after")}, ctx);
  }

  Statements alter_column(const schema::AlterColumn& op, const AlterContext& ctx) const override {
    return rebuild_table(op.table, "alter column", ctx);
  }
  Statements add_foreign_key(const schema::AddForeignKey& op,
                             const AlterContext& ctx) const override {
    return rebuild_table(op.table, "add foreign key", ctx);
  }
  Statements drop_foreign_key(const schema::DropForeignKey& op,
                              const AlterContext& ctx) const override {
    return rebuild_table(op.table, "drop foreign key", ctx);
  }
  Statements add_unique(const schema::AddUnique& op, const AlterContext& ctx) const override {
    return rebuild_table(op.table, "add unique", ctx);
  }
  Statements drop_unique(const schema::DropUnique& op, const AlterContext& ctx) const override {
    return rebuild_table(op.table, "drop unique", ctx);
  }
  Statements add_check(const schema::AddCheck& op, const AlterContext& ctx) const override {
    return rebuild_table(op.table, "add check", ctx);
  }
  Statements drop_check(const schema::DropCheck& op, const AlterContext& ctx) const override {
    return rebuild_table(op.table, "drop check", ctx);
  }
  Statements alter_primary_key(const schema::AlterPrimaryKey& op,
                               const AlterContext& ctx) const override {
    return rebuild_table(op.table, "alter primary key", ctx);
  }

 private:
  static void append(Statements& out, Statements more) {
    for (auto& s : more) out.push_back(std::move(s));
  }

  Statements rebuild_table(const std::string& table, std::string_view kind,
                           const AlterContext& ctx) const {
    return rebuild(
        {table_of(ctx.before, table, kind, "before"), table_of(ctx.after, table, kind, "after")},
        ctx);
  }

  // ALTER TABLE ADD COLUMN refuses a PRIMARY KEY or UNIQUE column, a NOT NULL one
  // without a default, and a non-constant default; the implied CHECK of a boolean
  // or json column would have to be a column constraint reflection does not know.
  bool native_add_column(const Table& after, const Column& c) const {
    if (c.autoincrement || has_implied_check(c)) return false;
    if (after.primary_key && contains(after.primary_key->columns, c.name)) return false;
    for (const auto& u : after.uniques)
      if (contains(u.columns, c.name)) return false;
    for (const auto& fk : after.foreign_keys)
      if (contains(fk.columns, c.name)) return false;
    for (const auto& ck : after.checks)
      if (ck.expression.find(c.name) != std::string::npos) return false;
    if (c.server_default && c.server_default->kind != schema::Default::Kind::literal)
      return false;
    if (!c.nullable && (!c.server_default || c.server_default->literal.is_null())) return false;
    return true;
  }

  // ALTER TABLE DROP COLUMN refuses a column that a key, an index, a foreign key, a
  // check, a trigger or a view uses. Expressions are not parsed: any that mentions
  // the name counts, since a needless rebuild is only slower.
  bool native_drop_column(const AlterContext& ctx, const Table& t, const std::string& col) const {
    const Column* c = t.column(col);
    if (c == nullptr || has_implied_check(*c)) return false;
    if (t.primary_key && contains(t.primary_key->columns, col)) return false;
    for (const auto& u : t.uniques)
      if (contains(u.columns, col)) return false;
    for (const auto& ix : t.indexes)
      if (contains(ix.columns, col) || ix.where.find(col) != std::string::npos) return false;
    for (const auto& fk : t.foreign_keys)
      if (contains(fk.columns, col)) return false;
    for (const auto& ck : t.checks)
      if (ck.expression.find(col) != std::string::npos) return false;
    for (const auto& other : ctx.before.tables)
      for (const auto& fk : other.foreign_keys)
        if (fk.ref_table == t.name && contains(fk.ref_columns, col)) return false;
    for (const auto& trigger : ctx.triggers)
      if (trigger.find(col) != std::string::npos) return false;
    return true;
  }

  // The copy of column `s` into column `c` of the new table (see the file comment).
  Conversion convert(const Column& s, const Column& c) const {
    const std::string src = quote(s.name);
    const std::string nw = "NEW." + quote(c.name);
    const TypeKind a = s.type.kind, b = c.type.kind;
    const std::string trimmed = fmt::format("CASE WHEN typeof({0}) = 'text' THEN trim({0}) "
                                            "ELSE {0} END",
                                            src);
    const std::string bool_text =
        fmt::format("CASE {} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END", src);
    const bool number = is_integer_family(a) || a == TypeKind::real || a == TypeKind::numeric;
    if (a == b || (is_integer_family(a) && is_integer_family(b))) return {src, {}};

    switch (b) {
      case TypeKind::integer:
      case TypeKind::bigint:
      case TypeKind::smallint:
        if (a == TypeKind::boolean) return {src, {}};
        // PostgreSQL rounds a real or numeric to an integer; CAST alone truncates.
        if (a == TypeKind::real || a == TypeKind::numeric)
          return {"CAST(round(" + src + ") AS INTEGER)", {}};
        // INTEGER affinity turns integer text into an integer and leaves other text be.
        return {trimmed, fmt::format("{0} IS NOT NULL AND typeof({0}) <> 'integer'", nw)};
      case TypeKind::real:
        if (number || a == TypeKind::boolean) return {"CAST(" + src + " AS REAL)", {}};
        return {trimmed, fmt::format("{0} IS NOT NULL AND typeof({0}) <> 'real'", nw)};
      case TypeKind::numeric:
        if (number || a == TypeKind::boolean) return {"CAST(" + src + " AS TEXT)", {}};
        return {"trim(" + src + ")",
                fmt::format("{0} IS NOT NULL AND ({0} NOT GLOB '*[0-9]*' OR "
                            "{0} GLOB '*[^0-9.eE+-]*')",
                            nw)};
      case TypeKind::boolean: {
        // PostgreSQL's spellings of a boolean; anything else fails the check.
        std::string expr = src;
        if (!number)
          expr = fmt::format("CASE lower(trim({0})) WHEN 'true' THEN 1 WHEN 't' THEN 1 "
                             "WHEN 'yes' THEN 1 WHEN 'y' THEN 1 WHEN 'on' THEN 1 WHEN '1' THEN 1 "
                             "WHEN 'false' THEN 0 WHEN 'f' THEN 0 WHEN 'no' THEN 0 "
                             "WHEN 'n' THEN 0 WHEN 'off' THEN 0 WHEN '0' THEN 0 ELSE {0} END",
                             src);
        return {expr, fmt::format("{0} IS NOT NULL AND {0} NOT IN (0, 1)", nw)};
      }
      case TypeKind::text:
      case TypeKind::string:
        // PostgreSQL's boolean::text is 'true'/'false'.
        if (a == TypeKind::boolean) return {bool_text, {}};
        return {"CAST(" + src + " AS TEXT)", {}};
      case TypeKind::json: {
        std::string expr = src;
        if (a == TypeKind::boolean)
          expr = bool_text;
        else if (is_integer_family(a) || a == TypeKind::real)
          expr = "CAST(" + src + " AS TEXT)";
        else if (!is_texty(a) && a != TypeKind::numeric)
          expr = "json_quote(" + src + ")";  // a date, timestamp or uuid: a JSON string
        return {expr, fmt::format("{0} IS NOT NULL AND NOT json_valid({0})", nw)};
      }
      case TypeKind::date: {
        std::string expr = src;
        if (is_texty(a) || a == TypeKind::timestamp)
          expr = fmt::format("COALESCE(date({0}), {0})", src);
        return {expr, fmt::format("{0} IS NOT NULL AND date({0}) IS NOT {0}", nw)};
      }
      case TypeKind::timestamp: {
        // Text in keel's form stays as written (strftime keeps milliseconds only);
        // other date-time text is converted to UTC in that form.
        std::string expr = src;
        if (is_texty(a) || a == TypeKind::date)
          expr = fmt::format("CASE WHEN {0} GLOB {1} THEN {0} ELSE COALESCE(strftime({2}, {0}), "
                             "{0}) END",
                             src, kTimestampGlob, kTimestampFormat);
        return {expr, fmt::format("{0} IS NOT NULL AND {0} NOT GLOB {1}", nw, kTimestampGlob)};
      }
      case TypeKind::uuid:
        return {is_texty(a) ? "lower(trim(" + src + "))" : src,
                fmt::format("{0} IS NOT NULL AND {0} NOT GLOB {1}", nw, kUuidGlob)};
      case TypeKind::blob:
        return {"CAST(" + src + " AS BLOB)", {}};
    }
    return {src, {}};
  }

  // The rebuild of the file comment, for `r`.
  Statements rebuild(const Rebuild& r, const AlterContext& ctx) const {
    const Table& t = r.target;
    const std::string temp = "_keel_new_" + t.name;
    const std::string guard = "_keel_check_" + t.name;

    // Rendered under the real name, so the implied checks carry it ("<t>_<c>_bool"),
    // then created under the temporary one.
    std::string create = ddl().create_table(t);
    const std::string head = "CREATE TABLE " + quote(t.name) + " (";
    if (create.compare(0, head.size(), head) != 0)
      throw UsageError(fmt::format("table \"{}\": unexpected CREATE TABLE form", t.name));
    create = "CREATE TABLE " + quote(temp) + " (" + create.substr(head.size());

    std::string columns, values;
    std::vector<std::string> guards;
    for (const auto& c : t.columns) {
      const Column* s = r.source.column(c.name);
      const std::string place = fmt::format("column \"{}\".\"{}\"", t.name, c.name);
      if (!c.nullable && !c.autoincrement && (s == nullptr || s->nullable)) {
        if (s != nullptr)
          guards.push_back(raise_if("NEW." + quote(c.name) + " IS NULL",
                                    place + " cannot become NOT NULL: some rows hold NULL "
                                            "there; set a value in those rows first"));
        else if (!c.server_default)
          guards.push_back(raise_if("NEW." + quote(c.name) + " IS NULL",
                                    "cannot add NOT NULL " + place +
                                        " without a default: the table has rows; give the "
                                        "column a default"));
      }
      if (s == nullptr) continue;  // a new column: its default fills it
      Conversion conv = convert(*s, c);
      if (!conv.bad.empty())
        guards.push_back(raise_if(conv.bad, fmt::format("cannot change {} from {} to {}: a row "
                                                        "holds a value that is not a valid {}",
                                                        place, type_label(s->type),
                                                        type_label(c.type), type_label(c.type))));
      if (!columns.empty()) {
        columns += ", ";
        values += ", ";
      }
      columns += quote(c.name);
      values += conv.expr;
    }

    Statements out{create};
    if (!guards.empty()) {
      std::string trigger = "CREATE TRIGGER " + quote(guard) + " BEFORE INSERT ON " +
                            quote(temp) + " BEGIN";
      for (const auto& g : guards) trigger += " " + g + ";";
      out.push_back(trigger + " END");
    }
    if (!columns.empty())
      out.push_back(fmt::format("INSERT INTO {} ({}) SELECT {} FROM {}", quote(temp), columns,
                                values, quote(r.source.name)));
    if (!guards.empty()) out.push_back("DROP TRIGGER " + quote(guard));
    out.push_back("DROP TABLE " + quote(r.source.name));
    out.push_back(alter_table(temp) + " RENAME TO " + quote(t.name));
    for (const auto& ix : t.indexes) out.push_back(ddl().create_index(t, ix));
    for (const auto& trigger : ctx.triggers) out.push_back(trigger);
    return out;
  }

  static std::string raise_if(const std::string& predicate, const std::string& message) {
    return "SELECT RAISE(ABORT, " + DdlRenderer::string_literal(message, "error message") +
           ") WHERE " + predicate;
  }
};

}  // namespace

const AlterRenderer& sqlite_alter() {
  static const SqliteAlter instance;
  return instance;
}

}  // namespace keel::dialect
