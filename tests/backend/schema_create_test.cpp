// The DDL keel renders runs on the real backend, and the tables it makes behave
// alike on both: constraints reject the same rows, defaults fill the same values.
#include <gmock/gmock.h>

#include <chrono>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "keel/connection.hpp"
#include "keel/schema.hpp"
#include "support/backend_test.hpp"

namespace keel {
namespace {

using schema::Column;
using schema::ColumnType;
using schema::Default;
using schema::FkAction;
using schema::MetaData;
using schema::Table;
using schema::TypeKind;
using ::testing::HasSubstr;

Column col(std::string name, ColumnType type, bool nullable = true,
           std::optional<Default> server_default = std::nullopt, bool autoincrement = false) {
  Column c;
  c.name = std::move(name);
  c.type = type;
  c.nullable = nullable;
  c.server_default = std::move(server_default);
  c.autoincrement = autoincrement;
  return c;
}
ColumnType type(TypeKind k, int length = 0, int precision = 0, int scale = 0) {
  return {k, length, precision, scale};
}
Default lit(Value v) { return {Default::Kind::literal, std::move(v), {}}; }
Default now_default() { return {Default::Kind::current_timestamp, {}, {}}; }
Default expr(std::string sql) { return {Default::Kind::expression, {}, std::move(sql)}; }

// Every type, default kind and constraint kind, with every name filled in as
// schema::validate would, so this test depends on the renderer alone. Listed
// dependents first, so the renderer's ordering is exercised too.
MetaData everything() {
  MetaData m;

  Table tasks;
  tasks.name = "tasks";
  tasks.columns = {
      col("id", type(TypeKind::integer), false, {}, true),
      col("account_id", type(TypeKind::bigint), false),
      col("status", type(TypeKind::text), false, lit("pending")),
      col("priority", type(TypeKind::smallint), false, lit(0)),
      col("ratio", type(TypeKind::real), true, lit(1.5)),
      col("payload", type(TypeKind::blob)),
      col("due", type(TypeKind::date), true, lit("2030-01-01")),
      col("uid", type(TypeKind::uuid)),
      col("label", type(TypeKind::text), true, expr("lower('TODO')")),
  };
  tasks.primary_key = schema::PrimaryKey{"tasks_pkey", {"id"}};
  tasks.foreign_keys.push_back({"tasks_account_id_fkey", {"account_id"}, "accounts", {"id"},
                                FkAction::cascade, FkAction::no_action});
  tasks.checks.push_back({"tasks_priority_range", "priority BETWEEN 0 AND 9"});
  tasks.indexes.push_back({"ix_tasks_status", {"status"}, false, ""});
  tasks.indexes.push_back(
      {"ix_tasks_one_pending", {"account_id"}, true, "status = 'pending'"});

  Table memberships;
  memberships.name = "memberships";
  memberships.columns = {col("account_id", type(TypeKind::bigint), false),
                         col("code", type(TypeKind::integer), false),
                         col("since", type(TypeKind::timestamp))};
  memberships.primary_key = schema::PrimaryKey{"memberships_pkey", {"account_id", "code"}};
  memberships.foreign_keys.push_back({"memberships_account_id_fkey", {"account_id"}, "accounts",
                                      {"id"}, FkAction::cascade, FkAction::cascade});
  memberships.foreign_keys.push_back({"memberships_code_fkey", {"code"}, "codes", {"code"},
                                      FkAction::restrict, FkAction::no_action});

  Table accounts;
  accounts.name = "accounts";
  accounts.columns = {
      col("id", type(TypeKind::bigint), false, {}, true),
      col("email", type(TypeKind::string, 100), false),
      col("active", type(TypeKind::boolean), false, lit(true)),
      col("balance", type(TypeKind::numeric, 0, 10, 2), false, lit("0.00")),
      col("amount", type(TypeKind::numeric)),
      col("settings", type(TypeKind::json), true, lit("{}")),
      col("created_at", type(TypeKind::timestamp), false, now_default()),
  };
  accounts.primary_key = schema::PrimaryKey{"accounts_pkey", {"id"}};
  accounts.uniques.push_back({"accounts_email_key", {"email"}});

  Table codes;
  codes.name = "codes";
  codes.columns = {col("code", type(TypeKind::integer), false),
                   col("label", type(TypeKind::string, 20))};
  codes.primary_key = schema::PrimaryKey{"codes_pkey", {"code"}};

  // A two-table cycle: an author's favourite book, a book's author.
  Table authors;
  authors.name = "authors";
  authors.columns = {col("id", type(TypeKind::text), false),
                     col("favourite", type(TypeKind::text))};
  authors.primary_key = schema::PrimaryKey{"authors_pkey", {"id"}};
  authors.foreign_keys.push_back({"authors_favourite_fkey", {"favourite"}, "books", {"id"},
                                  FkAction::set_null, FkAction::no_action});
  Table books;
  books.name = "books";
  books.columns = {col("id", type(TypeKind::text), false), col("author", type(TypeKind::text))};
  books.primary_key = schema::PrimaryKey{"books_pkey", {"id"}};
  books.foreign_keys.push_back({"books_author_fkey", {"author"}, "authors", {"id"},
                                FkAction::no_action, FkAction::no_action});

  m.tables = {tasks, memberships, accounts, codes, authors, books};
  return m;
}

class SchemaCreateTest : public testing::BackendTest {
 protected:
  std::unique_ptr<Connection> created() {
    auto c = connect();
    schema::create_all(*c, everything());
    return c;
  }

