// The schema model's few behaviours: type names, FK action SQL, the fluent
// builder, default constructors, and the helpers the rest of the layer shares.
#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <climits>
#include <utility>

#include "config/suggest.hpp"
#include "keel/error.hpp"
#include "keel/schema.hpp"
#include "schema/internal.hpp"

namespace keel::schema {

namespace {

struct KindName {
  TypeKind kind;
  std::string_view name;
};
constexpr std::array<KindName, 13> kKinds = {{
    {TypeKind::integer, "integer"},
    {TypeKind::bigint, "bigint"},
    {TypeKind::smallint, "smallint"},
    {TypeKind::boolean, "boolean"},
    {TypeKind::real, "real"},
    {TypeKind::numeric, "numeric"},
    {TypeKind::text, "text"},
    {TypeKind::string, "string"},
    {TypeKind::blob, "blob"},
    {TypeKind::date, "date"},
    {TypeKind::timestamp, "timestamp"},
    {TypeKind::json, "json"},
    {TypeKind::uuid, "uuid"},
}};

std::string_view kind_name(TypeKind kind) {
  for (const auto& k : kKinds)
    if (k.kind == kind) return k.name;
  return "?";
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A non-negative decimal int with nothing else around it but spaces.
std::optional<int> parse_int(std::string_view s) {
  s = trim(s);
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

}  // namespace

std::string to_string(const ColumnType& type) {
  switch (type.kind) {
    case TypeKind::string:
      return fmt::format("string({})", type.length);
    case TypeKind::numeric:
      if (type.precision == 0 && type.scale == 0) return "numeric";
      return fmt::format("numeric({},{})", type.precision, type.scale);
    default:
      return std::string(kind_name(type.kind));
  }
}

std::optional<ColumnType> parse_type(std::string_view text) {
  std::string s(trim(text));
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view view = s;
  std::string_view args;
  bool has_args = false;
  if (auto open = view.find('('); open != view.npos) {
    if (view.back() != ')') return std::nullopt;
    args = view.substr(open + 1, view.size() - open - 2);
    view = trim(view.substr(0, open));
    has_args = true;
  }
  for (const auto& k : kKinds) {
    if (k.name != view) continue;
    ColumnType type;
    type.kind = k.kind;
    if (!has_args) return k.kind == TypeKind::string ? std::nullopt : std::optional(type);
    if (k.kind == TypeKind::string) {
      auto n = parse_int(args);
      if (!n) return std::nullopt;
      type.length = *n;
      return type;
    }
    if (k.kind == TypeKind::numeric) {
      auto comma = args.find(',');
      auto p = parse_int(args.substr(0, comma));
      if (!p) return std::nullopt;
      type.precision = *p;
      if (comma != args.npos) {
        auto scale = parse_int(args.substr(comma + 1));
        if (!scale) return std::nullopt;
        type.scale = *scale;
      }
      return type;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

const char* to_sql(FkAction action) noexcept {
  switch (action) {
    case FkAction::no_action: return "NO ACTION";
    case FkAction::restrict: return "RESTRICT";
    case FkAction::cascade: return "CASCADE";
    case FkAction::set_null: return "SET NULL";
    case FkAction::set_default: return "SET DEFAULT";
  }
  return "NO ACTION";
}

TableBuilder::TableBuilder(MetaData& meta, std::string name)
    : meta_(meta), index_(meta.tables.size()) {
  Table t;
  t.name = std::move(name);
  meta_.tables.push_back(std::move(t));
}

TableBuilder& TableBuilder::column(std::string name, std::string_view type,
                                   ColumnOptions options) {
  auto parsed = parse_type(type);
  if (!parsed) {
    throw UsageError(fmt::format("table '{}': column '{}': unknown type '{}'", table().name, name,
                                 type));
  }
  Column c;
  c.name = std::move(name);
  c.type = *parsed;
  c.nullable = options.nullable;
  c.server_default = std::move(options.server_default);
  c.autoincrement = options.autoincrement;
  table().columns.push_back(std::move(c));
  return *this;
}

TableBuilder& TableBuilder::primary_key(std::vector<std::string> columns) {
  table().primary_key = PrimaryKey{{}, std::move(columns)};
  return *this;
}

TableBuilder& TableBuilder::foreign_key(std::vector<std::string> columns, std::string ref_table,
                                        std::vector<std::string> ref_columns, FkAction on_delete,
                                        FkAction on_update) {
  table().foreign_keys.push_back(
      ForeignKey{{}, std::move(columns), std::move(ref_table), std::move(ref_columns), on_delete,
                 on_update});
  return *this;
}

TableBuilder& TableBuilder::unique(std::vector<std::string> columns) {
  table().uniques.push_back(UniqueConstraint{{}, std::move(columns)});
  return *this;
}

TableBuilder& TableBuilder::check(std::string name, std::string expression) {
  table().checks.push_back(CheckConstraint{std::move(name), std::move(expression)});
  return *this;
}

TableBuilder& TableBuilder::index(std::string name, std::vector<std::string> columns,
                                  bool unique, std::string where) {
  table().indexes.push_back(Index{std::move(name), std::move(columns), unique, std::move(where)});
  return *this;
}

// By position, not by reference: later builders may grow meta.tables.
Table& TableBuilder::table() { return meta_.tables.at(index_); }

Default literal(Value v) {
  Default d;
  d.kind = Default::Kind::literal;
  d.literal = std::move(v);
  return d;
}

Default now() {
  Default d;
  d.kind = Default::Kind::current_timestamp;
  return d;
}

Default expression(std::string sql) {
  Default d;
  d.kind = Default::Kind::expression;
  d.expression = std::move(sql);
  return d;
}

namespace detail {

std::string closest(std::string_view word, const std::vector<std::string>& names) {
  std::string best;
  std::size_t best_distance = SIZE_MAX;
  for (const auto& name : names) {
    std::size_t d = keel::detail::edit_distance(word, name);
    if (d < best_distance) best = name, best_distance = d;
  }
  // Two edits catch a transposition or a dropped letter without matching
  // unrelated short names.
  if (best_distance > 0 && best_distance <= std::min<std::size_t>(2, (word.size() + 1) / 2))
    return best;
  // A name cut short ("created" for "created_at") is a typo too, when only one fits.
  std::string prefixed;
  if (word.size() >= 3) {
    for (const auto& name : names) {
      if (name.size() <= word.size() || name.compare(0, word.size(), word) != 0) continue;
      if (!prefixed.empty()) return {};
      prefixed = name;
    }
  }
  return prefixed;
}

std::string shorten_name(std::string name) {
  constexpr std::size_t kMax = 63;
  if (name.size() <= kMax) return name;
  XXH32_hash_t hash = XXH32(name.data(), name.size(), 0);
  return fmt::format("{}_{:08x}", std::string_view(name).substr(0, 54), hash);
}

}  // namespace detail

}  // namespace keel::schema
