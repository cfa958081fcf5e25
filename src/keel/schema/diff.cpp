// diff(): the operations that turn one model into another.
//
// Both models are first normalised for the backend (dialect/normalize.hpp), so a
// model and its reflection compare equal; the operations themselves carry the
// caller's objects, not the normalised copies, because a migration renders them.
// normalize() never reorders anything, so an object's position is the same in
// both copies.
//
// What counts as "the same" (docs/schema.md): tables and columns by name, a rename
// only where `renamed_from` declares it; a primary key by its columns; a foreign
// key by (columns, referenced table, referenced columns), its actions compared; a
// unique constraint by its columns; a check by its name (backends rewrite check
// expressions, so they are not compared); an index by its name, its columns,
// uniqueness and normalised WHERE compared. Names of keys and unique constraints
// are not compared: SQLite's PRAGMAs do not report them.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "dialect/ddl.hpp"
#include "dialect/normalize.hpp"
#include "keel/schema.hpp"

namespace keel::schema {
namespace {

using Names = std::vector<std::string>;

// Orders `names` so that each comes after those it depends on (`deps`), choosing
// by name among the ready ones so the result is stable. When a cycle leaves none
// ready, the first remaining name goes next and its edges to names not yet placed
// are added to `broken`.
Names dependency_order(Names names, const std::map<std::string, std::set<std::string>>& deps,
                       std::set<std::pair<std::string, std::string>>& broken) {
  std::sort(names.begin(), names.end());
  Names placed;
  std::set<std::string> done;
  while (placed.size() < names.size()) {
    const std::string* next = nullptr;
    for (const std::string& n : names) {
      if (done.count(n)) continue;
      auto it = deps.find(n);
      bool ready =
          it == deps.end() || std::all_of(it->second.begin(), it->second.end(),
                                          [&](const std::string& d) { return done.count(d) > 0; });
      if (ready) {
        next = &n;
        break;
      }
    }
    if (next == nullptr) {
      for (const std::string& n : names) {
        if (done.count(n)) continue;
        next = &n;
        if (auto it = deps.find(n); it != deps.end())
          for (const std::string& d : it->second)
            if (!done.count(d)) broken.emplace(n, d);
        break;
      }
    }
    done.insert(*next);
    placed.push_back(*next);
  }
  return placed;
}

class Differ {
 public:
  Differ(const MetaData& from, const MetaData& to, Backend backend)
      : from_(from), to_(to), nfrom_(from), nto_(to), backend_(backend) {
    dialect::normalize(nfrom_, backend);
    dialect::normalize(nto_, backend);
  }

  std::vector<Operation> run() {
    match_tables();
    for (const auto& [fi, ti] : matched_) match_columns(fi, ti);
    dropped_tables();
    created_tables();
    for (const auto& [fi, ti] : matched_) compare_table(fi, ti);

    // Each operation comes after those it needs: a dropped table's foreign keys into
    // a kept table go before that table loses the columns they reference, and a new
    // table's foreign keys find the columns, keys and uniques they reference already
    // added (PostgreSQL checks them at CREATE TABLE).
    std::vector<Operation> ops;
    for (auto* bucket :
         {&drop_fks_, &drop_indexes_, &drop_constraints_, &drop_pks_, &drop_tables_, &drop_columns_,
          &rename_tables_, &rename_columns_, &add_columns_, &alter_columns_, &alter_pks_,
          &add_constraints_, &create_tables_, &create_indexes_, &add_fks_})
      for (Operation& op : *bucket) ops.push_back(std::move(op));
    return ops;
  }

 private:
  static std::size_t position(const MetaData& m, std::string_view name) {
    for (std::size_t i = 0; i < m.tables.size(); ++i)
      if (m.tables[i].name == name) return i;
    return m.tables.size();
  }
  static std::size_t position(const Table& t, std::string_view name) {
    for (std::size_t i = 0; i < t.columns.size(); ++i)
      if (t.columns[i].name == name) return i;
    return t.columns.size();
  }