  // The DatabaseError that running `sql` raises (a test failure when none).
  DatabaseError raised(Connection& c, std::string_view sql, const Params& params = {}) {
    try {
      c.execute(sql, params);
    } catch (const DatabaseError& e) {
      return e;
    }
    ADD_FAILURE() << "no error from " << sql;
    return DatabaseError(ErrorKind::other, "none");
  }

  std::int64_t count(Connection& c, std::string_view table) {
    return c.query_one(fmt::format("SELECT count(*) AS n FROM \"{}\"", table))
        ->get<std::int64_t>("n");
  }

  std::int64_t add_account(Connection& c, std::string_view email) {
    c.execute("INSERT INTO accounts (email) VALUES (?)", {email});
    return c.last_insert_id();
  }
};

TEST_P(SchemaCreateTest, EveryTypeAndConstraintKindCreates) {
  auto c = created();
  for (const auto& t : everything().tables) EXPECT_EQ(count(*c, t.name), 0) << t.name;
}

TEST_P(SchemaCreateTest, BooleanAcceptsTrueAndFalseOnlyAndDefaultsToTrue) {
  auto c = created();
  c->execute("INSERT INTO accounts (email, active) VALUES (?, ?)", {"off@x", false});
  add_account(*c, "on@x");
  auto rows = c->query("SELECT active FROM accounts ORDER BY id").all();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_FALSE(rows[0].get<bool>("active"));
  EXPECT_TRUE(rows[1].get<bool>("active"));
  auto e = raised(*c, "INSERT INTO accounts (email, active) VALUES (?, ?)", {"two@x", 2});
  if (is_sqlite()) {
    // The implied CHECK stands in for the type SQLite lacks.
    EXPECT_EQ(e.kind(), ErrorKind::check_violation);
    EXPECT_THAT(e.what(), HasSubstr("accounts_active_bool"));
  } else {
    EXPECT_EQ(e.sqlstate(), "22P02");  // 2 is not a boolean
  }
  EXPECT_EQ(count(*c, "accounts"), 2);
}

TEST_P(SchemaCreateTest, JsonRejectsInvalidDocuments) {
  auto c = created();
  c->execute("INSERT INTO accounts (email, settings) VALUES (?, ?)",
             {"a@x", Json{R"({"theme": "dark"})"}});
  auto e = raised(*c, "INSERT INTO accounts (email, settings) VALUES (?, ?)",
                  {"b@x", "{not json"});
  if (is_sqlite()) {
    EXPECT_EQ(e.kind(), ErrorKind::check_violation);
    EXPECT_THAT(e.what(), HasSubstr("accounts_settings_json"));
  } else {
    EXPECT_EQ(e.sqlstate(), "22P02");  // jsonb's own parser
  }
  auto row = c->query_one("SELECT settings FROM accounts");
  EXPECT_THAT(row->get<Json>("settings").text, HasSubstr("dark"));
  EXPECT_EQ(count(*c, "accounts"), 1);
}

TEST_P(SchemaCreateTest, ForeignKeyWithOnDeleteCascadeCascades) {
  auto c = created();
  std::int64_t ann = add_account(*c, "ann@x");
  std::int64_t bob = add_account(*c, "bob@x");
  c->execute("INSERT INTO codes (code, label) VALUES (7, 'seven')");
  for (auto id : {ann, ann, bob})
    c->execute("INSERT INTO tasks (account_id, status) VALUES (?, 'done')", {id});
  c->execute("INSERT INTO memberships (account_id, code) VALUES (?, 7)", {ann});
  c->execute("DELETE FROM accounts WHERE id = ?", {ann});
  EXPECT_EQ(count(*c, "tasks"), 1);
  EXPECT_EQ(count(*c, "memberships"), 0);
  auto missing = raised(*c, "INSERT INTO tasks (account_id) VALUES (?)", {999});
  EXPECT_EQ(missing.kind(), ErrorKind::foreign_key_violation);
  // ON DELETE RESTRICT keeps a referenced code.
  c->execute("INSERT INTO memberships (account_id, code) VALUES (?, 7)", {bob});
  EXPECT_EQ(raised(*c, "DELETE FROM codes").kind(), ErrorKind::foreign_key_violation);
  EXPECT_EQ(count(*c, "codes"), 1);
}

TEST_P(SchemaCreateTest, UniqueConstraintAndNamedCheckRejectViolations) {
  auto c = created();
  std::int64_t ann = add_account(*c, "ann@x");
  auto dup = raised(*c, "INSERT INTO accounts (email) VALUES (?)", {"ann@x"});
  EXPECT_EQ(dup.kind(), ErrorKind::unique_violation);
  auto check = raised(*c, "INSERT INTO tasks (account_id, priority) VALUES (?, 10)", {ann});
  EXPECT_EQ(check.kind(), ErrorKind::check_violation);
  EXPECT_THAT(check.what(), HasSubstr("tasks_priority_range"));
  EXPECT_EQ(count(*c, "accounts"), 1);
  EXPECT_EQ(count(*c, "tasks"), 0);
}

TEST_P(SchemaCreateTest, PartialUniqueIndexAllowsDuplicatesOutsideItsWhere) {
  auto c = created();
  std::int64_t ann = add_account(*c, "ann@x");
  c->execute("INSERT INTO tasks (account_id, status) VALUES (?, 'done')", {ann});
  c->execute("INSERT INTO tasks (account_id, status) VALUES (?, 'done')", {ann});
  c->execute("INSERT INTO tasks (account_id) VALUES (?)", {ann});  // 'pending' by default
  auto e = raised(*c, "INSERT INTO tasks (account_id, status) VALUES (?, 'pending')", {ann});
  EXPECT_EQ(e.kind(), ErrorKind::unique_violation);
  EXPECT_EQ(count(*c, "tasks"), 3);
}

TEST_P(SchemaCreateTest, AutoincrementAssignsOneTwoThree) {
  auto c = created();
  // bigint key: last_insert_id.
  EXPECT_EQ(add_account(*c, "a@x"), 1);
  EXPECT_EQ(add_account(*c, "b@x"), 2);
  EXPECT_EQ(add_account(*c, "c@x"), 3);
  // integer key: RETURNING.
  for (std::int64_t expected : {1, 2, 3}) {
    auto row = c->query_one("INSERT INTO tasks (account_id, status) VALUES (1, 'done') "
                            "RETURNING id");
    ASSERT_TRUE(row.has_value());
    EXPECT_EQ(row->get<std::int64_t>("id"), expected);
  }
}

TEST_P(SchemaCreateTest, LiteralAndExpressionDefaultsFillTheirValues) {
  auto c = created();
  std::int64_t ann = add_account(*c, "ann@x");
  c->execute("INSERT INTO tasks (account_id, status) VALUES (?, 'done')", {ann});
  auto row = c->query_one("SELECT status, priority, ratio, due, label FROM tasks");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->get<std::string>("status"), "done");
  EXPECT_EQ(row->get<std::int64_t>("priority"), 0);
  EXPECT_DOUBLE_EQ(row->get<double>("ratio"), 1.5);
  EXPECT_EQ(row->get<Date>("due"), Date{std::chrono::year{2030} / 1 / 1});
  EXPECT_EQ(row->get<std::string>("label"), "todo");
  auto account = c->query_one("SELECT balance, settings FROM accounts");
  EXPECT_EQ(account->get<Decimal>("balance").text, "0.00");
  EXPECT_EQ(account->get<Json>("settings").text, "{}");
}

TEST_P(SchemaCreateTest, CurrentTimestampDefaultIsReadableAndNow) {
  auto c = created();
  add_account(*c, "ann@x");
  auto row = c->query_one("SELECT created_at FROM accounts");
  ASSERT_TRUE(row.has_value());
  Timestamp at = row->get<Timestamp>("created_at");
  auto now = std::chrono::time_point_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now());
  EXPECT_LT(std::chrono::abs(now - at), std::chrono::minutes(1))
      << row->values()[0].to_display();
}

