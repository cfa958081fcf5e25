// schema.yaml: the format's forms, every error class with its line and key, and
// save → load identity.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "keel/error.hpp"
#include "keel/schema.hpp"

using namespace keel;
using namespace keel::schema;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace {

// load_schema_yaml's ConfigError message, or "" (with a test failure) when it loads.
std::string load_error(const std::string& yaml) {
  try {
    load_schema_yaml(yaml, "schema.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "loaded:\n" << yaml;
  return {};
}

MetaData load(const std::string& yaml) { return load_schema_yaml(yaml, "schema.yaml"); }

// A small valid file the error tests change in one place each; line numbers below
// refer to it.
const std::string kSessions = R"(tables:
  sessions:
    columns:
      id: {type: text, nullable: false}
      created_at: {type: timestamp, nullable: false, default: now}
      title: text
    primary_key: [id]
)";

std::string example_path() {
  return std::string(KEEL_SOURCE_DIR) + "/examples/sessions/schema.yaml";
}

// ---- the forms ---------------------------------------------------------------------

TEST(SchemaYaml, ReadsTheShortAndLongColumnFormsInOrder) {
  MetaData m = load(kSessions);
  ASSERT_EQ(m.tables.size(), 1u);
  const Table& t = m.tables[0];
  ASSERT_EQ(t.columns.size(), 3u);
  EXPECT_EQ(t.columns[0].name, "id");
  EXPECT_EQ(t.columns[1].name, "created_at");
  EXPECT_EQ(t.columns[2].name, "title");
  EXPECT_FALSE(t.columns[0].nullable);
  EXPECT_TRUE(t.columns[2].nullable);
  EXPECT_EQ(t.columns[1].type.kind, TypeKind::timestamp);
  EXPECT_EQ(t.columns[1].server_default, now());
  EXPECT_EQ(t.primary_key->name, "sessions_pkey");
}

TEST(SchemaYaml, QuotesDecideTextAgainstNumberInDefaults) {
  MetaData m = load(R"yaml(tables:
  t:
    columns:
      i: {type: integer, default: 0}
      neg: {type: bigint, default: -12}
      r: {type: real, default: 1.5}
      r1: {type: real, default: 1.0}
      s: {type: text, default: "0"}
      s1: {type: text, default: '0'}
      word: {type: text, default: pending}
      b: {type: boolean, default: false}
      ts: {type: timestamp, default: {now: true}}
      ts2: {type: timestamp, default: CURRENT_TIMESTAMP}
      textnow: {type: text, default: "now"}
      e: {type: text, default: {expression: "lower('X')"}}
      lit: {type: text, default: {literal: "x"}}
      none: {type: text, default: null}
)yaml");
  const Table& t = m.tables[0];
  EXPECT_EQ(t.column("i")->server_default, literal(0));
  EXPECT_EQ(t.column("neg")->server_default, literal(-12));
  EXPECT_EQ(t.column("r")->server_default, literal(1.5));
  EXPECT_EQ(t.column("r1")->server_default, literal(1.0));
  EXPECT_EQ(t.column("s")->server_default, literal("0"));
  EXPECT_EQ(t.column("s1")->server_default, literal("0"));
  EXPECT_EQ(t.column("word")->server_default, literal("pending"));
  EXPECT_EQ(t.column("b")->server_default, literal(false));
  EXPECT_EQ(t.column("ts")->server_default, now());
  EXPECT_EQ(t.column("ts2")->server_default, now());
  EXPECT_EQ(t.column("textnow")->server_default, literal("now"));
  EXPECT_EQ(t.column("e")->server_default, expression("lower('X')"));
  EXPECT_EQ(t.column("lit")->server_default, literal("x"));
  EXPECT_FALSE(t.column("none")->server_default);
}

TEST(SchemaYaml, ReadsEveryConstraintAndIndexForm) {
  MetaData m = load(R"(tables:
  users:
    columns:
      id: {type: bigint, nullable: false, autoincrement: true}
      slug: string(40)
    primary_key: {name: users_pk, columns: [id]}
    unique: [[slug]]
  posts:
    renamed_from: articles
    columns:
      id: bigint
      owner_id: {type: bigint, renamed_from: author_id}
      slug: string(40)
      n: integer
    primary_key: id
    foreign_keys:
      - {columns: [owner_id], references: {table: users, columns: [id]}, on_delete: cascade}
      - name: posts_slug_ref
        columns: slug
        references: {table: users, columns: slug}
        on_delete: set null
        on_update: RESTRICT
    unique:
      - {name: posts_owner_slug, columns: [owner_id, slug]}
    checks: [{name: positive_n, expression: "n >= 0"}]
    indexes:
      - {columns: [n]}
      - {name: ix_posts_live, columns: [owner_id, n], unique: true, where: "n > 0"}
)");
  const Table& users = *m.table("users");
  EXPECT_EQ(users.primary_key->name, "users_pk");
  EXPECT_EQ(users.uniques[0], (UniqueConstraint{"users_slug_key", {"slug"}}));
  const Table& posts = *m.table("posts");
  EXPECT_EQ(posts.renamed_from, "articles");
  EXPECT_EQ(posts.column("owner_id")->renamed_from, "author_id");
  EXPECT_EQ(posts.primary_key->columns, std::vector<std::string>{"id"});
  ASSERT_EQ(posts.foreign_keys.size(), 2u);
  EXPECT_EQ(posts.foreign_keys[0],
            (ForeignKey{"posts_owner_id_fkey", {"owner_id"}, "users", {"id"}, FkAction::cascade,
                        FkAction::no_action}));
  EXPECT_EQ(posts.foreign_keys[1],
            (ForeignKey{"posts_slug_ref", {"slug"}, "users", {"slug"}, FkAction::set_null,
                        FkAction::restrict}));
  EXPECT_EQ(posts.uniques[0].name, "posts_owner_slug");
  EXPECT_EQ(posts.checks[0], (CheckConstraint{"positive_n", "n >= 0"}));
  EXPECT_EQ(posts.indexes[0], (Index{"ix_posts_live", {"owner_id", "n"}, true, "n > 0"}));
  EXPECT_EQ(posts.indexes[1], (Index{"ix_posts_n", {"n"}, false, ""}));
}

TEST(SchemaYaml, AnEmptyFileIsAnEmptySchema) {
  EXPECT_TRUE(load("").tables.empty());
  EXPECT_TRUE(load("tables:\n").tables.empty());
}

// ---- every error class names file:line:column and the key ------------------------

TEST(SchemaYamlErrors, UnknownTypeSuggestsTheClosest) {
  std::string yaml = kSessions;
  yaml.replace(yaml.find("title: text"), 11, "title: strng");
  EXPECT_THAT(load_error(yaml),
              StartsWith("schema.yaml:6:14: key tables.sessions.columns.title: unknown type "
                         "'strng' (did you mean 'string'?); expected one of: integer, bigint"));
  std::string long_form = kSessions;
  long_form.replace(long_form.find("type: text"), 10, "type: txt");
  EXPECT_THAT(load_error(long_form),
              StartsWith("schema.yaml:4:18: key tables.sessions.columns.id.type: unknown type "
                         "'txt' (did you mean 'text'?)"));
}

TEST(SchemaYamlErrors, StringWithoutALengthSaysSo) {
  std::string yaml = kSessions;
  yaml.replace(yaml.find("title: text"), 11, "title: string");
  EXPECT_THAT(load_error(yaml), StartsWith("schema.yaml:6:14: key tables.sessions.columns.title: "
                                           "unknown type 'string' (string needs a length"));
}

TEST(SchemaYamlErrors, OutOfRangeTypeArgumentsNameTheTypeKey) {
  std::string yaml = kSessions;
  yaml.replace(yaml.find("title: text"), 11, "title: {type: \"numeric(2000,1)\"}");
  EXPECT_THAT(load_error(yaml),
              StartsWith("schema.yaml:6:21: key tables.sessions.columns.title.type: table "
                         "'sessions': column 'title': numeric(p,s) needs 1 <= p <= 1000"));
}

TEST(SchemaYamlErrors, UnquotedCommaInAFlowMappingSaysToQuote) {
  std::string yaml = kSessions;
  yaml.replace(yaml.find("title: text"), 11, "title: {type: numeric(12,4)}");
  EXPECT_THAT(load_error(yaml),
              StartsWith("schema.yaml:6:21: key tables.sessions.columns.title.type: unknown type "
                         "'numeric(12' (inside {...} a comma ends the value: write "
                         "\"numeric(p,s)\" in quotes)"));
}

TEST(SchemaYamlErrors, UnknownKeySuggestsTheClosest) {
  std::string yaml = kSessions;
  yaml.replace(yaml.find("nullable: false}"), 8, "nulable");
  EXPECT_THAT(load_error(yaml),
              StartsWith("schema.yaml:4:24: key tables.sessions.columns.id.nulable: unknown key "
                         "(did you mean 'nullable'?); expected one of: type, nullable, default"));
  EXPECT_THAT(load_error(kSessions + "    index: []\n"),
              StartsWith("schema.yaml:8:5: key tables.sessions.index: unknown key (did you mean "
                         "'indexes'?)"));
  EXPECT_THAT(load_error("table:\n  t: {}\n"),
              StartsWith("schema.yaml:1:1: key table: unknown key (did you mean 'tables'?)"));
}

TEST(SchemaYamlErrors, ForeignKeyToAMissingTable) {
  std::string yaml = kSessions + R"(  hook_outbox:
    columns:
      id: bigint
      session_id: text
    foreign_keys:
      - {columns: [session_id], references: {table: sesions, columns: [id]}}
)";
  EXPECT_EQ(load_error(yaml),
            "schema.yaml:13:53: key tables.hook_outbox.foreign_keys[0].references.table: table "
            "'hook_outbox': foreign key hook_outbox_session_id_fkey references missing table "
            "'sesions' (did you mean 'sessions'?)");
}

TEST(SchemaYamlErrors, ForeignKeyToAMissingColumn) {
  std::string yaml = kSessions + R"(  hook_outbox:
    columns:
      session_id: text
    foreign_keys:
      - {columns: [session_id], references: {table: sessions, columns: [idd]}}
)";
  EXPECT_THAT(load_error(yaml),
              StartsWith("schema.yaml:12:72: key tables.hook_outbox.foreign_keys[0].references."
                         "columns: table 'hook_outbox': foreign key hook_outbox_session_id_fkey "
                         "references missing column 'sessions.idd' (did you mean 'id'?)"));
}