  void match_tables() {
    std::vector<bool> from_used(nfrom_.tables.size()), to_used(nto_.tables.size());
    for (std::size_t ti = 0; ti < nto_.tables.size(); ++ti) {
      std::size_t fi = position(nfrom_, nto_.tables[ti].name);
      if (fi < nfrom_.tables.size()) {
        matched_.emplace_back(fi, ti);
        from_used[fi] = to_used[ti] = true;
      }
    }
    // A declared rename applies only when the old table is there and unclaimed, and
    // the new model does not also keep a table of the old name.
    for (std::size_t ti = 0; ti < nto_.tables.size(); ++ti) {
      const std::string& old = nto_.tables[ti].renamed_from;
      if (to_used[ti] || old.empty() || position(nto_, old) < nto_.tables.size()) continue;
      std::size_t fi = position(nfrom_, old);
      if (fi >= nfrom_.tables.size() || from_used[fi]) continue;
      matched_.emplace_back(fi, ti);
      from_used[fi] = to_used[ti] = true;
      rename_tables_.push_back(RenameTable{old, nto_.tables[ti].name});
    }
    for (std::size_t fi = 0; fi < from_used.size(); ++fi)
      if (!from_used[fi]) dropped_.push_back(fi);
    for (std::size_t ti = 0; ti < to_used.size(); ++ti)
      if (!to_used[ti]) created_.push_back(ti);
    std::sort(matched_.begin(), matched_.end(), [&](const auto& a, const auto& b) {
      return nto_.tables[a.second].name < nto_.tables[b.second].name;
    });
    std::sort(rename_tables_.begin(), rename_tables_.end(), [](const auto& a, const auto& b) {
      return std::get<RenameTable>(a).to < std::get<RenameTable>(b).to;
    });
    for (const auto& [fi, ti] : matched_) table_map_[nfrom_.tables[fi].name] = nto_.tables[ti].name;
  }

  void match_columns(std::size_t fi, std::size_t ti) {
    const Table& f = nfrom_.tables[fi];
    const Table& t = nto_.tables[ti];
    auto& map = column_map_[f.name];
    std::vector<bool> from_used(f.columns.size());
    std::vector<std::size_t> unmatched;
    for (std::size_t ci = 0; ci < t.columns.size(); ++ci) {
      std::size_t fc = position(f, t.columns[ci].name);
      if (fc < f.columns.size()) {
        from_used[fc] = true;
        map[f.columns[fc].name] = t.columns[ci].name;
      } else {
        unmatched.push_back(ci);
      }
    }
    for (std::size_t ci : unmatched) {
      const std::string& old = t.columns[ci].renamed_from;
      if (old.empty() || t.column(old) != nullptr) continue;
      std::size_t fc = position(f, old);
      if (fc >= f.columns.size() || from_used[fc]) continue;
      from_used[fc] = true;
      map[old] = t.columns[ci].name;
    }
  }

  // The name a table of `from` has in `to`'s terms (its own when not matched).
  std::string new_table(const std::string& old) const {
    auto it = table_map_.find(old);
    return it == table_map_.end() ? old : it->second;
  }
  std::string new_column(const std::string& old_table, const std::string& col) const {
    auto t = column_map_.find(old_table);
    if (t == column_map_.end()) return col;
    auto c = t->second.find(col);
    return c == t->second.end() ? col : c->second;
  }
  Names new_columns(const std::string& old_table, const Names& cols) const {
    Names out;
    for (const std::string& c : cols) out.push_back(new_column(old_table, c));
    return out;
  }

  void dropped_tables() {
    // A table goes after every dropped table that references it; on PostgreSQL the
    // foreign keys that close a cycle are dropped first (SQLite drops them with
    // their table: its foreign keys are part of the table).
    Names names;
    std::map<std::string, std::set<std::string>> deps;
    std::set<std::string> dropping;
    for (std::size_t fi : dropped_) dropping.insert(nfrom_.tables[fi].name);
    for (std::size_t fi : dropped_) {
      const Table& t = nfrom_.tables[fi];
      names.push_back(t.name);
      for (const ForeignKey& fk : t.foreign_keys)
        if (fk.ref_table != t.name && dropping.count(fk.ref_table))
          deps[fk.ref_table].insert(t.name);
    }
    std::set<std::pair<std::string, std::string>> broken;  // (referenced, referrer)
    for (const std::string& name : dependency_order(names, deps, broken)) {
      Table table = from_.tables[position(from_, name)];
      drop_tables_.push_back(DropTable{std::move(table)});
    }
    if (!dialect::separates_cycle_foreign_keys(backend_) || broken.empty()) return;
    for (Operation& op : drop_tables_) {
      Table& t = std::get<DropTable>(op).table;
      std::vector<ForeignKey> kept;
      for (ForeignKey& fk : t.foreign_keys) {
        if (broken.count({fk.ref_table, t.name}))
          drop_fks_.push_back(DropForeignKey{t.name, fk});
        else
          kept.push_back(std::move(fk));
      }
      t.foreign_keys = std::move(kept);
    }
  }

