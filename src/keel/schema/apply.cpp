// apply() and invert(): schema operations as changes to a model.
//
// A migration history is a list of operations; the schema at any revision is the
// empty model with the operations up to it applied. So apply() must do to the model
// exactly what the operation does to a database, and refuse what a database would
// refuse or — worse — would do silently: PostgreSQL's DROP COLUMN … CASCADE takes
// indexes and other tables' foreign keys with it, so here dropping a column that
// anything still uses is an error naming each user; the author drops them first.
//
// Objects entering the model lose `renamed_from`: it declares a rename to diff()
// and means nothing in a model that already has the new name.
//
// Tables and their constraints and indexes are inserted in name order, so a model
// in validate()'s canonical form stays in it; columns are appended, as both
// backends append them.
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "keel/error.hpp"
#include "keel/schema.hpp"
#include "schema/internal.hpp"

namespace keel::schema {
namespace {

using Names = std::vector<std::string>;

class Applier {
 public:
  Applier(MetaData& meta, const Operation& op) : meta_(meta), op_(op) {}

  void operator()(const CreateTable& o) {
    if (meta_.table(o.table.name) != nullptr) fail("table already exists");
    Table t = o.table;
    t.renamed_from.clear();
    for (Column& c : t.columns) c.renamed_from.clear();
    insert_by_name(meta_.tables, std::move(t));
  }

  void operator()(const DropTable& o) {
    table(o.table.name);
    // Other tables' foreign keys into it are not checked: tables in a foreign-key
    // cycle can only be dropped one after the other, and SQLite drops a table's
    // foreign keys with it. The database itself refuses a drop that breaks one.
    auto& ts = meta_.tables;
    ts.erase(
        std::find_if(ts.begin(), ts.end(), [&](const Table& t) { return t.name == o.table.name; }));
  }

  void operator()(const RenameTable& o) {
    table(o.from);
    if (meta_.table(o.to) != nullptr) fail(fmt::format("table '{}' already exists", o.to));
    auto& ts = meta_.tables;
    auto it = std::find_if(ts.begin(), ts.end(), [&](const Table& x) { return x.name == o.from; });
    Table moved = std::move(*it);
    ts.erase(it);
    moved.name = o.to;
    moved.renamed_from.clear();
    insert_by_name(ts, std::move(moved));
    for (Table& x : ts)
      for (ForeignKey& fk : x.foreign_keys)
        if (fk.ref_table == o.from) fk.ref_table = o.to;
  }

  void operator()(const AddColumn& o) {
    Table& t = table(o.table);
    if (t.column(o.column.name) != nullptr) fail("column already exists");
    Column c = o.column;
    c.renamed_from.clear();
    t.columns.push_back(std::move(c));
  }

  void operator()(const DropColumn& o) {
    Table& t = table(o.table);
    column(t, o.column.name);
    Names users = users_of(t, o.column.name);
    if (!users.empty()) {
      fail(fmt::format("column is still used by {}; drop {} first", fmt::join(users, ", "),
                       users.size() == 1 ? "it" : "them"));
    }
    t.columns.erase(std::find_if(t.columns.begin(), t.columns.end(),
                                 [&](const Column& c) { return c.name == o.column.name; }));
  }

  void operator()(const AlterColumn& o) {
    Table& t = table(o.table);
    Column& c = column(t, o.from.name);
    if (o.to.name != o.from.name)
      fail(fmt::format("alter column cannot rename '{}' to '{}': use rename_column", o.from.name,
                       o.to.name));
    c = o.to;
    c.renamed_from.clear();
  }

  void operator()(const RenameColumn& o) {
    Table& t = table(o.table);
    column(t, o.from);
    if (t.column(o.to) != nullptr) fail(fmt::format("column '{}' already exists", o.to));
    t.column(o.from)->name = o.to;
    auto rename = [&](Names& cols) { std::replace(cols.begin(), cols.end(), o.from, o.to); };
    if (t.primary_key) rename(t.primary_key->columns);
    for (ForeignKey& fk : t.foreign_keys) rename(fk.columns);
    for (UniqueConstraint& u : t.uniques) rename(u.columns);
    for (Index& ix : t.indexes) rename(ix.columns);
    for (Table& x : meta_.tables)
      for (ForeignKey& fk : x.foreign_keys)
        if (fk.ref_table == o.table) rename(fk.ref_columns);
  }

  void operator()(const CreateIndex& o) {
    Table& t = table(o.table);
    new_name(o.index.name, "an index");
    columns(t, o.index.columns);
    insert_by_name(t.indexes, o.index);
  }