TEST_P(SchemaCreateTest, NumericKeepsTheDecimalTextExactly) {
  auto c = created();
  c->execute("INSERT INTO accounts (email, balance) VALUES (?, ?)", {"ann@x", Decimal{"1.50"}});
  c->execute("INSERT INTO accounts (email, balance, amount) VALUES (?, ?, ?)",
             {"bob@x", "12345678.99", Decimal{"0.10000000000000000001"}});
  auto rows = c->query("SELECT balance, amount FROM accounts ORDER BY id").all();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].get<Decimal>("balance").text, "1.50");
  EXPECT_EQ(rows[1].get<Decimal>("balance").text, "12345678.99");
  EXPECT_EQ(rows[1].get<Decimal>("amount").text, "0.10000000000000000001");
}

TEST_P(SchemaCreateTest, TwoTableForeignKeyCycleIsCreatedAndEnforced) {
  auto c = created();
  c->execute("INSERT INTO authors (id) VALUES ('ann')");
  c->execute("INSERT INTO books (id, author) VALUES ('b1', 'ann')");
  c->execute("UPDATE authors SET favourite = 'b1' WHERE id = 'ann'");
  EXPECT_EQ(raised(*c, "UPDATE authors SET favourite = 'nope'").kind(),
            ErrorKind::foreign_key_violation);
  EXPECT_EQ(raised(*c, "INSERT INTO books (id, author) VALUES ('b2', 'nobody')").kind(),
            ErrorKind::foreign_key_violation);
  c->execute("DELETE FROM books");  // ON DELETE SET NULL on the cycle-closing FK
  EXPECT_FALSE(c->query_one("SELECT favourite FROM authors")
                   ->get<std::optional<std::string>>("favourite")
                   .has_value());
}