TEST(SchemaYamlErrors, ForeignKeyFromAMissingColumn) {
  std::string yaml = kSessions + R"(  hook_outbox:
    columns:
      session_id: text
    foreign_keys:
      - {columns: [sesion_id], references: {table: sessions, columns: [id]}}
)";
  EXPECT_THAT(load_error(yaml),
              StartsWith("schema.yaml:12:19: key tables.hook_outbox.foreign_keys[0].columns: "
                         "table 'hook_outbox': foreign key hook_outbox_sesion_id_fkey: column "
                         "'sesion_id' does not exist (did you mean 'session_id'?)"));
}

TEST(SchemaYamlErrors, DuplicateTableOrColumnKeys) {
  EXPECT_THAT(load_error(kSessions + "  sessions:\n    columns: {id: text}\n"),
              StartsWith("schema.yaml:8:3: key tables.sessions: 'sessions' is given twice (first "
                         "on line 2)"));
  std::string yaml = kSessions;
  yaml.replace(yaml.find("      title: text"), 17, "      title: text\n      id: text");
  EXPECT_THAT(load_error(yaml), StartsWith("schema.yaml:7:7: key tables.sessions.columns.id: 'id' "
                                           "is given twice (first on line 4)"));
}

TEST(SchemaYamlErrors, DuplicateIndexNamesAcrossTables) {
  std::string yaml = kSessions + R"(    indexes:
      - {name: ix_created, columns: [created_at]}
  other:
    columns:
      at: timestamp
    indexes:
      - {name: ix_created, columns: [at]}
)";
  EXPECT_THAT(load_error(yaml),
              StartsWith("schema.yaml:14:16: key tables.other.indexes[0].name: table 'other': "
                         "index ix_created: name 'ix_created' is already used by table "
                         "'sessions': index ix_created"));
}