  void operator()(const DropIndex& o) {
    Table& t = table(o.table);
    erase(
        t.indexes, [&](const Index& ix) { return ix.name == o.index.name; },
        fmt::format("index '{}'", o.index.name));
  }

  void operator()(const AddForeignKey& o) {
    Table& t = table(o.table);
    new_name(o.fk.name, "a foreign key");
    columns(t, o.fk.columns);
    const Table& target = o.fk.ref_table == o.table ? t : table(o.fk.ref_table);
    columns(target, o.fk.ref_columns);
    if (o.fk.columns.size() != o.fk.ref_columns.size())
      fail(fmt::format("{} column(s) reference {} column(s)", o.fk.columns.size(),
                       o.fk.ref_columns.size()));
    insert_by_name(t.foreign_keys, o.fk);
  }

  void operator()(const DropForeignKey& o) {
    Table& t = table(o.table);
    // By name, or — for a key whose name the database did not report (SQLite's
    // PRAGMA foreign_key_list) — by what diff() matches keys on.
    erase(
        t.foreign_keys,
        [&](const ForeignKey& fk) {
          return o.fk.name.empty() || fk.name.empty()
                     ? fk.columns == o.fk.columns && fk.ref_table == o.fk.ref_table &&
                           fk.ref_columns == o.fk.ref_columns
                     : fk.name == o.fk.name;
        },
        fmt::format("foreign key '{}'", o.fk.name));
  }

  void operator()(const AddUnique& o) {
    Table& t = table(o.table);
    new_name(o.unique.name, "a unique constraint");
    columns(t, o.unique.columns);
    insert_by_name(t.uniques, o.unique);
  }

  void operator()(const DropUnique& o) {
    Table& t = table(o.table);
    erase(
        t.uniques,
        [&](const UniqueConstraint& u) {
          return o.unique.name.empty() || u.name.empty() ? u.columns == o.unique.columns
                                                         : u.name == o.unique.name;
        },
        fmt::format("unique constraint '{}'", o.unique.name));
  }

  void operator()(const AddCheck& o) {
    Table& t = table(o.table);
    if (o.check.name.empty()) fail("a check needs a name");
    new_name(o.check.name, "a check");
    insert_by_name(t.checks, o.check);
  }

  void operator()(const DropCheck& o) {
    Table& t = table(o.table);
    erase(
        t.checks, [&](const CheckConstraint& c) { return c.name == o.check.name; },
        fmt::format("check '{}'", o.check.name));
  }

  void operator()(const AlterPrimaryKey& o) {
    Table& t = table(o.table);
    if (o.to) {
      if (o.to->columns.empty()) fail("a primary key needs at least one column");
      columns(t, o.to->columns);
      // The key's name may stay the same (it usually is <table>_pkey).
      if (!t.primary_key || t.primary_key->name != o.to->name)
        new_name(o.to->name, "a primary key");
    }
    t.primary_key = o.to;
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw UsageError(fmt::format("{}: {}", describe(op_), message));
  }

  static Names table_names(const MetaData& meta) {
    Names out;
    for (const Table& t : meta.tables) out.push_back(t.name);
    return out;
  }

