// Schema operations as YAML: the lists of migration files.
//
// Every part an operation carries — a table, a column, an index, a key — is read
// and written by schema.yaml's own reader and writers (schema/yaml_parts.hpp), so
// the two formats cannot drift apart and errors read the same. What is read is
// checked as validate() checks a schema, on a one-table model holding just that
// part: a column's type and default, a table's keys and indexes. Whether the
// operation fits the schema it is applied to (does the table exist?) is apply()'s
// question, asked when the history is replayed.
#include "schema/operations_yaml.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "keel/error.hpp"
#include "schema/internal.hpp"
#include "schema/yaml_parts.hpp"

namespace keel::schema {
namespace {

using detail::Entry;
using detail::Names;

// Operation kinds in the order of the Operation variant's alternatives.
const Names kKinds = {"create_table", "drop_table",      "rename_table",     "add_column",
                      "drop_column",  "alter_column",    "rename_column",    "create_index",
                      "drop_index",   "add_foreign_key", "drop_foreign_key", "add_unique",
                      "drop_unique",  "add_check",       "drop_check",       "alter_primary_key"};

std::string joined(const std::vector<std::string>& cols) {
  return fmt::format("{}", fmt::join(cols, "_"));
}

// ---- writing ----------------------------------------------------------------------

class Writer {
 public:
  explicit Writer(YAML::Emitter& out) : out_(out) {}

  void operator()(const CreateTable& o) { table("create_table", o.table); }
  void operator()(const DropTable& o) { table("drop_table", o.table); }
  void operator()(const RenameTable& o) {
    begin("rename_table");
    key_name("from", o.from);
    key_name("to", o.to);
    end();
  }
  void operator()(const AddColumn& o) { column("add_column", o.table, o.column); }
  void operator()(const DropColumn& o) { column("drop_column", o.table, o.column); }
  void operator()(const AlterColumn& o) {
    begin("alter_column");
    key_name("table", o.table);
    key_name("column", o.to.name);
    for (const auto& [key, c] : {std::pair{"from", &o.from}, std::pair{"to", &o.to}}) {
      out_ << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginMap;
      detail::column_fields(out_, *c);
      out_ << YAML::EndMap;
    }
    end();
  }
  void operator()(const RenameColumn& o) {
    begin("rename_column");
    key_name("table", o.table);
    key_name("from", o.from);
    key_name("to", o.to);
    end();
  }
  void operator()(const CreateIndex& o) { index("create_index", o.table, o.index); }
  void operator()(const DropIndex& o) { index("drop_index", o.table, o.index); }
  void operator()(const AddForeignKey& o) { foreign_key("add_foreign_key", o.table, o.fk); }
  void operator()(const DropForeignKey& o) { foreign_key("drop_foreign_key", o.table, o.fk); }
  void operator()(const AddUnique& o) { unique("add_unique", o.table, o.unique); }
  void operator()(const DropUnique& o) { unique("drop_unique", o.table, o.unique); }
  void operator()(const AddCheck& o) { check("add_check", o.table, o.check); }
  void operator()(const DropCheck& o) { check("drop_check", o.table, o.check); }
  void operator()(const AlterPrimaryKey& o) {
    begin("alter_primary_key");
    key_name("table", o.table);
    // A side without a key is left out: {table: t, to: {…}} adds one.
    for (const auto& [key, pk] : {std::pair{"from", &o.from}, std::pair{"to", &o.to}}) {
      if (!*pk) continue;
      out_ << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginMap;
      if (!(*pk)->name.empty()) key_name("name", (*pk)->name);
      out_ << YAML::Key << "columns" << YAML::Value;
      detail::name_list(out_, (*pk)->columns);
      out_ << YAML::EndMap;
    }
    end();
  }

 private:
  void begin(const char* kind, bool flow = true) {
    out_ << YAML::BeginMap << YAML::Key << kind << YAML::Value;
    if (flow) out_ << YAML::Flow;
    out_ << YAML::BeginMap;
  }
  void end() { out_ << YAML::EndMap << YAML::EndMap; }
  void key_name(const char* key, const std::string& value) {
    out_ << YAML::Key << key << YAML::Value;
    detail::name(out_, value);
  }

