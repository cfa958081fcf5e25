// SQLite DDL: what differs from the generic rendering in ddl.cpp.
//
// SQLite has five storage classes and picks a column's affinity from words in its
// declared type, so keel's types are names chosen for their affinity: "… TEXT"
// keeps decimals, dates, timestamps, JSON and UUIDs exactly as written (NUMERIC
// affinity would turn '1.50' into 1.5), and the first word keeps the portable type
// for reflection. Booleans and JSON get the CHECKs the type cannot give.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "ddl.hpp"
#include "dialects.hpp"
#include "keel/error.hpp"
#include "reflect.hpp"

namespace keel::dialect {
namespace {

using schema::Column;
using schema::Table;
using schema::TypeKind;

// A depth-first search for a drop order SQLite can run (see drop_order); `budget`
// bounds the backtracking, which only cascades inside FK cycles ever need.
struct DropSearch {
  std::vector<const Table*> left;  // in order of preference
  std::vector<const Table*> order;
  std::set<std::string> dropped;
  int budget;

  bool run() {
    if (left.empty()) return true;
    for (std::size_t i = 0; i < left.size(); ++i) {
      const Table* t = left[i];
      if (!droppable(*t) || --budget < 0) continue;
      left.erase(left.begin() + static_cast<std::ptrdiff_t>(i));
      order.push_back(t);
      dropped.insert(t->name);
      if (run()) return true;
      dropped.erase(t->name);
      order.pop_back();
      left.insert(left.begin() + static_cast<std::ptrdiff_t>(i), t);
      if (budget < 0) return false;
    }
    return false;
  }

  // True when dropping `x` now compiles: every table an ON DELETE CASCADE reaches
  // from x (through tables not yet dropped) still has all the tables it references.
  bool droppable(const Table& x) const {
    std::vector<const Table*> reached;
    std::vector<const Table*> work{&x};
    while (!work.empty()) {
      const Table* target = work.back();
      work.pop_back();
      for (const Table* z : left) {
        for (const auto& fk : z->foreign_keys) {
          if (fk.ref_table != target->name || fk.on_delete != schema::FkAction::cascade) continue;
          if (std::find(reached.begin(), reached.end(), z) != reached.end()) continue;
          reached.push_back(z);
          work.push_back(z);
        }
      }
    }
    for (const Table* z : reached)
      for (const auto& fk : z->foreign_keys)
        if (dropped.count(fk.ref_table)) return false;
    return true;
  }
};

class SqliteDdl final : public DdlRenderer {
 public:
  SqliteDdl() : DdlRenderer(dialect::sqlite()) {}

  std::string column_type(const Table* t, const Column& c) const override {
    switch (c.type.kind) {
      // INTEGER alone as the primary key makes the column the rowid: that is
      // SQLite's autoincrement. Any other integer key is spelled INT, so it stays
      // an ordinary column that rejects text.
      case TypeKind::integer:
        if (c.autoincrement) return "INTEGER";
        return t && is_sole_primary_key(*t, c) ? "INT" : "INTEGER";
      case TypeKind::bigint: return c.autoincrement ? "INTEGER" : "BIGINT";
      case TypeKind::smallint: return "SMALLINT";
      case TypeKind::boolean: return "BOOLEAN";
      case TypeKind::real: return "REAL";
      case TypeKind::numeric:
        if (c.type.precision > 0)
          return fmt::format("DECIMAL TEXT({},{})", c.type.precision, c.type.scale);
        return "DECIMAL TEXT";
      case TypeKind::text: return "TEXT";
      case TypeKind::string: return fmt::format("VARCHAR({})", c.type.length);
      case TypeKind::blob: return "BLOB";
      case TypeKind::date: return "DATE TEXT";
      case TypeKind::timestamp: return "TIMESTAMP TEXT";
      case TypeKind::json: return "JSON TEXT";
      case TypeKind::uuid: return "UUID TEXT";
    }
    throw UsageError(fmt::format("column \"{}\": unknown type kind {}", c.name,
                                 static_cast<int>(c.type.kind)));
  }

  // SQLite cannot add a constraint to an existing table (a migration rebuilds it).
  std::string add_foreign_key(const Table& t, const schema::ForeignKey&) const override {
    throw UsageError(fmt::format("SQLite cannot add a foreign key to the existing table \"{}\"; "
                                 "the table must be rebuilt",
                                 t.name));
  }
  std::string drop_constraint(const Table& t, std::string_view name) const override {
    throw UsageError(fmt::format("SQLite cannot drop constraint \"{}\" of the existing table "
                                 "\"{}\"; the table must be rebuilt",
                                 name, t.name));
  }

 protected:
  // Named "<table>_<col>_bool" / "_json", fitted to 63 bytes like every default name:
  // reflection knows them by name and does not report them as the user's checks.
  std::vector<schema::CheckConstraint> implied_checks(const Table& t) const override {
    std::vector<schema::CheckConstraint> out;
    for (const auto& c : t.columns) {
      const std::string col = dialect().quote(c.name);
      if (c.type.kind == TypeKind::boolean)
        out.push_back({fit_name(t.name + "_" + c.name + "_bool"), col + " IN (0, 1)"});
      else if (c.type.kind == TypeKind::json)
        // SQLite before 3.45 has json_valid(NULL) = 0, which would refuse NULL in a
        // nullable json column.
        out.push_back({fit_name(t.name + "_" + c.name + "_json"),
                       col + " IS NULL OR json_valid(" + col + ")"});
    }
    return out;
  }

  // With foreign keys on, DROP TABLE first deletes the table's rows, and an
  // ON DELETE CASCADE that would reach a table compiles that table's FK checks,
  // which fail with "no such table" when one of its referenced tables is already
  // gone. Outside cycles the reverse creation order never meets that; inside one,
  // this searches for an order where every table reached by a cascade still has
  // the tables it references (e.g. a self-cascading table before its cycle partner).
  std::vector<const Table*> drop_order(const CreationPlan& plan) const override {
    std::vector<const Table*> preferred(plan.tables.rbegin(), plan.tables.rend());
    if (plan.cycle_fks.empty()) return preferred;
    DropSearch search{preferred, {}, {}, 10000};
    if (search.run()) return search.order;
    // No order exists (e.g. two self-cascading tables referencing each other):
    // SQLite's own error will name the table.
    return preferred;
  }

  std::string boolean_literal(bool v) const override { return v ? "1" : "0"; }

  std::string blob_literal(const Blob& b) const override {
    std::string out = "X'";
    for (std::uint8_t byte : b) out += fmt::format("{:02X}", byte);
    return out + "'";
  }

  // The text format_timestamp writes, so SQL-made and C++-made values sort together.
  std::string current_timestamp_default() const override {
    return "(" + dialect().now_utc() + ")";
  }
};

}  // namespace

const DdlRenderer& sqlite_ddl() {
  static const SqliteDdl instance;
  return instance;
}

}  // namespace keel::dialect