TEST_P(SchemaCreateTest, DropDdlDropsEveryTable) {
  auto c = created();
  c->execute("INSERT INTO authors (id) VALUES ('ann')");
  c->execute("INSERT INTO books (id, author) VALUES ('b1', 'ann')");
  c->execute("UPDATE authors SET favourite = 'b1'");
  add_account(*c, "ann@x");
  c->transaction([&] {
    for (const auto& sql : schema::drop_ddl(everything(), backend())) c->execute(sql);
  });
  for (const auto& t : everything().tables)
    EXPECT_EQ(raised(*c, fmt::format("SELECT 1 FROM \"{}\"", t.name)).kind(),
              ErrorKind::undefined_object)
        << t.name;
  // And the same schema creates again in the emptied namespace.
  schema::create_all(*c, everything());
  EXPECT_EQ(count(*c, "accounts"), 0);
}

TEST_P(SchemaCreateTest, DropDdlDropsACycleWhoseTableCascadesToItself) {
  // On SQLite a cascade compiled while the table it reaches lacks a referenced
  // table fails with "no such table": the drop order must avoid that.
  MetaData m;
  for (const char* name : {"t0", "t1"}) {
    Table t;
    t.name = name;
    t.columns = {col("id", type(TypeKind::text), false), col("ref", type(TypeKind::text))};
    t.primary_key = schema::PrimaryKey{t.name + "_pkey", {"id"}};
    m.tables.push_back(t);
  }
  m.tables[0].columns.push_back(col("parent", type(TypeKind::text)));
  m.tables[0].foreign_keys.push_back(
      {"t0_parent_fkey", {"parent"}, "t0", {"id"}, FkAction::cascade, FkAction::no_action});
  m.tables[0].foreign_keys.push_back(
      {"t0_ref_fkey", {"ref"}, "t1", {"id"}, FkAction::no_action, FkAction::set_default});
  m.tables[1].foreign_keys.push_back(
      {"t1_ref_fkey", {"ref"}, "t0", {"id"}, FkAction::cascade, FkAction::no_action});
  auto c = connect();
  schema::create_all(*c, m);
  c->execute("INSERT INTO t0 (id) VALUES ('root')");
  c->execute("INSERT INTO t0 (id, parent) VALUES ('leaf', 'root')");
  c->execute("DELETE FROM t0 WHERE id = 'root'");
  EXPECT_EQ(count(*c, "t0"), 0);  // the self cascade works
  c->transaction([&] {
    for (const auto& sql : schema::drop_ddl(m, backend())) c->execute(sql);
  });
  EXPECT_EQ(raised(*c, "SELECT 1 FROM t0").kind(), ErrorKind::undefined_object);
  EXPECT_EQ(raised(*c, "SELECT 1 FROM t1").kind(), ErrorKind::undefined_object);
}