TEST(SchemaYamlErrors, IndexOnAMissingColumn) {
  std::string yaml = kSessions + "    indexes:\n      - {columns: [created]}\n";
  EXPECT_THAT(load_error(yaml),
              StartsWith("schema.yaml:9:19: key tables.sessions.indexes[0].columns: table "
                         "'sessions': index ix_sessions_created: column 'created' does not exist "
                         "(did you mean 'created_at'?)"));
}

TEST(SchemaYamlErrors, DefaultOfTheWrongKind) {
  std::string now_on_text = kSessions;
  now_on_text.replace(now_on_text.find("title: text"), 11, "title: {type: text, default: now}");
  EXPECT_THAT(load_error(now_on_text),
              StartsWith("schema.yaml:6:36: key tables.sessions.columns.title.default: table "
                         "'sessions': column 'title': default now (current timestamp) needs a "
                         "timestamp column, not text"));
  std::string text_on_int = kSessions;
  text_on_int.replace(text_on_int.find("title: text"), 11,
                      "title: {type: integer, default: \"3\"}");
  EXPECT_THAT(load_error(text_on_int),
              StartsWith("schema.yaml:6:39: key tables.sessions.columns.title.default: table "
                         "'sessions': column 'title': default '3' is quoted text, which an "
                         "integer column cannot take"));
  std::string not_a_number = kSessions;
  not_a_number.replace(not_a_number.find("title: text"), 11,
                       "title: {type: integer, default: 12abc}");
  EXPECT_THAT(load_error(not_a_number),
              StartsWith("schema.yaml:6:39: key tables.sessions.columns.title.default: '12abc' "
                         "is not a number; quote it to make it text"));
  std::string two_kinds = kSessions;
  two_kinds.replace(two_kinds.find("title: text"), 11,
                    "title: {type: text, default: {now: true, expression: x}}");
  EXPECT_THAT(load_error(two_kinds),
              StartsWith("schema.yaml:6:36: key tables.sessions.columns.title.default: give "
                         "exactly one of"));
}