  Table& table(const std::string& name) {
    if (Table* t = meta_.table(name)) return *t;
    std::string hint = detail::closest(name, table_names(meta_));
    fail(fmt::format("table '{}' does not exist{}", name,
                     hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
  }

  Column& column(Table& t, const std::string& name) {
    if (Column* c = t.column(name)) return *c;
    missing_column(t, name);
  }
  void columns(const Table& t, const Names& names) const {
    if (names.empty()) fail("no columns given");
    for (const std::string& n : names)
      if (t.column(n) == nullptr) missing_column(t, n);
  }
  [[noreturn]] void missing_column(const Table& t, const std::string& name) const {
    Names names;
    for (const Column& c : t.columns) names.push_back(c.name);
    std::string hint = detail::closest(name, names);
    fail(fmt::format("table '{}' has no column '{}'{}", t.name, name,
                     hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
  }

  // Keys, constraints and indexes share one namespace across the schema (as
  // PostgreSQL keeps them per schema; validate() holds the model to the same rule).
  void new_name(const std::string& name, std::string_view what) const {
    if (name.empty()) return;  // unnamed: rendered without a CONSTRAINT clause
    for (const Table& t : meta_.tables) {
      auto taken = [&](std::string_view kind) {
        fail(fmt::format("{} named '{}' cannot be added: {} of table '{}' has that name", what,
                         name, kind, t.name));
      };
      if (t.primary_key && t.primary_key->name == name) taken("the primary key");
      for (const ForeignKey& fk : t.foreign_keys)
        if (fk.name == name) taken("a foreign key");
      for (const UniqueConstraint& u : t.uniques)
        if (u.name == name) taken("a unique constraint");
      for (const CheckConstraint& c : t.checks)
        if (c.name == name) taken("a check");
      for (const Index& ix : t.indexes)
        if (ix.name == name) taken("an index");
    }
  }

  // Everything in the model that names column `col` of `t`, one readable item each.
  Names users_of(const Table& t, const std::string& col) const {
    auto uses = [&](const Names& cols) {
      return std::find(cols.begin(), cols.end(), col) != cols.end();
    };
    Names out;
    if (t.primary_key && uses(t.primary_key->columns))
      out.push_back(fmt::format("primary key {}", t.primary_key->name));
    for (const ForeignKey& fk : t.foreign_keys)
      if (uses(fk.columns)) out.push_back(fmt::format("foreign key {}", fk.name));
    for (const UniqueConstraint& u : t.uniques)
      if (uses(u.columns)) out.push_back(fmt::format("unique constraint {}", u.name));
    for (const Index& ix : t.indexes)
      if (uses(ix.columns)) out.push_back(fmt::format("index {}", ix.name));
    for (const Table& x : meta_.tables)
      for (const ForeignKey& fk : x.foreign_keys)
        if (fk.ref_table == t.name && uses(fk.ref_columns) && !(&x == &t && uses(fk.columns)))
          out.push_back(fmt::format("foreign key {} of table {}", fk.name, x.name));
    return out;
  }

  template <class T>
  static void insert_by_name(std::vector<T>& items, T item) {
    auto at =
        std::find_if(items.begin(), items.end(), [&](const T& x) { return item.name < x.name; });
    items.insert(at, std::move(item));
  }

  template <class T, class Match>
  void erase(std::vector<T>& items, Match match, const std::string& what) const {
    auto it = std::find_if(items.begin(), items.end(), match);
    if (it == items.end()) fail(fmt::format("{} does not exist", what));
    items.erase(it);
  }

  MetaData& meta_;
  const Operation& op_;
};

}  // namespace

void apply(MetaData& meta, const Operation& op) {
  // Work on a copy, so a refused operation leaves `meta` as it was.
  MetaData next = meta;
  std::visit(Applier(next, op), op);
  meta = std::move(next);
}

Operation invert(const Operation& op) {
  return std::visit(
      [](const auto& o) -> Operation {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, CreateTable>)
          return DropTable{o.table};
        else if constexpr (std::is_same_v<T, DropTable>)
          return CreateTable{o.table};
        else if constexpr (std::is_same_v<T, RenameTable>)
          return RenameTable{o.to, o.from};
        else if constexpr (std::is_same_v<T, AddColumn>)
          return DropColumn{o.table, o.column};
        else if constexpr (std::is_same_v<T, DropColumn>)
          return AddColumn{o.table, o.column};
        else if constexpr (std::is_same_v<T, AlterColumn>)
          return AlterColumn{o.table, o.to, o.from};
        else if constexpr (std::is_same_v<T, RenameColumn>)
          return RenameColumn{o.table, o.to, o.from};
        else if constexpr (std::is_same_v<T, CreateIndex>)
          return DropIndex{o.table, o.index};
        else if constexpr (std::is_same_v<T, DropIndex>)
          return CreateIndex{o.table, o.index};
        else if constexpr (std::is_same_v<T, AddForeignKey>)
          return DropForeignKey{o.table, o.fk};
        else if constexpr (std::is_same_v<T, DropForeignKey>)
          return AddForeignKey{o.table, o.fk};
        else if constexpr (std::is_same_v<T, AddUnique>)
          return DropUnique{o.table, o.unique};
        else if constexpr (std::is_same_v<T, DropUnique>)
          return AddUnique{o.table, o.unique};
        else if constexpr (std::is_same_v<T, AddCheck>)
          return DropCheck{o.table, o.check};
        else if constexpr (std::is_same_v<T, DropCheck>)
          return AddCheck{o.table, o.check};
        else {
          static_assert(std::is_same_v<T, AlterPrimaryKey>);
          return AlterPrimaryKey{o.table, o.to, o.from};
        }
      },
      op);
}

}  // namespace keel::schema
