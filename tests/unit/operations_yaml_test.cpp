// Operations as YAML: every kind written and read back unchanged (as a YAML::Node and
// as file text), every operation diff() makes of random schemas likewise, the
// hand-written short forms, and malformed operations refused at file:line:column
// with their key.
#include "keel/schema/operations_yaml.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keel/error.hpp"
#include "keel/schema.hpp"
#include "support/random_schema.hpp"

namespace keel::schema {
namespace {

// A schema with something of everything an operation can carry: an autoincrement
// key, names YAML would misread, defaults of each kind (the text "0" is not 0),
// a partial unique index, a composite foreign key with actions, a check.
MetaData model() {
  return load_schema_yaml(R"yaml(
tables:
  "order":
    columns:
      id: {type: bigint, nullable: false, autoincrement: true}
      "true": {type: text, nullable: false, default: "0"}
      "yes": {type: string(20), default: "now"}
      at: {type: timestamp, nullable: false, default: now}
      price: {type: "numeric(12,4)", default: 1.0}
      flag: {type: boolean, nullable: false, default: false}
      kind: {type: text, default: {expression: "lower('X')"}}
      doc: {type: json, default: '{"a": [1, "b"]}'}
      legacy: {type: text, declared_type: "VARCHAR"}
    primary_key: [id]
    unique: [{name: order_true_uq, columns: ["true"]}]
    checks: [{name: order_flag_ok, expression: "flag IN (0, 1) AND \"true\" <> ''"}]
    indexes:
      - {columns: [at, id], unique: true, where: "flag = false"}
  lines:
    columns:
      order_id: {type: bigint, nullable: false}
      n: {type: integer, nullable: false}
      qty: {type: smallint, default: -3}
    primary_key: {name: lines_pk, columns: [order_id, n]}
    foreign_keys:
      - columns: [order_id]
        references: {table: order, columns: [id]}
        on_delete: cascade
        on_update: set_null
)yaml",
                          "model.yaml");
}

// One operation of every kind, carrying the model's objects.
std::vector<Operation> every_kind() {
  MetaData m = model();
  const Table& order = *m.table("order");
  const Table& lines = *m.table("lines");
  Column widened = *order.column("yes");
  widened.type = {TypeKind::text};
  widened.nullable = false;
  widened.server_default = literal(Value("n/a"));
  return {
      CreateTable{order},
      DropTable{lines},
      RenameTable{"order", "orders"},
      AddColumn{"order", *order.column("true")},
      DropColumn{"order", *order.column("kind")},
      AlterColumn{"order", *order.column("yes"), widened},
      RenameColumn{"lines", "qty", "quantity"},
      CreateIndex{"order", order.indexes[0]},
      DropIndex{"order", order.indexes[0]},
      AddForeignKey{"lines", lines.foreign_keys[0]},
      DropForeignKey{"lines", lines.foreign_keys[0]},
      AddUnique{"order", order.uniques[0]},
      DropUnique{"order", order.uniques[0]},
      AddCheck{"order", order.checks[0]},
      DropCheck{"order", order.checks[0]},
      AlterPrimaryKey{"lines", lines.primary_key, PrimaryKey{"lines_pkey", {"order_id"}}},
      AlterPrimaryKey{"order", std::nullopt, order.primary_key},
  };
}

// `op` written as a file would hold it, read back from the text.
Operation through_text(const Operation& op) {
  YAML::Emitter out;
  out << YAML::BeginSeq;
  emit_operation(out, op);
  out << YAML::EndSeq;
  YAML::Node doc = YAML::Load(out.c_str());
  return operation_from_yaml(doc[0], "m.yaml", "upgrade[0]");
}

// The ConfigError of reading upgrade[i] of `yaml`, or "".
std::string error_of(const std::string& yaml, std::size_t i = 0) {
  try {
    YAML::Node doc = YAML::Load(yaml);
    operation_from_yaml(doc["upgrade"][i], "0001_init.yaml", "upgrade[" + std::to_string(i) + "]");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return {};
}

Operation read_one(const std::string& yaml) {
  return operation_from_yaml(YAML::Load(yaml)[0], "m.yaml", "upgrade[0]");
}

TEST(OperationsYamlTest, EveryKindRoundTripsThroughANode) {
  for (const Operation& op : every_kind()) {
    SCOPED_TRACE(describe(op));
    YAML::Node node = operation_to_yaml(op);
    EXPECT_TRUE(operation_from_yaml(node, "m.yaml", "upgrade[0]") == op) << YAML::Dump(node);
  }
}

TEST(OperationsYamlTest, EveryKindRoundTripsThroughFileText) {
  for (const Operation& op : every_kind()) {
    SCOPED_TRACE(describe(op));
    EXPECT_TRUE(through_text(op) == op);
  }
}

TEST(OperationsYamlTest, EveryKindIsWrittenUnderItsOwnKey) {
  std::vector<std::string> keys;
  for (const Operation& op : every_kind())
    keys.push_back(operation_to_yaml(op).begin()->first.Scalar());
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "create_table", "drop_table", "rename_table", "add_column", "drop_column",
                      "alter_column", "rename_column", "create_index", "drop_index",
                      "add_foreign_key", "drop_foreign_key", "add_unique", "drop_unique",
                      "add_check", "drop_check", "alter_primary_key", "alter_primary_key"}));
}