  void created_tables() {
    Names names;
    std::map<std::string, std::set<std::string>> deps;
    std::set<std::string> creating;
    for (std::size_t ti : created_) creating.insert(nto_.tables[ti].name);
    for (std::size_t ti : created_) {
      const Table& t = nto_.tables[ti];
      names.push_back(t.name);
      for (const ForeignKey& fk : t.foreign_keys)
        if (fk.ref_table != t.name && creating.count(fk.ref_table))
          deps[t.name].insert(fk.ref_table);
    }
    std::set<std::pair<std::string, std::string>> broken;  // (referrer, referenced)
    for (const std::string& name : dependency_order(names, deps, broken)) {
      Table table = to_.tables[position(to_, name)];
      // Where the backend checks a foreign key's target at creation, the keys that
      // close a cycle are added once every table exists.
      if (dialect::separates_cycle_foreign_keys(backend_)) {
        std::vector<ForeignKey> kept;
        for (ForeignKey& fk : table.foreign_keys) {
          if (broken.count({table.name, fk.ref_table}))
            add_fks_.push_back(AddForeignKey{table.name, fk});
          else
            kept.push_back(std::move(fk));
        }
        table.foreign_keys = std::move(kept);
      }
      create_tables_.push_back(CreateTable{std::move(table)});
    }
  }