TEST(SchemaYamlErrors, ValueOfTheWrongYamlType) {
  EXPECT_THAT(load_error("tables:\n  t:\n    columns: [a, b]\n"),
              StartsWith("schema.yaml:3:14: key tables.t.columns: expected a mapping of column "
                         "names to types, got a list"));
  std::string yaml = kSessions;
  yaml.replace(yaml.find("nullable: false}"), 15, "nullable: maybe");
  EXPECT_THAT(load_error(yaml), StartsWith("schema.yaml:4:34: key tables.sessions.columns.id."
                                           "nullable: expected true or false, got 'maybe'"));
  EXPECT_THAT(load_error("tables: [sessions]\n"),
              StartsWith("schema.yaml:1:9: key tables: expected a mapping of table names to "
                         "tables, got a list"));
  EXPECT_THAT(load_error(kSessions + "    indexes: {columns: [id]}\n"),
              StartsWith("schema.yaml:8:14: key tables.sessions.indexes: expected a list, got a "
                         "mapping"));
}

TEST(SchemaYamlErrors, UnknownForeignKeyAction) {
  std::string yaml = kSessions + R"(  child:
    columns:
      sid: text
    foreign_keys:
      - {columns: [sid], references: {table: sessions, columns: [id]}, on_delete: cascad}
)";
  EXPECT_THAT(load_error(yaml),
              StartsWith("schema.yaml:12:83: key tables.child.foreign_keys[0].on_delete: unknown "
                         "action 'cascad' (did you mean 'cascade'?)"));
}

TEST(SchemaYamlErrors, MissingRequiredKeys) {
  EXPECT_THAT(load_error("tables:\n  t:\n    columns:\n      a: {nullable: false}\n"),
              StartsWith("schema.yaml:4:7: key tables.t.columns.a: column has no type: key"));
  EXPECT_THAT(load_error("tables:\n  t:\n    columns: {a: text}\n    checks: [{name: c}]\n"),
              StartsWith("schema.yaml:4:14: key tables.t.checks[0]: check has no expression"));
  EXPECT_THAT(load_error("tables:\n  t:\n    columns: {a: text}\n    checks: [{expression: a}]\n"),
              StartsWith("schema.yaml:4:14: key tables.t.checks[0]: table 't': check (a) has "
                         "no name"));
}