TEST(OperationsYamlTest, QuotedTextDefaultStaysTextInTheFile) {
  YAML::Emitter out;
  emit_operation(out, every_kind()[3]);
  EXPECT_EQ(std::string(out.c_str()),
            R"(add_column: {table: order, column: {name: "true", type: text, nullable: false, )"
            R"(default: "0"}})");
}

TEST(OperationsYamlTest, DiffOfRandomSchemasRoundTripsOperationByOperation) {
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    MetaData a = testing::random_schema(seed);
    MetaData b = testing::random_schema(seed + 100);
    validate(a);
    validate(b);
    for (Backend backend : {Backend::sqlite, Backend::postgresql}) {
      for (const std::vector<Operation>& ops :
           {diff(a, b, backend), diff(b, a, backend), diff(MetaData{}, a, backend)}) {
        for (const Operation& op : ops) {
          SCOPED_TRACE(describe(op));
          ASSERT_TRUE(through_text(op) == op) << "seed " << seed;
        }
      }
    }
  }
}

TEST(OperationsYamlTest, HandWrittenOperationsGetSchemaYamlDefaults) {
  auto ix = std::get<CreateIndex>(read_one("- create_index: {table: sessions, columns: title}"));
  EXPECT_EQ(ix.index, (Index{"ix_sessions_title", {"title"}, false, ""}));
  auto fk = std::get<AddForeignKey>(
      read_one("- add_foreign_key: {table: posts, columns: [user_id], references: {table: users, "
               "columns: [id]}, on_delete: SET NULL}"));
  EXPECT_EQ(fk.fk.name, "posts_user_id_fkey");
  EXPECT_EQ(fk.fk.on_delete, FkAction::set_null);
  auto u = std::get<AddUnique>(read_one("- add_unique: {table: users, columns: [email]}"));
  EXPECT_EQ(u.unique.name, "users_email_key");
  auto pk = std::get<AlterPrimaryKey>(read_one("- alter_primary_key: {table: t, to: [a, b]}"));
  EXPECT_EQ(pk.from, std::nullopt);
  EXPECT_EQ(pk.to, (PrimaryKey{"t_pkey", {"a", "b"}}));
  auto add = std::get<AddColumn>(
      read_one("- add_column: {table: sessions, column: {name: title, type: text, nullable: false, "
               "default: \"\"}}"));
  EXPECT_EQ(add.column.name, "title");
  EXPECT_EQ(add.column.server_default, literal(Value("")));
  auto alter = std::get<AlterColumn>(read_one(
      "- alter_column: {table: sessions, column: title, from: text, to: {type: \"string(200)\", "
      "nullable: false}}"));
  EXPECT_EQ(alter.from.name, "title");
  EXPECT_EQ(alter.to.type, (ColumnType{TypeKind::string, 200}));
  EXPECT_FALSE(alter.to.nullable);
  auto create = std::get<CreateTable>(read_one(R"(
- create_table:
    name: sessions
    columns: {id: {type: text, nullable: false}, user_id: bigint}
    primary_key: id
    foreign_keys: [{columns: [user_id], references: {table: users, columns: [id]}}]
    indexes: [{columns: [user_id]}]
)"));
  EXPECT_EQ(create.table.primary_key, (PrimaryKey{"sessions_pkey", {"id"}}));
  EXPECT_EQ(create.table.foreign_keys[0].name, "sessions_user_id_fkey");
  EXPECT_EQ(create.table.indexes[0].name, "ix_sessions_user_id");
}

TEST(OperationsYamlTest, UnknownOperationIsRefusedWithASuggestion) {
  EXPECT_EQ(error_of("upgrade:\n  - add_colum: {table: t}\n"),
            "0001_init.yaml:2:5: key upgrade[0].add_colum: unknown key (did you mean "
            "'add_column'?); expected one of: create_table, drop_table, rename_table, add_column, "
            "drop_column, alter_column, rename_column, create_index, drop_index, add_foreign_key, "
            "drop_foreign_key, add_unique, drop_unique, add_check, drop_check, alter_primary_key");
}

TEST(OperationsYamlTest, OperationMustBeOneKeyMapping) {
  EXPECT_EQ(error_of("upgrade:\n  - {rename_table: {from: a, to: b}, drop_table: {name: c}}\n"),
            "0001_init.yaml:2:5: key upgrade[0]: expected a mapping with one key naming the "
            "operation (create_table, drop_table, rename_table, add_column, drop_column, "
            "alter_column, rename_column, create_index, drop_index, add_foreign_key, "
            "drop_foreign_key, add_unique, drop_unique, add_check, drop_check, "
            "alter_primary_key), got 2 keys");
  EXPECT_NE(error_of("upgrade:\n  - add_column\n")
                .find("0001_init.yaml:2:5: key upgrade[0]: "
                      "expected a mapping with one key"),
            std::string::npos);
}

TEST(OperationsYamlTest, MissingTableIsRefusedAtTheOperation) {
  EXPECT_EQ(error_of("upgrade:\n  - rename_table: {from: a}\n  - drop_index: {name: ix}\n", 1),
            "0001_init.yaml:3:5: key upgrade[1].drop_index: drop_index has no table: key");
  EXPECT_EQ(error_of("upgrade:\n  - rename_table: {from: a}\n"),
            "0001_init.yaml:2:5: key upgrade[0].rename_table: rename_table has no to: key");
}

TEST(OperationsYamlTest, BadColumnIsRefusedAtItsKey) {
  EXPECT_EQ(
      error_of("upgrade:\n  - add_column: {table: t, column: {name: c, type: strng}}\n"),
      "0001_init.yaml:2:52: key upgrade[0].add_column.column.type: unknown type 'strng' (did "
      "you mean 'string'?); expected one of: integer, bigint, smallint, boolean, real, numeric, "
      "numeric(p,s), text, string(n), blob, date, timestamp, json, uuid");
  EXPECT_EQ(error_of("upgrade:\n  - add_column: {table: t, column: {name: c, tpye: text}}\n"),
            "0001_init.yaml:2:46: key upgrade[0].add_column.column.tpye: unknown key (did you "
            "mean 'type'?); expected one of: type, nullable, default, autoincrement, "
            "renamed_from, declared_type, name");
  EXPECT_EQ(error_of("upgrade:\n  - add_column: {table: t, column: {type: text}}\n"),
            "0001_init.yaml:2:28: key upgrade[0].add_column.column: column has no name: key");
}

TEST(OperationsYamlTest, ColumnIsValidatedAsSchemaYamlValidatesIt) {
  EXPECT_EQ(error_of("upgrade:\n"
                     "  - alter_column:\n"
                     "      table: t\n"
                     "      column: n\n"
                     "      from: integer\n"
                     "      to: {type: integer, default: abc}\n"),
            "0001_init.yaml:6:36: key upgrade[0].alter_column.to.default: table 't': column 'n': "
            "default 'abc' is quoted text, which an integer column cannot take (write the number "
            "unquoted)");
}

TEST(OperationsYamlTest, TableIsValidatedAsSchemaYamlValidatesIt) {
  std::string error = error_of(
      "upgrade:\n"
      "  - create_table:\n"
      "      name: t\n"
      "      columns: {id: integer}\n"
      "      indexes: [{columns: [idd]}]\n");
  EXPECT_EQ(error,
            "0001_init.yaml:5:27: key upgrade[0].create_table.indexes[0].columns: table 't': "
            "index ix_t_idd: column 'idd' does not exist (did you mean 'id'?)");
}

TEST(OperationsYamlTest, CheckNeedsAName) {
  EXPECT_EQ(error_of("upgrade:\n  - add_check: {table: t, expression: \"a > 0\"}\n"),
            "0001_init.yaml:2:5: key upgrade[0].add_check: add_check has no name: key");
}

}  // namespace
}  // namespace keel::schema