  void table(const char* kind, const Table& t) {
    begin(kind, false);  // a table is long: block style, as in schema.yaml
    key_name("name", t.name);
    detail::table_fields(out_, t);
    end();
  }
  void column(const char* kind, const std::string& table, const Column& c) {
    begin(kind);
    key_name("table", table);
    out_ << YAML::Key << "column" << YAML::Value << YAML::Flow << YAML::BeginMap;
    key_name("name", c.name);
    detail::column_fields(out_, c);
    out_ << YAML::EndMap;
    end();
  }
  // Names are always written: a migration must not depend on naming defaults.
  void index(const char* kind, const std::string& table, const Index& ix) {
    begin(kind);
    key_name("table", table);
    if (!ix.name.empty()) key_name("name", ix.name);
    detail::index_fields(out_, ix);
    end();
  }
  void foreign_key(const char* kind, const std::string& table, const ForeignKey& fk) {
    begin(kind);
    key_name("table", table);
    if (!fk.name.empty()) key_name("name", fk.name);
    detail::foreign_key_fields(out_, fk);
    end();
  }
  void unique(const char* kind, const std::string& table, const UniqueConstraint& u) {
    begin(kind);
    key_name("table", table);
    if (!u.name.empty()) key_name("name", u.name);
    out_ << YAML::Key << "columns" << YAML::Value;
    detail::name_list(out_, u.columns);
    end();
  }
  void check(const char* kind, const std::string& table, const CheckConstraint& c) {
    begin(kind);
    key_name("table", table);
    key_name("name", c.name);
    detail::check_fields(out_, c);
    end();
  }

  YAML::Emitter& out_;
};

// ---- reading ----------------------------------------------------------------------

class OperationReader : public detail::YamlReader {
 public:
  using YamlReader::YamlReader;

  Operation read(const YAML::Node& node, const std::string& path) {
    std::string where = path.empty() ? "(operation)" : path;
    if (!node.IsMap() || node.size() != 1) {
      fail(node.Mark(), where,
           fmt::format("expected a mapping with one key naming the operation ({}), got {}",
                       fmt::join(kKinds, ", "),
                       node.IsMap() ? fmt::format("{} keys", node.size()) : shape(node)));
    }
    std::optional<Operation> op;
    each(node, path, kKinds, [&](const Entry& e) { op = operation(e); });
    return std::move(*op);
  }

 private:
  static std::string shape(const YAML::Node& node) {
    if (node.IsNull()) return "nothing";
    if (node.IsSequence()) return "a list";
    return fmt::format("'{}'", node.Scalar());
  }

  Operation operation(const Entry& e) {
    const std::string& kind = e.name;
    if (kind == "create_table") return CreateTable{table_part(e)};
    if (kind == "drop_table") return DropTable{table_part(e)};
    if (kind == "rename_table") {
      auto f = fields(e, {"from", "to"}, {"from", "to"});
      return RenameTable{name(f.at("from"), "a table name"), name(f.at("to"), "a table name")};
    }
    if (kind == "add_column" || kind == "drop_column") {
      auto f = fields(e, {"table", "column"}, {"table", "column"});
      std::string table = name(f.at("table"), "a table name");
      const Entry& c = f.at("column");
      auto named = fields(c, with(detail::kColumnKeys, {"name"}), {"name"});
      Column col = column_part(c, table, name(named.at("name"), "a column name"), {"name"});
      if (kind == "add_column") return AddColumn{std::move(table), std::move(col)};
      return DropColumn{std::move(table), std::move(col)};
    }
    if (kind == "alter_column") {
      auto f = fields(e, {"table", "column", "from", "to"}, {"table", "column", "from", "to"});
      std::string table = name(f.at("table"), "a table name");
      std::string col = name(f.at("column"), "a column name");
      Column from = column_part(f.at("from"), table, col, {});
      Column to = column_part(f.at("to"), table, col, {});
      return AlterColumn{std::move(table), std::move(from), std::move(to)};
    }
    if (kind == "rename_column") {
      auto f = fields(e, {"table", "from", "to"}, {"table", "from", "to"});
      return RenameColumn{name(f.at("table"), "a table name"), name(f.at("from"), "a column name"),
                          name(f.at("to"), "a column name")};
    }
    if (kind == "create_index" || kind == "drop_index") {
      std::string table = table_key(e, detail::kIndexKeys);
      Table scratch;
      index(scratch, 0, e, {"table"});
      Index ix = std::move(scratch.indexes[0]);
      if (ix.name.empty()) ix.name = detail::shorten_name("ix_" + table + "_" + joined(ix.columns));
      if (kind == "create_index") return CreateIndex{std::move(table), std::move(ix)};
      return DropIndex{std::move(table), std::move(ix)};
    }
    if (kind == "add_foreign_key" || kind == "drop_foreign_key") {
      std::string table = table_key(e, detail::kForeignKeyKeys);
      Table scratch;
      foreign_key(scratch, 0, e, {"table"});
      ForeignKey fk = std::move(scratch.foreign_keys[0]);
      if (fk.name.empty())
        fk.name = detail::shorten_name(table + "_" + joined(fk.columns) + "_fkey");
      if (kind == "add_foreign_key") return AddForeignKey{std::move(table), std::move(fk)};
      return DropForeignKey{std::move(table), std::move(fk)};
    }
    if (kind == "add_unique" || kind == "drop_unique") {
      std::string table = table_key(e, detail::kKeyKeys);
      Table scratch;
      unique(scratch, 0, e, {"table"});
      UniqueConstraint u = std::move(scratch.uniques[0]);
      if (u.name.empty()) u.name = detail::shorten_name(table + "_" + joined(u.columns) + "_key");
      if (kind == "add_unique") return AddUnique{std::move(table), std::move(u)};
      return DropUnique{std::move(table), std::move(u)};
    }
    if (kind == "add_check" || kind == "drop_check") {
      std::string table = table_key(e, detail::kCheckKeys, {"table", "name"});
      Table scratch;
      check(scratch, 0, e, {"table"});
      if (kind == "add_check") return AddCheck{std::move(table), std::move(scratch.checks[0])};
      return DropCheck{std::move(table), std::move(scratch.checks[0])};
    }
    // alter_primary_key
    auto f = fields(e, {"table", "from", "to"}, {"table"});
    std::string table = name(f.at("table"), "a table name");
    AlterPrimaryKey op{table, key_part(f, "from", table), key_part(f, "to", table)};
    if (!op.from && !op.to) fail(e, "alter_primary_key needs from: or to: (or both)");
    return op;
  }