TEST(SchemaYamlErrors, TableWithoutColumnsNamesTheTable) {
  EXPECT_THAT(load_error(kSessions + "  empty:\n"),
              StartsWith("schema.yaml:8:3: key tables.empty: table 'empty' has no columns"));
}

TEST(SchemaYamlErrors, SyntaxErrorGivesLineAndColumn) {
  EXPECT_THAT(load_error("tables:\n  t:\n    columns: {a: text\n"),
              StartsWith("schema.yaml:4:1: YAML syntax error:"));
}

TEST(SchemaYamlErrors, MissingFileIsNamed) {
  try {
    load_schema_file("/nonexistent/schema.yaml");
    FAIL() << "loaded";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/schema.yaml: schema file not found");
  }
}

// ---- saving ------------------------------------------------------------------------

// Every type, every default kind, every constraint and index kind, and names
// YAML would misread unquoted.
MetaData everything() {
  MetaData m;
  TableBuilder(m, "parents")
      .column("id", "bigint", {.nullable = false, .autoincrement = true})
      .column("code", "string(8)", {.nullable = false})
      .column("region", "smallint", {.nullable = false})
      .primary_key({"id"})
      .unique({"code", "region"});
  TableBuilder(m, "all types")
      .column("i", "integer", {.server_default = literal(-7)})
      .column("b", "bigint", {.server_default = literal(9007199254740993LL)})
      .column("s", "smallint", {.nullable = false, .server_default = literal(3)})
      .column("flag", "boolean", {.nullable = false, .server_default = literal(true)})
      .column("r", "real", {.server_default = literal(1.0)})
      .column("r2", "real", {.server_default = literal(-2.5e-300)})
      .column("n", "numeric(12,4)", {.server_default = literal("-0.5000")})
      .column("n0", "numeric", {.server_default = literal(42)})
      .column("t", "text", {.server_default = literal("it's \"quoted\"\nand: #not a comment")})
      .column("true", "text", {.server_default = literal("")})
      .column("st", "string(20)", {.server_default = literal("123")})
      .column("bl", "blob", {.server_default = expression("x'00ff'")})
      .column("d", "date", {.server_default = literal("2024-02-29")})
      .column("ts", "timestamp", {.nullable = false, .server_default = now()})
      .column("j", "json", {.server_default = literal("{\"a\": [1, 2]}")})
      .column("u", "uuid", {.server_default = literal("123e4567-e89b-12d3-a456-426614174000")})
      .column("expr", "text", {.server_default = expression("lower('X')")})
      .column("naïve", "text")
      .column("parent_code", "string(8)")
      .column("parent_region", "integer")
      .column("parent_id", "integer")
      .primary_key({"i", "s"})
      .foreign_key({"parent_code", "parent_region"}, "parents", {"code", "region"},
                   FkAction::set_null, FkAction::cascade)
      .foreign_key({"parent_id"}, "parents", {"id"}, FkAction::restrict, FkAction::set_default)
      .unique({"t"})
      .check("flag_or_t", "flag OR t <> ''")
      .check("123", "i > -100")
      .index("", {"d", "ts"})
      .index("ix_unique_partial", {"j"}, true, "flag AND \"true\" = 'y'")
      .index("ix_full_unique", {"u"}, true);
  m.tables[1].column("t")->renamed_from = "text_old";
  m.tables[1].renamed_from = "all_types_v1";
  m.tables[1].uniques.push_back({"custom unique", {"st", "d"}});
  m.tables[1].foreign_keys[0].name = "fk custom";
  m.tables[1].column("naïve")->declared_type = "VARCHAR(40)";
  std::string long_table(50, 'x');
  TableBuilder(m, long_table)
      .column(std::string(40, 'c'), "integer", {.nullable = false})
      .primary_key({std::string(40, 'c')})
      .index("", {std::string(40, 'c')});
  validate(m);
  return m;
}

