// validate(): fills default names and refuses any model that would render to DDL
// one backend rejects, or that would not reflect back as the same model.
//
// The rules are PostgreSQL's where it is the stricter of the two (63-byte names,
// one namespace for index and constraint names, foreign keys only onto a primary
// key or unique constraint), so a schema that works on SQLite today still works
// the day the application moves.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "keel/error.hpp"
#include "keel/schema.hpp"
#include "schema/internal.hpp"

namespace keel::schema {

namespace {

using detail::Where;
using Part = Where::Part;

std::string joined(const std::vector<std::string>& names) {
  return fmt::format("{}", fmt::join(names, "_"));
}

std::string listed(const std::vector<std::string>& names) {
  return fmt::format("({})", fmt::join(names, ", "));
}

// "an integer", "a text": the type with its article, for messages.
std::string a_type(const ColumnType& type) {
  return fmt::format("{} {}", type.kind == TypeKind::integer ? "an" : "a", to_string(type));
}

bool integer_family(TypeKind k) {
  return k == TypeKind::integer || k == TypeKind::bigint || k == TypeKind::smallint;
}

// Number of code points, which is what varchar(n) counts.
std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool is_decimal_text(std::string_view s) {
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  bool digits = false, dot = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  return digits;
}

// The form PostgreSQL prints a uuid in, so a reflected default compares equal.
bool is_canonical_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    char c = s[i];
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

class Validator {
 public:
  Validator(MetaData& meta, const detail::Locate& locate) : meta_(meta), locate_(locate) {}

  void run() {
    std::map<std::string, std::size_t> tables;
    for (std::size_t ti = 0; ti < meta_.tables.size(); ++ti) {
      Table& t = meta_.tables[ti];
      Where w{Part::table, ti, 0, ""};
      check_name(w, "table", t.name, fmt::format("table '{}'", t.name));
      auto [it, inserted] = tables.emplace(t.name, ti);
      if (!inserted) fail(w, fmt::format("table '{}' is defined twice", t.name));
      if (t.name.starts_with("sqlite_") || t.name.starts_with("keel_")) {
        fail(w, fmt::format("table '{}': names starting with sqlite_ or keel_ are reserved "
                            "(SQLite's and keel's own tables)", t.name));
      }
      if (!t.renamed_from.empty())
        check_name(w, "renamed_from", t.renamed_from, fmt::format("table '{}'", t.name));
    }
    for (std::size_t ti = 0; ti < meta_.tables.size(); ++ti) table(ti);
    // Foreign keys last: their targets' names and keys are complete by now.
    for (std::size_t ti = 0; ti < meta_.tables.size(); ++ti)
      for (std::size_t fi = 0; fi < meta_.tables[ti].foreign_keys.size(); ++fi)
        foreign_key(ti, fi);
    names();
    canonical_order();
  }

 private:
  [[noreturn]] void fail(const Where& w, const std::string& message) const {
    std::string prefix = locate_ ? locate_(w) : std::string();
    throw ConfigError(prefix + message);
  }

  // "table 't': column 'c'" etc.: the subject every message starts with.
  std::string subject(const Where& w) const {
    const Table& t = meta_.tables[w.table];
    switch (w.part) {
      case Part::column:
        return fmt::format("table '{}': column '{}'", t.name, t.columns[w.item].name);
      case Part::primary_key:
        return fmt::format("table '{}': primary key {}", t.name, t.primary_key->name);
      case Part::foreign_key:
        return fmt::format("table '{}': foreign key {}", t.name, t.foreign_keys[w.item].name);
      case Part::unique:
        return fmt::format("table '{}': unique constraint {}", t.name, t.uniques[w.item].name);
      case Part::check:
        return fmt::format("table '{}': check {}", t.name, t.checks[w.item].name);
      case Part::index:
        return fmt::format("table '{}': index {}", t.name, t.indexes[w.item].name);
      default:
        return fmt::format("table '{}'", t.name);
    }
  }

