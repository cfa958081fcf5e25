// The schema model: type names, the builder, and validate()'s rules and names.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "keel/error.hpp"
#include "keel/schema.hpp"

using namespace keel;
using namespace keel::schema;
using ::testing::HasSubstr;

namespace {

// validate()'s ConfigError message, or "" (with a test failure) when it accepts.
std::string invalid(MetaData meta) {
  try {
    validate(meta);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "validate accepted the model";
  return {};
}

// A nullable column of `type` (as parse_type reads it).
Column col(std::string name, std::string_view type, std::optional<Default> value = {}) {
  Column c;
  c.name = std::move(name);
  c.type = *parse_type(type);
  c.server_default = std::move(value);
  return c;
}

// Two tables: sessions(id text PK, n integer), events(id bigint PK autoincrement,
// session_id text) — a base each test breaks in one place.
MetaData base() {
  MetaData m;
  TableBuilder(m, "sessions")
      .column("id", "text", {.nullable = false})
      .column("n", "integer")
      .primary_key({"id"});
  TableBuilder(m, "events")
      .column("id", "bigint", {.nullable = false, .autoincrement = true})
      .column("session_id", "text")
      .primary_key({"id"});
  return m;
}

TEST(SchemaTypes, EveryTypePrintsAndParsesBack) {
  std::vector<ColumnType> types;
  for (TypeKind k : {TypeKind::integer, TypeKind::bigint, TypeKind::smallint, TypeKind::boolean,
                     TypeKind::real, TypeKind::numeric, TypeKind::text, TypeKind::blob,
                     TypeKind::date, TypeKind::timestamp, TypeKind::json, TypeKind::uuid})
    types.push_back(ColumnType{k, 0, 0, 0});
  types.push_back(ColumnType{TypeKind::string, 40, 0, 0});
  types.push_back(ColumnType{TypeKind::numeric, 0, 10, 2});
  types.push_back(ColumnType{TypeKind::numeric, 0, 1000, 0});
  for (const auto& t : types) {
    auto parsed = parse_type(to_string(t));
    ASSERT_TRUE(parsed) << to_string(t);
    EXPECT_EQ(*parsed, t) << to_string(t);
  }
}

TEST(SchemaTypes, PrintsTheDocumentedNames) {
  EXPECT_EQ(to_string(ColumnType{TypeKind::bigint}), "bigint");
  EXPECT_EQ(to_string(ColumnType{TypeKind::string, 40}), "string(40)");
  EXPECT_EQ(to_string(ColumnType{TypeKind::numeric, 0, 10, 2}), "numeric(10,2)");
  EXPECT_EQ(to_string(ColumnType{TypeKind::numeric}), "numeric");
  EXPECT_EQ(to_string(ColumnType{TypeKind::timestamp}), "timestamp");
}

TEST(SchemaTypes, ParseAcceptsCaseSpacesAndNumericWithoutScale) {
  EXPECT_EQ(parse_type(" BigInt "), (ColumnType{TypeKind::bigint}));
  EXPECT_EQ(parse_type("numeric( 10 , 2 )"), (ColumnType{TypeKind::numeric, 0, 10, 2}));
  EXPECT_EQ(parse_type("numeric(7)"), (ColumnType{TypeKind::numeric, 0, 7, 0}));
  EXPECT_EQ(parse_type("STRING(8)"), (ColumnType{TypeKind::string, 8}));
}

TEST(SchemaTypes, ParseRejectsWhatToStringNeverWrites) {
  for (const char* bad : {"", "strng", "string", "string()", "string(x)", "string(-1)",
                          "integer(4)", "numeric(", "numeric()", "numeric(1,2,3)", "text)",
                          "varchar(10)", "timestamptz", "int"})
    EXPECT_FALSE(parse_type(bad)) << bad;
}

TEST(SchemaModel, FkActionsRenderAsSql) {
  EXPECT_STREQ(to_sql(FkAction::no_action), "NO ACTION");
  EXPECT_STREQ(to_sql(FkAction::restrict), "RESTRICT");
  EXPECT_STREQ(to_sql(FkAction::cascade), "CASCADE");
  EXPECT_STREQ(to_sql(FkAction::set_null), "SET NULL");
  EXPECT_STREQ(to_sql(FkAction::set_default), "SET DEFAULT");
}

TEST(SchemaModel, DefaultHelpersMakeEachKind) {
  EXPECT_EQ(now().kind, Default::Kind::current_timestamp);
  Default lit = literal(Value(5));
  EXPECT_EQ(lit.kind, Default::Kind::literal);
  EXPECT_EQ(lit.literal, Value(5));
  Default ex = expression("lower('X')");
  EXPECT_EQ(ex.kind, Default::Kind::expression);
  EXPECT_EQ(ex.expression, "lower('X')");
}

TEST(SchemaBuilder, BuildsEveryPartOfATable) {
  MetaData m;
  TableBuilder(m, "sessions")
      .column("id", "text", {.nullable = false})
      .column("created_at", "timestamp", {.nullable = false, .server_default = now()})
      .primary_key({"id"});
  Table& t = TableBuilder(m, "outbox")
                 .column("id", "bigint", {.nullable = false, .autoincrement = true})
                 .column("session_id", "text", {.nullable = false})
                 .column("tries", "integer", {.server_default = literal(0)})
                 .column("amount", "numeric(10,2)")
                 .primary_key({"id"})
                 .foreign_key({"session_id"}, "sessions", {"id"}, FkAction::cascade)
                 .unique({"session_id", "amount"})
                 .check("tries_positive", "tries >= 0")
                 .index("ix_due", {"tries"}, false, "tries < 5")
                 .table();
  ASSERT_EQ(m.tables.size(), 2u);
  EXPECT_EQ(&t, &m.tables[1]);
  EXPECT_EQ(t.name, "outbox");
  ASSERT_EQ(t.columns.size(), 4u);
  EXPECT_TRUE(t.column("id")->autoincrement);
  EXPECT_FALSE(t.column("session_id")->nullable);
  EXPECT_EQ(t.column("amount")->type, (ColumnType{TypeKind::numeric, 0, 10, 2}));
  EXPECT_EQ(t.column("tries")->server_default, literal(0));
  EXPECT_EQ(t.primary_key->columns, std::vector<std::string>{"id"});
  ASSERT_EQ(t.foreign_keys.size(), 1u);
  EXPECT_EQ(t.foreign_keys[0].ref_table, "sessions");
  EXPECT_EQ(t.foreign_keys[0].on_delete, FkAction::cascade);
  EXPECT_EQ(t.foreign_keys[0].on_update, FkAction::no_action);
  EXPECT_EQ(t.uniques[0].columns, (std::vector<std::string>{"session_id", "amount"}));
  EXPECT_EQ(t.checks[0], (CheckConstraint{"tries_positive", "tries >= 0"}));
  EXPECT_EQ(t.indexes[0], (Index{"ix_due", {"tries"}, false, "tries < 5"}));
  EXPECT_NO_THROW(validate(m));
}

TEST(SchemaBuilder, UnknownTypeIsAUsageErrorNamingTableAndColumn) {
  MetaData m;
  TableBuilder b(m, "sessions");
  try {
    b.column("id", "strng");
    FAIL() << "accepted";
  } catch (const UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("table 'sessions': column 'id': unknown type 'strng'"));
  }
}

// ---- validate: names it fills in -------------------------------------------------

TEST(SchemaValidate, FillsDefaultNamesForKeysConstraintsAndIndexes) {
  MetaData m = base();
  m.table("events")->foreign_keys.push_back({"", {"session_id"}, "sessions", {"id"}});
  m.table("events")->uniques.push_back({"", {"session_id", "id"}});
  m.table("events")->indexes.push_back({"", {"session_id"}, false, ""});
  validate(m);
  const Table& t = *m.table("events");
  EXPECT_EQ(t.primary_key->name, "events_pkey");
  EXPECT_EQ(t.foreign_keys[0].name, "events_session_id_fkey");
  EXPECT_EQ(t.uniques[0].name, "events_session_id_id_key");
  EXPECT_EQ(t.indexes[0].name, "ix_events_session_id");
}

TEST(SchemaValidate, ShortensLongDefaultNamesTo63BytesWithAHash) {
  std::string table(40, 't');
  std::string column(30, 'c');
  MetaData m;
  TableBuilder(m, table).column(column, "integer").index("", {column});
  validate(m);
  std::string full = "ix_" + table + "_" + column;  // 74 bytes
  const std::string& name = m.tables[0].indexes[0].name;
  EXPECT_EQ(name.size(), 63u);
  EXPECT_EQ(name.substr(0, 54), full.substr(0, 54));
  EXPECT_EQ(name[54], '_');
  EXPECT_THAT(name.substr(55), ::testing::MatchesRegex("[0-9a-f]{8}"));
  // Deterministic: the same model gets the same name, a different one another.
  MetaData again;
  TableBuilder(again, table).column(column, "integer").index("", {column});
  validate(again);
  EXPECT_EQ(again.tables[0].indexes[0].name, name);
  MetaData other;
  TableBuilder(other, table).column(column + "x", "integer").index("", {column + "x"});
  validate(other);
  EXPECT_NE(other.tables[0].indexes[0].name, name);
}

TEST(SchemaValidate, CanonicalisesKeyNullabilityNullDefaultsAndOrder) {
  MetaData m;
  TableBuilder(m, "zeta")
      .column("id", "text")
      .column("note", "text", {.server_default = literal(Value())})
      .primary_key({"id"})
      .index("ix_b", {"note"})
      .index("ix_a", {"id", "note"});
  TableBuilder(m, "alpha").column("x", "integer");
  validate(m);
  EXPECT_EQ(m.tables[0].name, "alpha");
  const Table& z = *m.table("zeta");
  EXPECT_FALSE(z.column("id")->nullable);
  EXPECT_FALSE(z.column("note")->server_default);
  EXPECT_EQ(z.indexes[0].name, "ix_a");
  EXPECT_EQ(z.columns[0].name, "id");  // columns keep their order
}

TEST(SchemaValidate, AcceptsForeignKeysBetweenIntegerFamilyTypes) {
  MetaData m = base();
  TableBuilder(m, "refs")
      .column("event_id", "integer")
      .foreign_key({"event_id"}, "events", {"id"});
  EXPECT_NO_THROW(validate(m));
}

TEST(SchemaValidate, AcceptsForeignKeysOntoAUniqueConstraintOrFullUniqueIndex) {
  MetaData m = base();
  m.table("sessions")->uniques.push_back({"", {"n"}});
  m.table("events")->columns.push_back(col("n", "bigint"));
  m.table("events")->foreign_keys.push_back({"", {"n"}, "sessions", {"n"}});
  EXPECT_NO_THROW(validate(m));
  MetaData ix = base();
  ix.table("sessions")->indexes.push_back({"ix_n", {"n"}, true, ""});
  ix.table("events")->columns.push_back(col("n", "integer"));
  ix.table("events")->foreign_keys.push_back({"", {"n"}, "sessions", {"n"}});
  EXPECT_NO_THROW(validate(ix));
}

// ---- validate: one error class each ---------------------------------------------

TEST(SchemaValidate, RejectsAnUnknownTypeKind) {
  MetaData m = base();
  m.table("sessions")->column("n")->type.kind = static_cast<TypeKind>(99);
  EXPECT_THAT(invalid(m), HasSubstr("table 'sessions': column 'n': unknown type"));
}

TEST(SchemaValidate, RejectsATableDefinedTwice) {
  MetaData m = base();
  TableBuilder(m, "sessions").column("x", "text");
  EXPECT_THAT(invalid(m), HasSubstr("table 'sessions' is defined twice"));
}

TEST(SchemaValidate, RejectsAColumnDefinedTwice) {
  MetaData m = base();
  m.table("events")->columns.push_back(col("session_id", "integer"));
  EXPECT_THAT(invalid(m), HasSubstr("table 'events': column 'session_id' is defined twice"));
}

TEST(SchemaValidate, RejectsAConstraintNameUsedTwiceAcrossTheSchema) {
  MetaData m = base();
  m.table("sessions")->indexes.push_back({"ix_shared", {"n"}, false, ""});
  m.table("events")->indexes.push_back({"ix_shared", {"session_id"}, false, ""});
  std::string msg = invalid(m);
  EXPECT_THAT(msg, HasSubstr("index ix_shared: name 'ix_shared' is already used by table"));
  EXPECT_THAT(msg, HasSubstr("'sessions'"));
  EXPECT_THAT(msg, HasSubstr("'events'"));
}

TEST(SchemaValidate, RejectsAnIndexNamedLikeATable) {
  MetaData m = base();
  m.table("events")->indexes.push_back({"sessions", {"session_id"}, false, ""});
  EXPECT_THAT(invalid(m),
              HasSubstr("table 'events': index sessions: name 'sessions' is already a table's"));
}

TEST(SchemaValidate, RejectsACheckNamedLikeAnImpliedBooleanCheck) {
  MetaData m = base();
  m.table("events")->columns.push_back(col("done", "boolean"));
  m.table("events")->checks.push_back({"events_done_bool", "done = 1"});
  EXPECT_THAT(invalid(m), HasSubstr("check events_done_bool: name 'events_done_bool' is already "
                                    "used by table 'events': column 'done' (its implied check)"));
}

TEST(SchemaValidate, RejectsAPrimaryKeyOnAMissingColumn) {
  MetaData m = base();
  m.table("sessions")->primary_key->columns = {"idd"};
  EXPECT_THAT(invalid(m), HasSubstr("table 'sessions': primary key sessions_pkey: column 'idd' "
                                    "does not exist (did you mean 'id'?)"));
}

TEST(SchemaValidate, RejectsAUniqueConstraintOnAMissingColumn) {
  MetaData m = base();
  m.table("sessions")->uniques.push_back({"sessions_slug_key", {"slug"}});
  EXPECT_THAT(invalid(m), HasSubstr("table 'sessions': unique constraint sessions_slug_key: "
                                    "column 'slug' does not exist"));
}

TEST(SchemaValidate, RejectsAnIndexOnAMissingColumn) {
  MetaData m = base();
  m.table("events")->indexes.push_back({"ix_events_sesion", {"sesion_id"}, false, ""});
  EXPECT_THAT(invalid(m), HasSubstr("table 'events': index ix_events_sesion: column 'sesion_id' "
                                    "does not exist (did you mean 'session_id'?)"));
}

TEST(SchemaValidate, RejectsAColumnListedTwiceInAnIndex) {
  MetaData m = base();
  m.table("events")->indexes.push_back({"ix_twice", {"id", "id"}, false, ""});
  EXPECT_THAT(invalid(m), HasSubstr("table 'events': index ix_twice: column 'id' is listed twice"));
}

TEST(SchemaValidate, RejectsAForeignKeyOnAMissingColumn) {
  MetaData m = base();
  m.table("events")->foreign_keys.push_back({"", {"sid"}, "sessions", {"id"}});
  EXPECT_THAT(invalid(m), HasSubstr("table 'events': foreign key events_sid_fkey: column 'sid' "
                                    "does not exist"));
}

TEST(SchemaValidate, RejectsAForeignKeyToAMissingTableSuggestingTheClosest) {
  MetaData m = base();
  m.table("events")->foreign_keys.push_back({"", {"session_id"}, "sesions", {"id"}});
  EXPECT_THAT(invalid(m), HasSubstr("table 'events': foreign key events_session_id_fkey "
                                    "references missing table 'sesions' (did you mean "
                                    "'sessions'?)"));
}

TEST(SchemaValidate, RejectsAForeignKeyToAMissingColumn) {
  MetaData m = base();
  m.table("events")->foreign_keys.push_back({"", {"session_id"}, "sessions", {"ident"}});
  EXPECT_THAT(invalid(m), HasSubstr("table 'events': foreign key events_session_id_fkey "
                                    "references missing column 'sessions.ident'"));
}

TEST(SchemaValidate, RejectsAForeignKeyOntoColumnsThatAreNotAKey) {
  MetaData m = base();
  m.table("events")->columns.push_back(col("n", "integer"));
  m.table("events")->foreign_keys.push_back({"", {"n"}, "sessions", {"n"}});
  EXPECT_THAT(invalid(m), HasSubstr("table 'events': foreign key events_n_fkey: referenced "
                                    "columns sessions.(n) are not its primary key or unique"));
}

TEST(SchemaValidate, RejectsAForeignKeyOntoAPartialUniqueIndex) {
  MetaData m = base();
  m.table("sessions")->indexes.push_back({"ix_n", {"n"}, true, "n > 0"});
  m.table("events")->columns.push_back(col("n", "integer"));
  m.table("events")->foreign_keys.push_back({"", {"n"}, "sessions", {"n"}});
  EXPECT_THAT(invalid(m), HasSubstr("are not its primary key or unique"));
}

TEST(SchemaValidate, RejectsAForeignKeyWhoseColumnCountsDiffer) {
  MetaData m = base();
  m.table("events")->foreign_keys.push_back({"", {"session_id", "id"}, "sessions", {"id"}});
  EXPECT_THAT(invalid(m), HasSubstr("table 'events': foreign key events_session_id_id_fkey: 2 "
                                    "column(s) (session_id, id) reference 1 column(s)"));
}

TEST(SchemaValidate, RejectsAForeignKeyBetweenIncompatibleTypes) {
  MetaData m = base();
  m.table("events")->columns.push_back(col("sid", "integer"));
  m.table("events")->foreign_keys.push_back({"", {"sid"}, "sessions", {"id"}});
  EXPECT_THAT(invalid(m), HasSubstr("table 'events': foreign key events_sid_fkey: column 'sid' "
                                    "is integer but references sessions.id of type text"));
}

TEST(SchemaValidate, RejectsAutoincrementOutsideASingleColumnPrimaryKey) {
  MetaData m = base();
  m.table("sessions")->column("n")->autoincrement = true;
  EXPECT_THAT(invalid(m), HasSubstr("table 'sessions': column 'n': autoincrement needs the column "
                                    "to be the table's whole primary key"));
  MetaData composite = base();
  composite.table("events")->primary_key->columns = {"id", "session_id"};
  EXPECT_THAT(invalid(composite), HasSubstr("table 'events': column 'id': autoincrement"));
}

TEST(SchemaValidate, RejectsAutoincrementOnANonIntegerColumn) {
  MetaData m = base();
  m.table("sessions")->column("id")->autoincrement = true;
  EXPECT_THAT(invalid(m), HasSubstr("table 'sessions': column 'id': autoincrement needs type "
                                    "integer or bigint, not text"));
}

TEST(SchemaValidate, RejectsCurrentTimestampOnANonTimestampColumn) {
  MetaData m = base();
  m.table("sessions")->column("n")->server_default = now();
  EXPECT_THAT(invalid(m), HasSubstr("table 'sessions': column 'n': default now (current "
                                    "timestamp) needs a timestamp column, not integer"));
}

TEST(SchemaValidate, RejectsABooleanLiteralOnANonBooleanColumn) {
  MetaData m = base();
  m.table("sessions")->column("n")->server_default = literal(true);
  EXPECT_THAT(invalid(m), HasSubstr("table 'sessions': column 'n': default true is a boolean"));
}

TEST(SchemaValidate, RejectsANumberOnABooleanColumn) {
  MetaData m = base();
  m.table("sessions")->columns.push_back(col("done", "boolean", literal(0)));
  EXPECT_THAT(invalid(m), HasSubstr("table 'sessions': column 'done': default 0 is an integer, "
                                    "which a boolean column cannot take (write true or false)"));
}

TEST(SchemaValidate, RejectsATextLiteralThatIsNotOfTheColumnsType) {
  struct Case {
    const char* type;
    const char* value;
    const char* expect;
  };
  for (const Case& c : {Case{"date", "2024-13-01", "is not a date"},
                        Case{"uuid", "not-a-uuid", "is not a uuid"},
                        Case{"json", "{oops", "is not valid JSON"},
                        Case{"numeric(5,2)", "1,5", "is not a decimal number"},
                        Case{"string(3)", "abcd", "is not at most 3 characters"},
                        Case{"integer", "5",
                             "is quoted text, which an integer column cannot take"}}) {
    MetaData m = base();
    TableBuilder(m, "t").column("c", c.type, {.server_default = literal(c.value)});
    EXPECT_THAT(invalid(m), HasSubstr(std::string("table 't': column 'c': default '") + c.value +
                                      "' " + c.expect))
        << c.type;
  }
}

TEST(SchemaValidate, RejectsAnIntegerDefaultOutOfTheColumnsRange) {
  MetaData m = base();
  TableBuilder(m, "t").column("c", "smallint", {.server_default = literal(40000)});
  EXPECT_THAT(invalid(m), HasSubstr("table 't': column 'c': default 40000 is out of range for "
                                    "smallint"));
}

TEST(SchemaValidate, RejectsAStringWithoutAPositiveLength) {
  MetaData m = base();
  m.table("sessions")->column("n")->type = ColumnType{TypeKind::string, 0};
  EXPECT_THAT(invalid(m), HasSubstr("table 'sessions': column 'n': string(n) needs 1 <= n"));
}

TEST(SchemaValidate, RejectsNumericPrecisionOrScaleOutOfRange) {
  for (ColumnType bad : {ColumnType{TypeKind::numeric, 0, 1001, 0},
                         ColumnType{TypeKind::numeric, 0, 5, 6},
                         ColumnType{TypeKind::numeric, 0, 0, 2},
                         ColumnType{TypeKind::numeric, 0, 5, -1}}) {
    MetaData m = base();
    m.table("sessions")->column("n")->type = bad;
    EXPECT_THAT(invalid(m), HasSubstr("table 'sessions': column 'n': numeric(p,s) needs 1 <= p <= "
                                      "1000 and 0 <= s <= p"));
  }
}

TEST(SchemaValidate, RejectsALengthOnATypeWithoutOne) {
  MetaData m = base();
  m.table("sessions")->column("n")->type = ColumnType{TypeKind::integer, 4};
  EXPECT_THAT(invalid(m), HasSubstr("table 'sessions': column 'n': a length applies only to "
                                    "string(n)"));
}

TEST(SchemaValidate, RejectsEmptyNulAndOverlongNames) {
  MetaData empty = base();
  empty.table("sessions")->columns.push_back(col("", "text"));
  EXPECT_THAT(invalid(empty), HasSubstr("table 'sessions': column name is empty"));

  MetaData nul = base();
  nul.table("sessions")->columns.push_back(col(std::string("a\0b", 3), "text"));
  EXPECT_THAT(invalid(nul), HasSubstr("table 'sessions': column name contains a NUL"));

  MetaData long_name = base();
  long_name.table("sessions")->indexes.push_back({std::string(64, 'i'), {"n"}, false, ""});
  EXPECT_THAT(invalid(long_name), HasSubstr("table 'sessions': index name '" +
                                            std::string(64, 'i') + "' is 64 bytes long; "
                                            "PostgreSQL allows at most 63"));
}

TEST(SchemaValidate, RejectsACheckWithoutAName) {
  MetaData m = base();
  m.table("sessions")->checks.push_back({"", "n > 0"});
  EXPECT_THAT(invalid(m), HasSubstr("table 'sessions': check (n > 0) has no name"));
}

TEST(SchemaValidate, RejectsATableWithoutColumns) {
  MetaData m = base();
  TableBuilder(m, "empty");
  EXPECT_THAT(invalid(m), HasSubstr("table 'empty' has no columns"));
}

TEST(SchemaValidate, RejectsReservedTableNames) {
  MetaData m = base();
  TableBuilder(m, "keel_version").column("v", "text");
  EXPECT_THAT(invalid(m), HasSubstr("table 'keel_version': names starting with sqlite_ or keel_ "
                                    "are reserved"));
}

TEST(SchemaValidate, RejectsTwoUniqueConstraintsOnTheSameColumns) {
  MetaData m = base();
  m.table("sessions")->uniques.push_back({"u1", {"n"}});
  m.table("sessions")->uniques.push_back({"u2", {"n"}});
  EXPECT_THAT(invalid(m), HasSubstr("table 'sessions': unique constraint u2: same columns (n) as "
                                    "unique constraint u1"));
}

TEST(SchemaValidate, RejectsABlobLiteralDefault) {
  MetaData m = base();
  TableBuilder(m, "t").column("b", "blob", {.server_default = literal(Blob{1, 2})});
  EXPECT_THAT(invalid(m), HasSubstr("table 't': column 'b': a blob literal cannot be a default"));
}

TEST(SchemaValidate, WritesTypedLiteralValuesAsText) {
  MetaData m;
  TableBuilder(m, "t")
      .column("j", "json", {.server_default = literal(Json{"{}"})})
      .column("d", "numeric(5,2)", {.server_default = literal(Decimal{"1.50"})})
      .column("day", "date", {.server_default = literal(Date{std::chrono::year{2024} / 2 / 29})});
  validate(m);
  EXPECT_EQ(m.tables[0].column("j")->server_default->literal, Value("{}"));
  EXPECT_EQ(m.tables[0].column("d")->server_default->literal, Value("1.50"));
  EXPECT_EQ(m.tables[0].column("day")->server_default->literal, Value("2024-02-29"));
}

}  // namespace
