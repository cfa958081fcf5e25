#include "support/random_schema.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace keel::testing {
namespace {

using namespace keel::schema;

constexpr TypeKind kKinds[] = {
    TypeKind::integer,   TypeKind::bigint, TypeKind::smallint, TypeKind::boolean, TypeKind::real,
    TypeKind::numeric,   TypeKind::text,   TypeKind::string,   TypeKind::blob,    TypeKind::date,
    TypeKind::timestamp, TypeKind::json,   TypeKind::uuid};

constexpr FkAction kActions[] = {FkAction::no_action, FkAction::restrict, FkAction::cascade,
                                 FkAction::set_null, FkAction::set_default};

bool is_integer(TypeKind k) {
  return k == TypeKind::integer || k == TypeKind::bigint || k == TypeKind::smallint;
}

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  MetaData run() {
    MetaData m;
    int tables = between(1, 5);
    for (int i = 0; i < tables; ++i) m.tables.push_back(table(i));
    // Foreign keys once every table has its keys, so they can point forward
    // (cycles) and at themselves.
    for (Table& t : m.tables) {
      int fks = chance(0.6) ? between(1, 2) : 0;
      for (int k = 0; k < fks; ++k) foreign_key(m, t);
    }
    for (Table& t : m.tables) indexes(t);
    return m;
  }