  void check_name(const Where& w, std::string_view what, const std::string& name,
                  const std::string& subject) const {
    if (name.empty()) fail(w, fmt::format("{}: {} is empty", subject, what));
    if (name.find('\0') != name.npos)
      fail(w, fmt::format("{}: {} contains a NUL character", subject, what));
    if (name.size() > 63) {
      fail(w, fmt::format("{}: {} '{}' is {} bytes long; PostgreSQL allows at most 63", subject,
                          what, name, name.size()));
    }
  }

  // The columns a key, constraint or index lists: present, existing, no repeats.
  void column_list(const Where& w, const Table& t, const std::vector<std::string>& cols,
                   std::string_view what = "column") const {
    if (cols.empty()) fail(w, fmt::format("{}: lists no columns", subject(w)));
    std::set<std::string> seen;
    for (const auto& c : cols) {
      if (!t.column(c)) {
        std::vector<std::string> names;
        for (const auto& col : t.columns) names.push_back(col.name);
        std::string hint = detail::closest(c, names);
        fail(w, fmt::format("{}: {} '{}' does not exist{}", subject(w), what, c,
                            hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
      }
      if (!seen.insert(c).second)
        fail(w, fmt::format("{}: column '{}' is listed twice", subject(w), c));
    }
  }

  void table(std::size_t ti) {
    Table& t = meta_.tables[ti];
    Where tw{Part::table, ti, 0, ""};
    if (t.columns.empty()) fail(tw, fmt::format("table '{}' has no columns", t.name));

    std::set<std::string> names;
    for (std::size_t ci = 0; ci < t.columns.size(); ++ci) {
      Column& c = t.columns[ci];
      Where w{Part::column, ti, ci, ""};
      check_name(w, "column name", c.name, fmt::format("table '{}'", t.name));
      if (!names.insert(c.name).second)
        fail(w, fmt::format("table '{}': column '{}' is defined twice", t.name, c.name));
      if (!c.renamed_from.empty()) check_name(w, "renamed_from", c.renamed_from, subject(w));
      column_type({Part::column, ti, ci, "type"}, c.type);
      if (c.server_default) column_default({Part::column, ti, ci, "default"}, c);
    }

    if (t.primary_key) {
      PrimaryKey& pk = *t.primary_key;
      if (pk.name.empty()) pk.name = detail::shorten_name(t.name + "_pkey");
      Where w{Part::primary_key, ti, 0, ""};
      check_name(w, "primary key name", pk.name, fmt::format("table '{}'", t.name));
      column_list({Part::primary_key, ti, 0, "columns"}, t, pk.columns);
      // PostgreSQL makes key columns NOT NULL whatever was declared, SQLite does
      // not; saying so in the model keeps both backends and reflection in step.
      for (const auto& name : pk.columns) t.column(name)->nullable = false;
    }
    for (std::size_t ci = 0; ci < t.columns.size(); ++ci) {
      const Column& c = t.columns[ci];
      if (!c.autoincrement) continue;
      Where w{Part::column, ti, ci, "autoincrement"};
      if (!t.primary_key || t.primary_key->columns != std::vector<std::string>{c.name}) {
        fail(w, fmt::format("{}: autoincrement needs the column to be the table's whole primary "
                            "key (primary_key: [{}])", subject(w), c.name));
      }
      if (c.type.kind != TypeKind::integer && c.type.kind != TypeKind::bigint) {
        fail(w, fmt::format("{}: autoincrement needs type integer or bigint, not {}", subject(w),
                            to_string(c.type)));
      }
      if (c.server_default) {
        fail(w, fmt::format("{}: an autoincrement column cannot also have a default",
                            subject(w)));
      }
    }

    for (std::size_t i = 0; i < t.uniques.size(); ++i) {
      UniqueConstraint& u = t.uniques[i];
      if (u.name.empty()) u.name = detail::shorten_name(fmt::format("{}_{}_key", t.name,
                                                                    joined(u.columns)));
      Where w{Part::unique, ti, i, "name"};
      check_name(w, "unique constraint name", u.name, fmt::format("table '{}'", t.name));
      column_list({Part::unique, ti, i, "columns"}, t, u.columns);
      for (std::size_t j = 0; j < i; ++j) {
        if (t.uniques[j].columns == u.columns) {
          fail({Part::unique, ti, i, ""},
               fmt::format("{}: same columns {} as unique constraint {}", subject(w),
                           listed(u.columns), t.uniques[j].name));
        }
      }
    }
    for (std::size_t i = 0; i < t.checks.size(); ++i) {
      const CheckConstraint& ck = t.checks[i];
      Where w{Part::check, ti, i, "name"};
      if (ck.name.empty()) {
        fail(w, fmt::format("table '{}': check ({}) has no name; checks are identified by name",
                            t.name, ck.expression));
      }
      check_name(w, "check name", ck.name, fmt::format("table '{}'", t.name));
      if (ck.expression.empty() || ck.expression.find('\0') != std::string::npos)
        fail({Part::check, ti, i, "expression"},
             fmt::format("{}: expression is empty", subject(w)));
    }
    for (std::size_t i = 0; i < t.indexes.size(); ++i) {
      Index& ix = t.indexes[i];
      if (ix.name.empty())
        ix.name = detail::shorten_name(fmt::format("ix_{}_{}", t.name, joined(ix.columns)));
      Where w{Part::index, ti, i, "name"};
      check_name(w, "index name", ix.name, fmt::format("table '{}'", t.name));
      column_list({Part::index, ti, i, "columns"}, t, ix.columns);
      if (ix.where.find('\0') != std::string::npos)
        fail({Part::index, ti, i, "where"}, fmt::format("{}: where contains NUL", subject(w)));
    }
    for (std::size_t i = 0; i < t.foreign_keys.size(); ++i) {
      ForeignKey& fk = t.foreign_keys[i];
      if (fk.name.empty())
        fk.name = detail::shorten_name(fmt::format("{}_{}_fkey", t.name, joined(fk.columns)));
    }
  }

  void column_type(const Where& w, const ColumnType& type) const {
    auto k = static_cast<int>(type.kind);
    if (k < 0 || k > static_cast<int>(TypeKind::uuid))
      fail(w, fmt::format("{}: unknown type (kind {})", subject(w), k));
    if (type.kind == TypeKind::string) {
      if (type.length < 1 || type.length > 10485760) {
        fail(w, fmt::format("{}: string(n) needs 1 <= n <= 10485760, got {}", subject(w),
                            type.length));
      }
    } else if (type.length != 0) {
      fail(w, fmt::format("{}: a length applies only to string(n), not {}", subject(w),
                          to_string(type)));
    }
    if (type.kind == TypeKind::numeric) {
      bool unconstrained = type.precision == 0 && type.scale == 0;
      if (!unconstrained && (type.precision < 1 || type.precision > 1000 || type.scale < 0 ||
                             type.scale > type.precision)) {
        fail(w, fmt::format("{}: numeric(p,s) needs 1 <= p <= 1000 and 0 <= s <= p, got "
                            "numeric({},{})", subject(w), type.precision, type.scale));
      }
    } else if (type.precision != 0 || type.scale != 0) {
      fail(w, fmt::format("{}: precision and scale apply only to numeric, not {}", subject(w),
                          to_string(type)));
    }
  }

  void column_default(const Where& w, Column& c) const {
    Default& d = *c.server_default;
    TypeKind kind = c.type.kind;
    std::string type = to_string(c.type);
    if (d.kind == Default::Kind::current_timestamp) {
      if (kind != TypeKind::timestamp) {
        fail(w, fmt::format("{}: default now (current timestamp) needs a timestamp column, not {}",
                            subject(w), type));
      }
      return;
    }
    if (d.kind == Default::Kind::expression) {
      if (d.expression.empty() || d.expression.find('\0') != std::string::npos)
        fail(w, fmt::format("{}: default expression is empty", subject(w)));
      return;
    }
    if (d.kind != Default::Kind::literal) fail(w, fmt::format("{}: unknown default", subject(w)));

    // DEFAULT NULL is no default at all; keep one spelling of it.
    if (d.literal.is_null()) {
      c.server_default.reset();
      return;
    }
    // The text-kept value types are literals written as text.
    auto& v = d.literal.storage();
    if (auto* j = std::get_if<Json>(&v)) d.literal = Value(j->text);
    else if (auto* dec = std::get_if<Decimal>(&v)) d.literal = Value(dec->text);
    else if (auto* date = std::get_if<Date>(&v)) d.literal = Value(format_date(*date));
    else if (auto* ts = std::get_if<Timestamp>(&v)) d.literal = Value(format_timestamp(*ts));

    std::string shown = d.literal.to_display();
    auto wrong = [&](std::string_view what, std::string_view instead) {
      fail(w, fmt::format("{}: default {} is {}, which {} column cannot take{}", subject(w),
                          shown, what, a_type(c.type), instead));
    };
    switch (d.literal.type()) {
      case ValueType::boolean:
        if (kind != TypeKind::boolean) wrong("a boolean", "");
        return;
      case ValueType::integer: {
        if (kind == TypeKind::boolean) wrong("an integer", " (write true or false)");
        if (!integer_family(kind) && kind != TypeKind::real && kind != TypeKind::numeric) {
          wrong("an integer", kind == TypeKind::blob ? " (use an expression)"
                                                     : " (quote it to make it text)");
        }
        auto n = std::get<std::int64_t>(v);
        if ((kind == TypeKind::smallint && (n < INT16_MIN || n > INT16_MAX)) ||
            (kind == TypeKind::integer && (n < INT32_MIN || n > INT32_MAX))) {
          fail(w, fmt::format("{}: default {} is out of range for {}", subject(w), n, type));
        }
        return;
      }
      case ValueType::real:
        if (kind == TypeKind::boolean) wrong("a number", " (write true or false)");
        if (kind != TypeKind::real && kind != TypeKind::numeric)
          wrong("a real number", integer_family(kind) ? "" : " (quote it to make it text)");
        if (!std::isfinite(std::get<double>(v)))
          fail(w, fmt::format("{}: default {} is not a finite number", subject(w), shown));
        return;
      case ValueType::text:
        text_default(w, c, std::get<std::string>(v));
        return;
      default:
        fail(w, fmt::format("{}: a {} literal cannot be a default (use an expression)",
                            subject(w), to_string(d.literal.type())));
    }
  }

  void text_default(const Where& w, const Column& c, const std::string& s) const {
    auto bad = [&](std::string_view expected) {
      fail(w, fmt::format("{}: default '{}' is not {} for {} column", subject(w), s, expected,
                          a_type(c.type)));
    };
    if (s.find('\0') != std::string::npos) bad("text without NUL characters");
    switch (c.type.kind) {
      case TypeKind::text:
        return;
      case TypeKind::string:
        if (utf8_length(s) > static_cast<std::size_t>(c.type.length))
          bad(fmt::format("at most {} characters", c.type.length));
        return;
      case TypeKind::numeric:
        if (!is_decimal_text(s)) bad("a decimal number");
        return;
      case TypeKind::date:
        if (!parse_date(s) || s.size() != 10) bad("a date (YYYY-MM-DD)");
        return;
      case TypeKind::timestamp:
        if (!parse_timestamp(s)) bad("an ISO-8601 timestamp");
        return;
      case TypeKind::uuid:
        if (!is_canonical_uuid(s)) bad("a uuid in canonical lower-case form");
        return;
      case TypeKind::json:
        if (!nlohmann::json::accept(s)) bad("valid JSON");
        return;
      case TypeKind::boolean:
        bad("a boolean (write true or false, unquoted)");
        return;
      case TypeKind::blob:
        bad("allowed (blob columns take expression defaults only)");
        return;
      default:
        fail(w, fmt::format("{}: default '{}' is quoted text, which {} column cannot take "
                            "(write the number unquoted)", subject(w), s, a_type(c.type)));
    }
  }

  void foreign_key(std::size_t ti, std::size_t fi) {
    Table& t = meta_.tables[ti];
    ForeignKey& fk = t.foreign_keys[fi];
    Where w{Part::foreign_key, ti, fi, ""};
    check_name({Part::foreign_key, ti, fi, "name"}, "foreign key name", fk.name,
               fmt::format("table '{}'", t.name));
    column_list({Part::foreign_key, ti, fi, "columns"}, t, fk.columns);

    Where tw{Part::foreign_key, ti, fi, "references.table"};
    const Table* target = meta_.table(fk.ref_table);
    if (!target) {
      std::vector<std::string> names;
      for (const auto& x : meta_.tables) names.push_back(x.name);
      std::string hint = detail::closest(fk.ref_table, names);
      fail(tw, fmt::format("{} references missing table '{}'{}", subject(w), fk.ref_table,
                           hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
    }
    Where cw{Part::foreign_key, ti, fi, "references.columns"};
    if (fk.ref_columns.empty()) fail(cw, fmt::format("{}: references no columns", subject(w)));
    std::set<std::string> seen;
    for (const auto& rc : fk.ref_columns) {
      if (!target->column(rc)) {
        std::vector<std::string> names;
        for (const auto& col : target->columns) names.push_back(col.name);
        std::string hint = detail::closest(rc, names);
        fail(cw, fmt::format("{} references missing column '{}.{}'{}", subject(w), target->name,
                             rc, hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
      }
      if (!seen.insert(rc).second)
        fail(cw, fmt::format("{}: references column '{}' twice", subject(w), rc));
    }
    if (fk.columns.size() != fk.ref_columns.size()) {
      fail(cw, fmt::format("{}: {} column(s) {} reference {} column(s) {}.{}", subject(w),
                           fk.columns.size(), listed(fk.columns), fk.ref_columns.size(),
                           target->name, listed(fk.ref_columns)));
    }
    for (std::size_t i = 0; i < fk.columns.size(); ++i) {
      const Column& from = *t.column(fk.columns[i]);
      const Column& to = *target->column(fk.ref_columns[i]);
      bool same = from.type.kind == to.type.kind ||
                  (integer_family(from.type.kind) && integer_family(to.type.kind));
      if (!same) {
        fail(w, fmt::format("{}: column '{}' is {} but references {}.{} of type {}", subject(w),
                            from.name, to_string(from.type), target->name, to.name,
                            to_string(to.type)));
      }
    }
    // PostgreSQL needs the referenced columns to carry a primary key or unique
    // constraint (a full unique index will do), in any order.
    std::set<std::string> want(fk.ref_columns.begin(), fk.ref_columns.end());
    auto same_set = [&](const std::vector<std::string>& cols) {
      return std::set<std::string>(cols.begin(), cols.end()) == want;
    };
    bool keyed = target->primary_key && same_set(target->primary_key->columns);
    for (const auto& u : target->uniques) keyed = keyed || same_set(u.columns);
    for (const auto& ix : target->indexes)
      keyed = keyed || (ix.unique && ix.where.empty() && same_set(ix.columns));
    if (!keyed) {
      fail(cw, fmt::format("{}: referenced columns {}.{} are not its primary key or unique "
                           "(PostgreSQL requires one)", subject(w), target->name,
                           listed(fk.ref_columns)));
    }
    for (std::size_t j = 0; j < fi; ++j) {
      const ForeignKey& other = t.foreign_keys[j];
      if (other.columns == fk.columns && other.ref_table == fk.ref_table &&
          other.ref_columns == fk.ref_columns) {
        fail(w, fmt::format("{}: same columns and target as foreign key {}", subject(w),
                            other.name));
      }
    }
  }

  // PostgreSQL keeps index and constraint names in one namespace per schema, and
  // index names in the same one as tables.
  void names() const {
    std::map<std::string, std::string> used;  // name -> what has it
    std::set<std::string> tables;
    for (const auto& t : meta_.tables) tables.insert(t.name);
    auto claim = [&](const Where& w, const std::string& name, bool relation) {
      std::string owner = subject(w);
      if (relation && tables.count(name)) {
        fail(w, fmt::format("{}: name '{}' is already a table's (PostgreSQL keeps index and "
                            "table names together)", owner, name));
      }
      auto [it, inserted] = used.emplace(name, owner);
      if (!inserted) {
        fail(w, fmt::format("{}: name '{}' is already used by {}", owner, name, it->second));
      }
    };
    for (std::size_t ti = 0; ti < meta_.tables.size(); ++ti) {
      const Table& t = meta_.tables[ti];
      // SQLite renders boolean and json columns with implied, named CHECKs.
      for (std::size_t ci = 0; ci < t.columns.size(); ++ci) {
        const Column& c = t.columns[ci];
        if (c.type.kind == TypeKind::boolean || c.type.kind == TypeKind::json) {
          std::string implied = detail::shorten_name(fmt::format(
              "{}_{}_{}", t.name, c.name, c.type.kind == TypeKind::boolean ? "bool" : "json"));
          used.emplace(implied, fmt::format("{} (its implied check)", subject({Part::column,
                                                                                 ti, ci, ""})));
        }
      }
    }
    for (std::size_t ti = 0; ti < meta_.tables.size(); ++ti) {
      const Table& t = meta_.tables[ti];
      if (t.primary_key) claim({Part::primary_key, ti, 0, ""}, t.primary_key->name, true);
      for (std::size_t i = 0; i < t.uniques.size(); ++i)
        claim({Part::unique, ti, i, "name"}, t.uniques[i].name, true);
      for (std::size_t i = 0; i < t.indexes.size(); ++i)
        claim({Part::index, ti, i, "name"}, t.indexes[i].name, true);
      for (std::size_t i = 0; i < t.foreign_keys.size(); ++i)
        claim({Part::foreign_key, ti, i, "name"}, t.foreign_keys[i].name, false);
      for (std::size_t i = 0; i < t.checks.size(); ++i)
        claim({Part::check, ti, i, "name"}, t.checks[i].name, false);
    }
  }

  // Tables and their constraints carry no meaning in their order (DDL orders by
  // dependency, diff matches by identity), so one order — by name, as
  // save_schema_yaml writes them — makes load(save(m)) == m hold. Columns keep theirs.
  void canonical_order() {
    auto by_name = [](const auto& a, const auto& b) { return a.name < b.name; };
    std::stable_sort(meta_.tables.begin(), meta_.tables.end(), by_name);
    for (auto& t : meta_.tables) {
      std::stable_sort(t.foreign_keys.begin(), t.foreign_keys.end(), by_name);
      std::stable_sort(t.uniques.begin(), t.uniques.end(), by_name);
      std::stable_sort(t.checks.begin(), t.checks.end(), by_name);
      std::stable_sort(t.indexes.begin(), t.indexes.end(), by_name);
    }
  }

  MetaData& meta_;
  const detail::Locate& locate_;
};

}  // namespace

namespace detail {

void validate(MetaData& meta, const Locate& locate) { Validator(meta, locate).run(); }

}  // namespace detail

void validate(MetaData& meta) { detail::validate(meta, {}); }

}  // namespace keel::schema
