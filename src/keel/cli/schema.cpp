// cli/schema.cpp — `keel schema ddl|reflect|diff`: the schema file as DDL for a
// dialect, a live database as a schema file, and the difference between the two.
#include "keel/schema.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <variant>

#include "common.hpp"
#include "keel/connection.hpp"
#include "keel/error.hpp"

namespace keel::cli {
namespace {

using nlohmann::json;

struct SchemaOptions {
  std::string dialect;  // ddl: sqlite | postgresql; empty: the configured database's
  std::string file;     // the schema file; empty: keel.yaml's `schema:`, else ./schema.yaml
};

// The schema file a verb reads: FILE, else the config's `schema:`, else ./schema.yaml.
std::string schema_path(const Globals& globals, const SchemaOptions& options) {
  if (!options.file.empty()) return options.file;
  Config config = load_config(globals);
  return config.schema_file.empty() ? "schema.yaml" : config.schema_file;
}

schema::MetaData load_schema(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw ConfigError(
        fmt::format("{}: schema file not found (give FILE, or `schema:` in keel.yaml)", path));
  return schema::load_schema_file(path);
}

json to_json(const Value& v) {
  return std::visit(
      [&](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return nullptr;
        else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, double> ||
                           std::is_same_v<T, bool> || std::is_same_v<T, std::string>)
          return x;
        else
          return v.to_display();
      },
      v.storage());
}

json to_json(const schema::Column& c) {
  json j = {{"name", c.name}, {"type", schema::to_string(c.type)}, {"nullable", c.nullable}};
  if (c.autoincrement) j["autoincrement"] = true;
  if (c.server_default) {
    const schema::Default& d = *c.server_default;
    switch (d.kind) {
      case schema::Default::Kind::literal:
        j["default"] = {{"literal", to_json(d.literal)}};
        break;
      case schema::Default::Kind::current_timestamp:
        j["default"] = {{"now", true}};
        break;
      case schema::Default::Kind::expression:
        j["default"] = {{"expression", d.expression}};
        break;
    }
  }
  if (!c.declared_type.empty()) j["declared_type"] = c.declared_type;
  return j;
}

json to_json(const schema::Table& t) {
  json j = {{"name", t.name}, {"columns", json::array()}};
  for (const auto& c : t.columns) j["columns"].push_back(to_json(c));
  if (t.primary_key)
    j["primary_key"] = {{"name", t.primary_key->name}, {"columns", t.primary_key->columns}};
  j["foreign_keys"] = json::array();
  for (const auto& fk : t.foreign_keys) {
    j["foreign_keys"].push_back({{"name", fk.name},
                                 {"columns", fk.columns},
                                 {"ref_table", fk.ref_table},
                                 {"ref_columns", fk.ref_columns},
                                 {"on_delete", schema::to_sql(fk.on_delete)},
                                 {"on_update", schema::to_sql(fk.on_update)}});
  }
  j["uniques"] = json::array();
  for (const auto& u : t.uniques)
    j["uniques"].push_back({{"name", u.name}, {"columns", u.columns}});
  j["checks"] = json::array();
  for (const auto& c : t.checks)
    j["checks"].push_back({{"name", c.name}, {"expression", c.expression}});
  j["indexes"] = json::array();
  for (const auto& i : t.indexes) {
    json index = {{"name", i.name}, {"columns", i.columns}, {"unique", i.unique}};
    if (!i.where.empty()) index["where"] = i.where;
    j["indexes"].push_back(index);
  }
  return j;
}

json to_json(const schema::MetaData& m) {
  json j = {{"tables", json::array()}, {"notes", m.notes}};
  for (const auto& t : m.tables) j["tables"].push_back(to_json(t));
  return j;
}

// The operation's kind in snake_case and the table it acts on.
std::pair<const char*, std::string> op_kind(const schema::Operation& op) {
  return std::visit(
      [](const auto& o) -> std::pair<const char*, std::string> {
        using T = std::decay_t<decltype(o)>;
        using namespace schema;
        if constexpr (std::is_same_v<T, CreateTable>)
          return {"create_table", o.table.name};
        else if constexpr (std::is_same_v<T, DropTable>)
          return {"drop_table", o.table.name};
        else if constexpr (std::is_same_v<T, RenameTable>)
          return {"rename_table", o.from};
        else if constexpr (std::is_same_v<T, AddColumn>)
          return {"add_column", o.table};
        else if constexpr (std::is_same_v<T, DropColumn>)
          return {"drop_column", o.table};
        else if constexpr (std::is_same_v<T, AlterColumn>)
          return {"alter_column", o.table};
        else if constexpr (std::is_same_v<T, RenameColumn>)
          return {"rename_column", o.table};
        else if constexpr (std::is_same_v<T, CreateIndex>)
          return {"create_index", o.table};
        else if constexpr (std::is_same_v<T, DropIndex>)
          return {"drop_index", o.table};
        else if constexpr (std::is_same_v<T, AddForeignKey>)
          return {"add_foreign_key", o.table};
        else if constexpr (std::is_same_v<T, DropForeignKey>)
          return {"drop_foreign_key", o.table};
        else if constexpr (std::is_same_v<T, AddUnique>)
          return {"add_unique", o.table};
        else if constexpr (std::is_same_v<T, DropUnique>)
          return {"drop_unique", o.table};
        else if constexpr (std::is_same_v<T, AddCheck>)
          return {"add_check", o.table};
        else if constexpr (std::is_same_v<T, DropCheck>)
          return {"drop_check", o.table};
        else
          return {"alter_primary_key", o.table};
      },
      op);
}

int run_ddl(const Globals& globals, const SchemaOptions& options) {
  Backend backend =
      options.dialect.empty() ? load_config(globals).url.backend : parse_dialect(options.dialect);
  schema::MetaData meta = load_schema(schema_path(globals, options));
  std::vector<std::string> statements = schema::create_ddl(meta, backend);
  if (globals.json) {
    std::cout << json(statements).dump(2) << '\n';
  } else {
    for (const std::string& s : statements) std::cout << s << ";\n";
  }
  return kExitOk;
}

int run_reflect(const Globals& globals) {
  Config config = load_config(globals);
  if (missing_sqlite_file(config))
    throw ConfigError(
        fmt::format("{} ({}): database file not found", config.url.redacted(), config.url_source));
  auto conn = connect(config);
  schema::MetaData meta = schema::reflect(*conn);
  if (globals.json) {
    std::cout << to_json(meta).dump(2) << '\n';
  } else {
    // Notes go to stderr, so stdout stays a schema file.
    for (const std::string& note : meta.notes) print_error("note: " + note);
    std::cout << schema::save_schema_yaml(meta);
  }
  return kExitOk;
}

int run_diff(const Globals& globals, const SchemaOptions& options) {
  std::string path = schema_path(globals, options);
  schema::MetaData model = load_schema(path);
  Config config = load_config(globals);
  schema::MetaData live;
  if (missing_sqlite_file(config)) {
    // Asking what a database would need must not create one.
    if (!globals.json)
      print_error(
          fmt::format("note: {} does not exist; compared with an empty database", config.url.path));
  } else {
    auto conn = connect(config);
    live = schema::reflect(*conn);
  }
  std::vector<schema::Operation> ops = schema::diff(live, model, config.url.backend);
  if (globals.json) {
    json out = json::array();
    for (const auto& op : ops) {
      auto [kind, table] = op_kind(op);
      out.push_back({{"op", kind}, {"table", table}, {"description", schema::describe(op)}});
    }
    std::cout << out.dump(2) << '\n';
  } else if (ops.empty()) {
    std::cout << fmt::format("{} and the database ({}) agree\n", path, config.url.redacted());
  } else {
    for (const auto& op : ops) std::cout << schema::describe(op) << '\n';
  }
  return ops.empty() ? kExitOk : kExitFailed;
}

Verb schema_verb() {
  auto options = std::make_shared<SchemaOptions>();
  const std::string file_help = "Schema file (default: `schema:` in keel.yaml, else ./schema.yaml)";

  Verb ddl;
  ddl.name = "ddl";
  ddl.summary = "Print the DDL that creates the schema file's tables";
  ddl.details =
      "One statement per line group, each ending in ';' (a JSON array with --json), tables in\n"
      "foreign-key order. Without --dialect, the configured database's dialect.";
  ddl.args.push_back(
      {"--dialect", "sqlite or postgresql", &options->dialect, false, "sqlite|postgresql"});
  ddl.args.push_back({"file", file_help, &options->file, false, "FILE"});
  ddl.run = [options](const Globals& globals) {
    return run_guarded([&] { return run_ddl(globals, *options); });
  };

  Verb reflect;
  reflect.name = "reflect";
  reflect.summary = "Print a live database's tables as a schema file";
  reflect.details =
      "Writes schema.yaml format to stdout (the model as JSON with --json); what the model\n"
      "cannot hold (views, triggers, expression indexes) is noted on stderr.";
  reflect.run = [](const Globals& globals) {
    return run_guarded([&] { return run_reflect(globals); });
  };

  Verb diff;
  diff.name = "diff";
  diff.summary = "Compare the schema file with the database";
  diff.details =
      "Prints one line per operation that would turn the database into the schema file\n"
      "(a JSON array of {op, table, description} with --json).\n"
      "Exit 0 when they agree, 1 when they differ, 2 on a usage or configuration error.";
  diff.args.push_back({"file", file_help, &options->file, false, "FILE"});
  diff.run = [options](const Globals& globals) {
    return run_guarded([&] { return run_diff(globals, *options); });
  };

  Verb verb;
  verb.name = "schema";
  verb.summary = "The schema file as DDL, a live database as a schema file, and their diff";
  verb.subverbs = {std::move(ddl), std::move(reflect), std::move(diff)};
  return verb;
}

[[maybe_unused]] const bool registered = register_verb(schema_verb);

}  // namespace
}  // namespace keel::cli