TEST_P(SchemaCreateTest, FailingStatementLeavesNothingCreatedAndIsNamed) {
  MetaData m;
  Table good;
  good.name = "good";
  good.columns = {col("id", type(TypeKind::text))};
  Table bad;
  bad.name = "bad";
  bad.columns = {col("x", type(TypeKind::integer), true, expr("1 +"))};
  m.tables = {good, bad};
  auto c = connect();
  try {
    schema::create_all(*c, m);
    ADD_FAILURE() << "create_all accepted a broken default";
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::syntax);
    EXPECT_THAT(e.what(), HasSubstr("CREATE TABLE \"bad\""));
  }
  EXPECT_EQ(c->transaction_depth(), 0);
  EXPECT_EQ(raised(*c, "SELECT 1 FROM good").kind(), ErrorKind::undefined_object);
}

TEST_P(SchemaCreateTest, ExampleSchemaCreates) {
  MetaData m = schema::load_schema_file(KEEL_SOURCE_DIR "/examples/sessions/schema.yaml");
  ASSERT_GE(m.tables.size(), 12u);
  auto c = connect();
  schema::create_all(*c, m);
  for (const auto& t : m.tables) EXPECT_EQ(count(*c, t.name), 0) << t.name;
}

KEEL_BACKEND_TEST_SUITE(SchemaCreateTest);

}  // namespace
}  // namespace keel
