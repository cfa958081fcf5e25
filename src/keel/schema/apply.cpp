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
//
// Renames also rewrite the SQL text that names the old column or table (check
// expressions, partial-index predicates), as both databases do when they rename:
// otherwise the next SQLite rebuild would render the stale name from the model.
#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "keel/error.hpp"
#include "keel/schema.hpp"
#include "schema/internal.hpp"

namespace keel::schema {
namespace {

using Names = std::vector<std::string>;

// ---- names in SQL text --------------------------------------------------------
//
// The driver's placeholder lexer (driver/placeholders.cpp) knows the same literal
// and comment forms, but it is internal to the driver layer and it rewrites
// placeholders rather than finding names; so the schema layer scans for itself.
// Like that lexer it is a scanner, not a parser: it only needs to know where
// literals, quoted identifiers and comments begin and end.

struct SqlToken {
  enum class Kind { word, quoted, punct, other };  // other: literals, numbers
  Kind kind = Kind::other;
  std::size_t begin = 0, end = 0;  // in the text
  std::string name;                // word: as written; quoted: unescaped
};

bool ident_start(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool ident_char(unsigned char c) { return ident_start(c) || (c >= '0' && c <= '9') || c == '$'; }

// The tokens of `sql`, blanks and comments left out. An unterminated literal or
// comment runs to the end: the text is never made worse than it was.
std::vector<SqlToken> sql_tokens(std::string_view sql) {
  std::vector<SqlToken> out;
  std::size_t i = 0;
  const std::size_t n = sql.size();
  auto at = [&](std::size_t k) { return k < n ? static_cast<unsigned char>(sql[k]) : 0; };
  // '…' with '' inside (E'…' also with backslash escapes); "…" and `…` with doubling.
  auto quoted_end = [&](std::size_t k, char q, bool backslashes, std::string* name) {
    for (++k; k < n; ++k) {
      if (backslashes && sql[k] == '\\') {
        ++k;
      } else if (sql[k] == q) {
        if (at(k + 1) != static_cast<unsigned char>(q)) return k + 1;
        ++k;
        if (name) *name += q;
      } else if (name) {
        *name += sql[k];
      }
    }
    return n;
  };
  while (i < n) {
    const unsigned char c = at(i);
    const std::size_t start = i;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
      ++i;
    } else if (c == '-' && at(i + 1) == '-') {
      i = std::min(n, sql.find('\n', i));
    } else if (c == '/' && at(i + 1) == '*') {
      int depth = 1;  // PostgreSQL nests block comments
      for (i += 2; i < n && depth > 0;) {
        if (at(i) == '/' && at(i + 1) == '*') {
          ++depth;
          i += 2;
        } else if (at(i) == '*' && at(i + 1) == '/') {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      }
    } else if (c == '\'') {
      i = quoted_end(i, '\'', false, nullptr);
      out.push_back({SqlToken::Kind::other, start, i, {}});
    } else if (c == '"' || c == '`') {
      std::string name;
      i = quoted_end(i, static_cast<char>(c), false, &name);
      out.push_back({SqlToken::Kind::quoted, start, i, std::move(name)});
    } else if ((c == 'e' || c == 'E') && at(i + 1) == '\'') {
      i = quoted_end(i + 1, '\'', true, nullptr);
      out.push_back({SqlToken::Kind::other, start, i, {}});
    } else if (ident_start(c)) {
      while (i < n && ident_char(at(i))) ++i;
      out.push_back({SqlToken::Kind::word, start, i, std::string(sql.substr(start, i - start))});
    } else if (c >= '0' && c <= '9') {
      while (i < n && (ident_char(at(i)) || at(i) == '.')) ++i;
      out.push_back({SqlToken::Kind::other, start, i, {}});
    } else if (c == '$') {
      // $tag$ … $tag$ (PostgreSQL's dollar quoting); a lone $ is punctuation.
      std::size_t k = i + 1;
      while (k < n && ident_char(at(k)) && at(k) != '$') ++k;
      if (at(k) == '$') {
        const std::string_view tag = sql.substr(i, k + 1 - i);
        const std::size_t close = sql.find(tag, k + 1);
        i = close == std::string_view::npos ? n : close + tag.size();
        out.push_back({SqlToken::Kind::other, start, i, {}});
      } else {
        ++i;
        out.push_back({SqlToken::Kind::punct, start, i, "$"});
      }
    } else {
      ++i;
      out.push_back({SqlToken::Kind::punct, start, i, std::string(1, static_cast<char>(c))});
    }
  }
  return out;
}

// True when the token names `name`: a quoted identifier exactly, a bare one as
// PostgreSQL folds it (to lower case) or as written.
bool names(const SqlToken& t, const std::string& name) {
  if (t.kind == SqlToken::Kind::quoted) return t.name == name;
  if (t.kind != SqlToken::Kind::word) return false;
  if (t.name == name) return true;
  std::string lower = t.name;
  for (char& ch : lower)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return lower == name;
}

bool is_punct(const std::vector<SqlToken>& ts, std::size_t k, char c) {
  return k < ts.size() && ts[k].kind == SqlToken::Kind::punct && ts[k].name[0] == c;
}

// `name` as an identifier in place of a token: bare where the old one was bare and
// the new name reads the same bare on both backends, else quoted.
std::string spell(const std::string& name, bool was_bare) {
  // PostgreSQL's reserved key words: bare, these would not be names.
  // clang-format off
  static constexpr std::string_view kReserved[] = {
      "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both",
      "case", "cast", "check", "collate", "column", "constraint", "create", "current_catalog",
      "current_date", "current_role", "current_time", "current_timestamp", "current_user",
      "default", "deferrable", "desc", "distinct", "do", "else", "end", "except", "false",
      "fetch", "for", "foreign", "from", "grant", "group", "having", "in", "initially",
      "intersect", "into", "is", "isnull", "join", "lateral", "leading", "like", "limit",
      "localtime", "localtimestamp", "not", "notnull", "null", "offset", "on", "only", "or",
      "order", "placing", "primary", "references", "returning", "select", "session_user",
      "some", "symmetric", "table", "then", "to", "trailing", "true", "union", "unique", "user",
      "using"};
  // clang-format on
  bool plain = was_bare && !name.empty() && !(name[0] >= '0' && name[0] <= '9');
  for (char ch : name)
    plain = plain && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_');
  if (plain && std::find(std::begin(kReserved), std::end(kReserved), name) == std::end(kReserved))
    return name;
  std::string out = "\"";
  for (char ch : name) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

// `sql` with each token for which `pick(tokens, k)` holds spelled as `to`.
template <class Pick>
std::string rewrite_names(const std::string& sql, const std::string& to, Pick pick) {
  const std::vector<SqlToken> ts = sql_tokens(sql);
  std::string out;
  std::size_t copied = 0;
  for (std::size_t k = 0; k < ts.size(); ++k) {
    if (!pick(ts, k)) continue;
    out.append(sql, copied, ts[k].begin - copied);
    out += spell(to, ts[k].kind == SqlToken::Kind::word);
    copied = ts[k].end;
  }
  if (copied == 0) return sql;
  out.append(sql, copied, std::string::npos);
  return out;
}

// `sql`, an expression on table `table`, with its column `from` named `to`: names
// that are not a function being called, nor qualified by another name than the table's.
std::string rename_column_in(const std::string& sql, const std::string& table,
                             const std::string& from, const std::string& to) {
  return rewrite_names(sql, to, [&](const std::vector<SqlToken>& ts, std::size_t k) {
    if (!names(ts[k], from) || is_punct(ts, k + 1, '(') || is_punct(ts, k + 1, '.')) return false;
    if (k > 0 && is_punct(ts, k - 1, '.')) return k >= 2 && names(ts[k - 2], table);
    return true;
  });
}

// `sql`, an expression on the table renamed from `from` to `to`: the qualifiers
// ("from".col) that name it.
std::string rename_table_in(const std::string& sql, const std::string& from,
                            const std::string& to) {
  return rewrite_names(sql, to, [&](const std::vector<SqlToken>& ts, std::size_t k) {
    return names(ts[k], from) && is_punct(ts, k + 1, '.') && !(k > 0 && is_punct(ts, k - 1, '.'));
  });
}

// Where a table's SQL text can name its columns. Defaults cannot (neither backend
// lets a DEFAULT refer to a column), so they are left as written.
template <class Rewrite>
void rewrite_table_sql(Table& t, Rewrite rewrite) {
  for (CheckConstraint& ck : t.checks) ck.expression = rewrite(ck.expression);
  for (Index& ix : t.indexes)
    if (!ix.where.empty()) ix.where = rewrite(ix.where);
}

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
    rewrite_table_sql(moved,
                      [&](const std::string& sql) { return rename_table_in(sql, o.from, o.to); });
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
    rewrite_table_sql(
        t, [&](const std::string& sql) { return rename_column_in(sql, o.table, o.from, o.to); });
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