TEST(SchemaYamlSave, SaveThenLoadIsIdentityForEveryKind) {
  MetaData m = everything();
  std::string saved = save_schema_yaml(m);
  MetaData back = load(saved);
  EXPECT_EQ(back, m) << saved;
  // And saving again writes the same text: the order is the model's canonical one.
  EXPECT_EQ(save_schema_yaml(back), saved);
}

TEST(SchemaYamlSave, SaveThenLoadIsIdentityForTheExample) {
  MetaData m = load_schema_file(example_path());
  std::string saved = save_schema_yaml(m);
  EXPECT_EQ(load(saved), m) << saved;
}

TEST(SchemaYamlSave, WritesShortFormsSortedTablesAndOmitsDefaultNames) {
  MetaData m;
  TableBuilder(m, "zebra").column("id", "text", {.nullable = false}).primary_key({"id"});
  TableBuilder(m, "apple")
      .column("id", "bigint", {.nullable = false})
      .column("zebra_id", "text")
      .column("note", "text")
      .primary_key({"id"})
      .foreign_key({"zebra_id"}, "zebra", {"id"}, FkAction::cascade)
      .unique({"note"})
      .index("", {"note"});
  validate(m);
  EXPECT_EQ(save_schema_yaml(m),
            "tables:\n"
            "  apple:\n"
            "    columns:\n"
            "      id: {type: bigint, nullable: false}\n"
            "      zebra_id: text\n"
            "      note: text\n"
            "    primary_key: [id]\n"
            "    foreign_keys:\n"
            "      - {columns: [zebra_id], references: {table: zebra, columns: [id]}, on_delete: "
            "cascade}\n"
            "    unique:\n"
            "      - [note]\n"
            "    indexes:\n"
            "      - {columns: [note]}\n"
            "\n"
            "  zebra:\n"
            "    columns:\n"
            "      id: {type: text, nullable: false}\n"
            "    primary_key: [id]\n");
}

TEST(SchemaYamlSave, WritesNotesAsComments) {
  MetaData m;
  TableBuilder(m, "t").column("a", "text");
  m.notes.push_back("view v_recent: not modelled");
  std::string saved = save_schema_yaml(m);
  EXPECT_THAT(saved, StartsWith("# note: view v_recent: not modelled\ntables:\n"));
  EXPECT_EQ(load(saved), m);
}

TEST(SchemaYamlSave, EmptySchemaSavesAndLoads) {
  EXPECT_EQ(save_schema_yaml(MetaData{}), "tables: {}\n");
  EXPECT_TRUE(load(save_schema_yaml(MetaData{})).tables.empty());
}

// ---- the example -----------------------------------------------------------------

TEST(SchemaExample, LoadsAndValidatesWithEveryDaemonTable) {
  MetaData m = load_schema_file(example_path());
  for (const char* name :
       {"sessions", "hook_outbox", "notification_outbox", "memory_observations",
        "memory_summaries", "agent_availability", "voice_assignments",
        "pending_message_deletions", "session_listeners", "webhook_contracts", "webhook_outbox",
        "system_settings"})
    EXPECT_TRUE(m.table(name)) << name;
  EXPECT_EQ(m.tables.size(), 12u);
  const Table& voice = *m.table("voice_assignments");
  EXPECT_EQ(voice.primary_key->columns, std::vector<std::string>{"session_id"});
  EXPECT_FALSE(voice.column("voice")->nullable);
  EXPECT_EQ(voice.column("updated_at")->server_default, now());
  const Table& outbox = *m.table("hook_outbox");
  EXPECT_TRUE(outbox.column("id")->autoincrement);
  EXPECT_EQ(outbox.foreign_keys[0].on_delete, FkAction::cascade);
  bool partial = false;
  for (const auto& ix : outbox.indexes) partial = partial || !ix.where.empty();
  EXPECT_TRUE(partial);
  MetaData again = m;
  EXPECT_NO_THROW(validate(again));
  EXPECT_EQ(again, m);  // validating a validated model changes nothing
}

}  // namespace