  void compare_table(std::size_t fi, std::size_t ti) {
    const Table& f = nfrom_.tables[fi];
    const Table& t = nto_.tables[ti];
    const Table& fo = from_.tables[fi];
    const Table& to = to_.tables[ti];
    const std::string& old_name = f.name;
    const std::string& name = t.name;

    // Columns, in the new table's order.
    std::set<std::string> kept_columns;
    for (std::size_t ci = 0; ci < t.columns.size(); ++ci) {
      const Column& c = t.columns[ci];
      std::size_t fc = f.columns.size();
      for (std::size_t i = 0; i < f.columns.size(); ++i)
        if (new_column(old_name, f.columns[i].name) == c.name &&
            (f.columns[i].name == c.name || c.renamed_from == f.columns[i].name))
          fc = i;
      if (fc == f.columns.size()) {
        add_columns_.push_back(AddColumn{name, to.columns[ci]});
        continue;
      }
      kept_columns.insert(f.columns[fc].name);
      if (f.columns[fc].name != c.name)
        rename_columns_.push_back(RenameColumn{name, f.columns[fc].name, c.name});
      const Column& a = f.columns[fc];
      if (a.type != c.type || a.nullable != c.nullable || a.server_default != c.server_default ||
          a.autoincrement != c.autoincrement) {
        Column before = fo.columns[fc];
        before.name = c.name;  // the alter runs after the rename
        alter_columns_.push_back(AlterColumn{name, std::move(before), to.columns[ci]});
      }
    }
    for (std::size_t i = 0; i < f.columns.size(); ++i)
      if (!kept_columns.count(f.columns[i].name))
        drop_columns_.push_back(DropColumn{old_name, fo.columns[i]});

    // Primary key, by its columns.
    std::optional<Names> pk_before, pk_after;
    if (f.primary_key) pk_before = new_columns(old_name, f.primary_key->columns);
    if (t.primary_key) pk_after = t.primary_key->columns;
    if (pk_before != pk_after) {
      // A key on a column being dropped goes before the column (a column still in use
      // cannot be dropped); the new key, which may use added columns, comes after them.
      bool loses_column = f.primary_key && std::any_of(f.primary_key->columns.begin(),
                                                       f.primary_key->columns.end(),
                                                       [&](const std::string& c) {
                                                         return !kept_columns.count(c);
                                                       });
      if (!loses_column) {
        alter_pks_.push_back(AlterPrimaryKey{name, fo.primary_key, to.primary_key});
      } else {
        drop_pks_.push_back(AlterPrimaryKey{old_name, fo.primary_key, std::nullopt});
        if (to.primary_key)
          alter_pks_.push_back(AlterPrimaryKey{name, std::nullopt, to.primary_key});
      }
    }

    // Foreign keys, by (columns, referenced table, referenced columns).
    auto fk_key = [&](const ForeignKey& fk) {
      return std::tuple(new_columns(old_name, fk.columns), new_table(fk.ref_table),
                        new_columns(fk.ref_table, fk.ref_columns));
    };
    std::vector<bool> to_fk_matched(t.foreign_keys.size());
    for (std::size_t i = 0; i < f.foreign_keys.size(); ++i) {
      const ForeignKey& a = f.foreign_keys[i];
      auto key = fk_key(a);
      std::size_t j = 0;
      for (; j < t.foreign_keys.size(); ++j) {
        const ForeignKey& b = t.foreign_keys[j];
        if (!to_fk_matched[j] && key == std::tuple(b.columns, b.ref_table, b.ref_columns)) break;
      }
      if (j < t.foreign_keys.size()) {
        to_fk_matched[j] = true;
        const ForeignKey& b = t.foreign_keys[j];
        if (a.on_delete == b.on_delete && a.on_update == b.on_update) continue;
        drop_fks_.push_back(DropForeignKey{old_name, fo.foreign_keys[i]});
        add_fks_.push_back(AddForeignKey{name, to.foreign_keys[j]});
      } else {
        drop_fks_.push_back(DropForeignKey{old_name, fo.foreign_keys[i]});
      }
    }
    for (std::size_t j = 0; j < t.foreign_keys.size(); ++j)
      if (!to_fk_matched[j]) add_fks_.push_back(AddForeignKey{name, to.foreign_keys[j]});

    // Unique constraints, by their columns.
    std::vector<bool> to_unique_matched(t.uniques.size());
    for (std::size_t i = 0; i < f.uniques.size(); ++i) {
      Names cols = new_columns(old_name, f.uniques[i].columns);
      std::size_t j = 0;
      while (j < t.uniques.size() && (to_unique_matched[j] || t.uniques[j].columns != cols)) ++j;
      if (j < t.uniques.size())
        to_unique_matched[j] = true;
      else
        drop_constraints_.push_back(DropUnique{old_name, fo.uniques[i]});
    }
    for (std::size_t j = 0; j < t.uniques.size(); ++j)
      if (!to_unique_matched[j]) add_constraints_.push_back(AddUnique{name, to.uniques[j]});

    // Checks, by name.
    for (std::size_t i = 0; i < f.checks.size(); ++i) {
      bool kept = std::any_of(t.checks.begin(), t.checks.end(),
                              [&](const CheckConstraint& c) { return c.name == f.checks[i].name; });
      if (!kept) drop_constraints_.push_back(DropCheck{old_name, fo.checks[i]});
    }
    for (std::size_t j = 0; j < t.checks.size(); ++j) {
      bool existed = std::any_of(f.checks.begin(), f.checks.end(), [&](const CheckConstraint& c) {
        return c.name == t.checks[j].name;
      });
      if (!existed) add_constraints_.push_back(AddCheck{name, to.checks[j]});
    }

    // Indexes, by name; any change is a drop and a create.
    for (std::size_t i = 0; i < f.indexes.size(); ++i) {
      const Index& a = f.indexes[i];
      auto same = [&](const Index& b) {
        return b.name == a.name && b.columns == new_columns(old_name, a.columns) &&
               b.unique == a.unique && b.where == a.where;
      };
      if (!std::any_of(t.indexes.begin(), t.indexes.end(), same))
        drop_indexes_.push_back(DropIndex{old_name, fo.indexes[i]});
    }
    for (std::size_t j = 0; j < t.indexes.size(); ++j) {
      const Index& b = t.indexes[j];
      auto same = [&](const Index& a) {
        return b.name == a.name && b.columns == new_columns(old_name, a.columns) &&
               b.unique == a.unique && b.where == a.where;
      };
      if (!std::any_of(f.indexes.begin(), f.indexes.end(), same))
        create_indexes_.push_back(CreateIndex{name, to.indexes[j]});
    }
  }

  const MetaData& from_;
  const MetaData& to_;
  MetaData nfrom_, nto_;
  Backend backend_;

  std::vector<std::pair<std::size_t, std::size_t>> matched_;  // (from, to) positions
  std::vector<std::size_t> dropped_, created_;
  std::map<std::string, std::string> table_map_;                          // old → new name
  std::map<std::string, std::map<std::string, std::string>> column_map_;  // old table: old → new

  std::vector<Operation> drop_fks_, drop_indexes_, drop_constraints_, drop_pks_, drop_columns_,
      drop_tables_, rename_tables_, create_tables_, rename_columns_, add_columns_, alter_columns_,
      alter_pks_, add_constraints_, create_indexes_, add_fks_;
};

}  // namespace

std::vector<Operation> diff(const MetaData& from, const MetaData& to, Backend backend) {
  return Differ(from, to, backend).run();
}

}  // namespace keel::schema