 private:
  int between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <class T, std::size_t N>
  const T& pick(const T (&items)[N]) {
    return items[static_cast<std::size_t>(between(0, static_cast<int>(N) - 1))];
  }
  template <class T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(between(0, static_cast<int>(items.size()) - 1))];
  }

  std::string table_name(int i) {
    // Reserved words, mixed case and a name so long that default constraint and
    // index names built from it must be shortened.
    static const char* kSpecial[] = {"order", "User", "group_members",
                                     "a_table_name_long_enough_that_derived_names_overflow_63"};
    std::string name = chance(0.25) ? pick(kSpecial) : fmt::format("t{}", i);
    while (used_tables_.count(name)) name += "_x";
    used_tables_.insert(name);
    return name;
  }

  std::string column_name(const Table& t, int i) {
    static const char* kSpecial[] = {"select", "Mixed", "value", "from_date", "key"};
    std::string name = chance(0.15) ? pick(kSpecial) : fmt::format("c{}", i);
    while (t.column(name) != nullptr) name += "_x";
    return name;
  }

  ColumnType type() {
    ColumnType t{pick(kKinds)};
    if (t.kind == TypeKind::string) t.length = chance(0.3) ? between(1, 4) : between(5, 255);
    if (t.kind == TypeKind::numeric && chance(0.7)) {
      t.precision = between(1, 20);
      t.scale = between(0, t.precision);
    }
    return t;
  }

  std::string digits(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += static_cast<char>('0' + between(0, 9));
    return s;
  }

  std::string uuid() {
    static const char kHex[] = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20) s += '-';
      s += kHex[between(0, 15)];
    }
    return s;
  }

  std::optional<Value> literal_for(const ColumnType& t) {
    static const char* kTexts[] = {
        "",         "x", "it's", "hello world", "ünïcödé ✓", "100%", "a \"quoted\" word",
        "(parens)", "0", "-1"};
    static const char* kJson[] = {"{}",     "[]", R"({"b": [true, null], "a": 1})",
                                  R"("s")", "42", R"(["stop"])"};
    switch (t.kind) {
      case TypeKind::integer:
        return Value(between(-100000, 100000));
      case TypeKind::bigint:
        return Value(chance(0.3) ? std::int64_t{1} << between(33, 62) : between(-1000, 1000));
      case TypeKind::smallint:
        return Value(between(-300, 300));
      case TypeKind::boolean:
        return Value(chance(0.5));
      case TypeKind::real:
        // Quarters are exact in binary, so no rounding question arises.
        return chance(0.2) ? Value(between(-5, 5)) : Value(between(-400, 400) / 4.0);
      case TypeKind::numeric: {
        if (t.precision == 0) return Value(fmt::format("{}.{}", between(-999, 999), digits(3)));
        int whole = t.precision - t.scale;
        std::string s =
            whole > 0 ? std::to_string(between(0, 9)) + digits(std::min(whole, 5) - 1) : "0";
        if (t.scale > 0) s += "." + digits(between(1, std::min(t.scale, 6)));
        return Value(chance(0.3) ? "-" + s : s);
      }
      case TypeKind::text:
        return Value(pick(kTexts));
      case TypeKind::string: {
        std::string s = chance(0.5) ? "ok" : "it's";
        return Value(s.substr(0, static_cast<std::size_t>(t.length)));
      }
      case TypeKind::blob:
        return std::nullopt;  // blob columns take expression defaults only
      case TypeKind::date:
        return Value(
            fmt::format("{:04}-{:02}-{:02}", between(1970, 2040), between(1, 12), between(1, 28)));
      case TypeKind::timestamp:
        return Value(fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}Z", between(1970, 2040),
                                 between(1, 12), between(1, 28), between(0, 23), between(0, 59),
                                 between(0, 59), chance(0.5) ? "." + digits(6) : ""));
      case TypeKind::json:
        return Value(pick(kJson));
      case TypeKind::uuid:
        return Value(uuid());
    }
    return std::nullopt;
  }

  std::optional<std::string> expression_for(const ColumnType& t) {
    if (is_integer(t.kind)) return chance(0.5) ? "1 + 2" : "abs(-7)";
    if (t.kind == TypeKind::real) return "1.5 * 2";
    if (t.kind == TypeKind::text) return chance(0.5) ? "lower('ABC')" : "'a' || 'b'";
    if (t.kind == TypeKind::string && t.length >= 3) return "upper('ab')";
    return std::nullopt;
  }

  std::optional<Default> default_for(const ColumnType& t) {
    double roll = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (roll < 0.45) return std::nullopt;
    if (t.kind == TypeKind::timestamp && roll < 0.7) return now();
    if (roll < 0.85)
      if (auto e = expression_for(t)) return expression(*e);
    if (auto v = literal_for(t)) return literal(*v);
    return std::nullopt;
  }

  Column column(const Table& t, int i) {
    Column c;
    c.name = column_name(t, i);
    c.type = type();
    c.nullable = chance(0.6);
    c.server_default = default_for(c.type);
    return c;
  }

  // A check that holds for any row, phrased for the column's type, so both
  // backends accept it whatever the column holds.
  std::string check_expression(const Column& c) {
    std::string q = fmt::format("\"{}\"", c.name);
    if (is_integer(c.type.kind)) return fmt::format("{} > -1000000000", q);
    if (c.type.kind == TypeKind::text || c.type.kind == TypeKind::string)
      return fmt::format("length({}) < 100000", q);
    return fmt::format("{} IS NULL OR {} IS NOT NULL", q, q);
  }

  std::string where_for(const Column& c) {
    std::string q = fmt::format("\"{}\"", c.name);
    if (is_integer(c.type.kind) && chance(0.5)) return fmt::format("{} > 0", q);
    if (c.type.kind == TypeKind::text && chance(0.5)) return fmt::format("{} <> ''", q);
    if (c.type.kind == TypeKind::boolean && chance(0.5)) return fmt::format("{} = TRUE", q);
    return fmt::format("{} IS NOT NULL", q);
  }

  Table table(int index) {
    Table t;
    t.name = table_name(index);
    int next = 0;
    if (chance(0.35)) {
      Column id;
      id.name = "id";
      id.type = {chance(0.5) ? TypeKind::bigint : TypeKind::integer};
      id.nullable = false;
      id.autoincrement = true;
      t.columns.push_back(id);
      t.primary_key = PrimaryKey{"", {"id"}};
    }
    int columns = between(1, 7);
    for (int i = 0; i < columns; ++i) t.columns.push_back(column(t, next++));
    std::vector<std::string> free;
    for (const Column& c : t.columns)
      if (!c.autoincrement) free.push_back(c.name);
    std::shuffle(free.begin(), free.end(), rng_);

    std::set<std::vector<std::string>> keys;  // column sets already keyed
    if (!t.primary_key && chance(0.75)) {
      std::size_t n = std::min<std::size_t>(free.size(), chance(0.35) ? 2 : 1);
      std::vector<std::string> cols(free.begin(), free.begin() + static_cast<long>(n));
      t.primary_key = PrimaryKey{"", cols};
      keys.insert(cols);
      for (const std::string& name : cols) t.column(name)->nullable = false;
    } else if (t.primary_key) {
      keys.insert(t.primary_key->columns);
    }
    int uniques = chance(0.4) ? between(1, 2) : 0;
    for (int u = 0; u < uniques; ++u) {
      std::vector<std::string> cols = {pick(free)};
      if (chance(0.4) && free.size() > 1) {
        std::string other = pick(free);
        if (other != cols[0]) cols.push_back(other);
      }
      if (!keys.insert(cols).second) continue;
      t.uniques.push_back(
          UniqueConstraint{chance(0.3) ? fmt::format("uq_{}", names_++) : "", cols});
    }
    int checks = chance(0.4) ? between(1, 2) : 0;
    for (int k = 0; k < checks; ++k) {
      const Column& c = *t.column(pick(free));
      t.checks.push_back(CheckConstraint{fmt::format("chk_{}", names_++), check_expression(c)});
    }
    return t;
  }

  void foreign_key(MetaData& m, Table& t) {
    // Targets: a table's primary key or one of its unique constraints.
    std::vector<std::pair<const Table*, std::vector<std::string>>> targets;
    for (const Table& target : m.tables) {
      if (target.primary_key) targets.emplace_back(&target, target.primary_key->columns);
      for (const UniqueConstraint& u : target.uniques) targets.emplace_back(&target, u.columns);
    }
    if (targets.empty()) return;
    auto [target, ref_columns] = pick(targets);
    ForeignKey fk;
    fk.ref_table = target->name;
    fk.ref_columns = ref_columns;
    fk.on_delete = pick(kActions);
    fk.on_update = pick(kActions);
    if (chance(0.2)) fk.name = fmt::format("fk_{}", names_++);
    // New nullable columns of the referenced types, so rows in a cycle can be
    // inserted one at a time and SET NULL always applies.
    for (const std::string& rc : ref_columns) {
      Column c;
      c.name = fmt::format("{}_{}", target->name == t.name ? "parent" : "ref", rc);
      while (t.column(c.name) != nullptr) c.name += "_x";
      c.type = target->column(rc)->type;
      c.nullable = true;
      t.columns.push_back(c);
      fk.columns.push_back(c.name);
    }
    t.foreign_keys.push_back(fk);
  }

  void indexes(Table& t) {
    int count = chance(0.6) ? between(1, 3) : 0;
    std::set<std::vector<std::string>> used;
    for (int i = 0; i < count; ++i) {
      Index index;
      int width = std::min<int>(static_cast<int>(t.columns.size()), chance(0.3) ? 2 : 1);
      std::vector<std::string> names;
      for (const Column& c : t.columns) names.push_back(c.name);
      std::shuffle(names.begin(), names.end(), rng_);
      index.columns.assign(names.begin(), names.begin() + width);
      if (!used.insert(index.columns).second) continue;
      index.unique = chance(0.3);
      if (chance(0.35)) index.where = where_for(*t.column(pick(names)));
      // Explicit names sometimes; otherwise validate() derives ix_<table>_<cols>.
      if (chance(0.3)) index.name = fmt::format("ix_{}", names_++);
      t.indexes.push_back(index);
    }
  }

  std::mt19937_64 rng_;
  std::set<std::string> used_tables_;
  int names_ = 0;  // explicit constraint and index names: short, unique per schema
};

}  // namespace

MetaData random_schema(std::uint64_t seed) { return Generator(seed).run(); }

}  // namespace keel::testing