  // The keys of mapping `e` (each in `allowed`, once), refusing it without `required`.
  std::map<std::string, Entry> fields(const Entry& e, const Names& allowed, const Names& required) {
    if (!e.value.IsMap()) expected(e, fmt::format("a mapping with {}", fmt::join(allowed, ", ")));
    std::map<std::string, Entry> out;
    each(e.value, e.path, allowed, [&](const Entry& k) { out.emplace(k.name, k); });
    for (std::string_view key : required) {
      if (!out.count(std::string(key)))
        fail(e.key_mark(), e.path, fmt::format("{} has no {}: key", e.name, key));
    }
    return out;
  }

  // The table: of an operation whose other keys are `keys`, read by schema.yaml's reader.
  std::string table_key(const Entry& e, const Names& keys, const Names& required = {"table"}) {
    auto f = fields(e, with(keys, {"table"}), required);
    return name(f.at("table"), "a table name");
  }

  // The column at `e` (a mapping, or just a type), named `col`, checked as validate()
  // checks a column of table `table`.
  Column column_part(const Entry& e, const std::string& table, const std::string& col,
                     const Names& extra) {
    MetaData scratch;
    scratch.tables.emplace_back();
    scratch.tables[0].name = table;
    Entry c = e;
    c.name = col;
    column(scratch.tables[0], 0, c, extra);
    bool nullable = scratch.tables[0].columns[0].nullable;
    // An autoincrement column is a key's only column; say so, or validate() objects.
    if (scratch.tables[0].columns[0].autoincrement)
      scratch.tables[0].primary_key = PrimaryKey{"", {col}};
    detail::validate(scratch, [this](const detail::Where& w) { return locate(w); });
    Column out = scratch.tables[0].columns[0];
    out.nullable = nullable;  // not made NOT NULL by the stand-in key
    return out;
  }

  // A whole table: {name: …, columns: {…}, primary_key: …, …}, checked by validate()
  // on its own. Its foreign keys point at tables this operation does not carry, so
  // they are set aside for the check and only given their default names.
  Table table_part(const Entry& e) {
    auto f = fields(e, with(detail::kTableKeys, {"name"}), {"name", "columns"});
    Entry named = e;
    named.name = name(f.at("name"), "a table name");
    MetaData scratch;
    table(scratch, named, {"name"});
    std::vector<ForeignKey> fks = std::move(scratch.tables[0].foreign_keys);
    scratch.tables[0].foreign_keys.clear();
    detail::validate(scratch, [this](const detail::Where& w) { return locate(w); });
    Table out = std::move(scratch.tables[0]);
    for (ForeignKey& fk : fks)
      if (fk.name.empty())
        fk.name = detail::shorten_name(out.name + "_" + joined(fk.columns) + "_fkey");
    std::stable_sort(fks.begin(), fks.end(),
                     [](const ForeignKey& a, const ForeignKey& b) { return a.name < b.name; });
    out.foreign_keys = std::move(fks);
    return out;
  }

  // from: / to: of alter_primary_key; nullopt when left out or null.
  std::optional<PrimaryKey> key_part(const std::map<std::string, Entry>& f, const char* key,
                                     const std::string& table) {
    auto it = f.find(key);
    if (it == f.end() || it->second.value.IsNull()) return std::nullopt;
    Table scratch;
    primary_key(scratch, 0, it->second);
    PrimaryKey pk = std::move(*scratch.primary_key);
    if (pk.name.empty()) pk.name = detail::shorten_name(table + "_pkey");
    return pk;
  }
};

}  // namespace

void emit_operation(YAML::Emitter& out, const Operation& op) { std::visit(Writer(out), op); }

YAML::Node operation_to_yaml(const Operation& op) {
  YAML::Emitter out;
  emit_operation(out, op);
  return YAML::Load(out.c_str());
}

Operation operation_from_yaml(const YAML::Node& node, std::string_view origin,
                              std::string_view path) {
  return OperationReader(origin).read(node, std::string(path));
}

}  // namespace keel::schema
