// Schema operations run on a live database, as the migration engine will run them:
// the prologue, BEGIN, each operation's statements, the foreign-key check, COMMIT,
// the epilogue. Each test then reflects the database, expects it to diff to nothing
// against the model after the operations, and checks every row of the table and of
// its ON DELETE CASCADE child value by value — the SQLite rebuild must not lose any.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "keel/connection.hpp"
#include "keel/dialect/alter.hpp"
#include "keel/error.hpp"
#include "keel/schema.hpp"
#include "support/backend_test.hpp"

namespace keel {
namespace {

using schema::MetaData;
using Lines = std::vector<std::string>;

class AlterBackendTest : public testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    conn_ = connect();
    base_ = base_model();
    schema::create_all(*conn_, base_);
    seed();
  }

  // parent(id autoincrement, name indexed, code unique, flag, note, rank, meta, seen,
  // title) and child(id, parent_id → parent ON DELETE CASCADE, other_id, label).
  static MetaData base_model() {
    MetaData m;
    schema::TableBuilder(m, "parent")
        .column("id", "bigint", {.nullable = false, .autoincrement = true})
        .column("name", "text", {.nullable = false})
        .column("code", "text")
        .column("flag", "boolean",
                {.nullable = false, .server_default = schema::literal(false)})
        .column("note", "text")
        .column("rank", "integer")
        .column("meta", "text")
        .column("seen", "text")
        .column("title", "text")
        .primary_key({"id"})
        .unique({"code"})
        .check("parent_name_nonempty", "name <> ''")
        .index("ix_parent_name", {"name"});
    schema::TableBuilder(m, "child")
        .column("id", "integer", {.nullable = false})
        .column("parent_id", "bigint", {.nullable = false})
        .column("other_id", "bigint")
        .column("label", "text")
        .primary_key({"id"})
        .foreign_key({"parent_id"}, "parent", {"id"}, schema::FkAction::cascade)
        .index("ix_child_parent_id", {"parent_id"});
    schema::validate(m);
    return m;
  }

  void seed() {
    const char* insert =
        "INSERT INTO parent (id, name, code, flag, note, rank, meta, seen, title) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
    conn_->execute(insert, {1, "a", "10", true, "x", 1, "{\"a\": 1}",
                            "2024-01-02T03:04:05.123456Z", "t1"});
    conn_->execute(insert, {2, "b", "20", false, nullptr, 2, "[]", "2024-05-06 07:08:09+02:00",
                            "t2"});
    conn_->execute(insert, {3, "c", nullptr, true, "z", nullptr, nullptr, nullptr, "t3"});
    const char* child = "INSERT INTO child (id, parent_id, other_id, label) VALUES (?, ?, ?, ?)";
    conn_->execute(child, {10, 1, 2, "c1"});
    conn_->execute(child, {11, 1, nullptr, "c2"});
    conn_->execute(child, {12, 2, 3, "c3"});
    conn_->execute(child, {13, 3, nullptr, "c4"});
  }

  // Every row of `sql`'s result, one line each, values as displayed.
  Lines dump(const std::string& sql) {
    Lines out;
    for (const Row& row : conn_->query(sql)) {
      std::string line;
      for (std::size_t i = 0; i < row.size(); ++i)
        line += (i ? "|" : "") + (row[i].is_null() ? std::string("NULL") : row[i].to_display());
      out.push_back(line);
    }
    return out;
  }

  Lines children() { return dump("SELECT id, parent_id, other_id, label FROM child ORDER BY id"); }
  Lines parents(const std::string& columns = "id, name, code, flag, note, rank, title") {
    return dump("SELECT " + columns + " FROM parent ORDER BY id");
  }

  // Runs the operations turning `before` into `after` as the migration engine will, and
  // returns them; on failure rolls back and rethrows, foreign keys restored either way.
  std::vector<schema::Operation> migrate(const MetaData& before, const MetaData& after) {
    const Backend b = backend();
    std::vector<schema::Operation> ops = schema::diff(before, after, b);
    EXPECT_FALSE(ops.empty());
    for (const auto& s : dialect::migration_prologue(b)) conn_->execute(s);
    try {
      conn_->begin();
      MetaData model = before;
      for (const auto& op : ops) {
        MetaData next = model;
        schema::apply(next, op);
        dialect::AlterContext ctx{model, next, {}};
        for (const auto& s : dialect::operation_statements(op, ctx, b)) conn_->execute(s);
        model = std::move(next);
      }
      if (std::string check = dialect::foreign_key_check_sql(b); !check.empty())
        if (!conn_->query(check).all().empty())
          throw std::runtime_error("foreign_key_check found a violation");
      conn_->commit();
    } catch (...) {
      if (conn_->in_transaction()) conn_->rollback();
      for (const auto& s : dialect::migration_epilogue(b)) conn_->execute(s);
      throw;
    }
    for (const auto& s : dialect::migration_epilogue(b)) conn_->execute(s);
    return ops;
  }

  // The database reflects as `expected`, exactly.
  void expect_schema(const MetaData& expected) {
    auto ops = schema::diff(schema::reflect(*conn_), expected, backend());
    for (const auto& op : ops) ADD_FAILURE() << "differs: " << schema::describe(op);
  }

  // Runs a migration that must fail, and checks that it changed nothing.
  std::string expect_failure(const MetaData& after) {
    Lines p = parents(), c = children();
    std::string message;
    try {
      migrate(base_, after);
      ADD_FAILURE() << "the migration succeeded";
    } catch (const std::exception& e) {
      message = e.what();
    }
    expect_schema(base_);
    EXPECT_EQ(parents(), p);
    EXPECT_EQ(children(), c);
    return message;
  }

  schema::Table& parent(MetaData& m) { return *m.table("parent"); }
  schema::Table& child(MetaData& m) { return *m.table("child"); }

  std::unique_ptr<Connection> conn_;
  MetaData base_;
};

TEST_P(AlterBackendTest, AddsNullableAndDefaultedColumnsKeepingRows) {
  MetaData after = base_;
  parent(after).columns.push_back({"extra", {schema::TypeKind::text}, true, {}, false, {}, {}});
  parent(after).columns.push_back({"score", {schema::TypeKind::integer}, false,
                                   schema::literal(7), false, {}, {}});
  schema::validate(after);
  Lines p = parents(), c = children();
  migrate(base_, after);
  expect_schema(after);
  EXPECT_EQ(parents(), p);
  EXPECT_EQ(children(), c);
  EXPECT_EQ(dump("SELECT extra, score FROM parent ORDER BY id"),
            (Lines{"NULL|7", "NULL|7", "NULL|7"}));
}

TEST_P(AlterBackendTest, AddingNotNullColumnWithoutDefaultToPopulatedTableFails) {
  MetaData after = base_;
  parent(after).columns.push_back({"must", {schema::TypeKind::text}, false, {}, false, {}, {}});
  schema::validate(after);
  std::string message = expect_failure(after);
  EXPECT_NE(message.find(is_sqlite() ? "cannot add NOT NULL column \"parent\".\"must\" without"
                                     : "column \"must\" of relation \"parent\" contains null"),
            std::string::npos)
      << message;
}

TEST_P(AlterBackendTest, DropsPlainAndIndexedColumns) {
  MetaData after = base_;
  auto& t = parent(after);
  t.indexes.clear();
  t.checks.clear();
  std::erase_if(t.columns, [](const auto& c) { return c.name == "note" || c.name == "name"; });
  schema::validate(after);
  Lines p = parents("id, code, flag, rank, title"), c = children();
  migrate(base_, after);
  expect_schema(after);
  EXPECT_EQ(parents("id, code, flag, rank, title"), p);
  EXPECT_EQ(children(), c);
}

TEST_P(AlterBackendTest, ChangesTextToIntegerConvertingEachValue) {
  MetaData after = base_;
  parent(after).column("code")->type = {schema::TypeKind::integer};
  schema::validate(after);
  Lines p = parents("id, name, flag, note, rank, title"), c = children();
  migrate(base_, after);
  expect_schema(after);
  EXPECT_EQ(parents("id, name, flag, note, rank, title"), p);
  EXPECT_EQ(children(), c);
  std::vector<std::optional<std::int64_t>> codes;
  for (const Row& r : conn_->query("SELECT code FROM parent ORDER BY id"))
    codes.push_back(r.get<std::optional<std::int64_t>>("code"));
  EXPECT_EQ(codes, (std::vector<std::optional<std::int64_t>>{10, 20, std::nullopt}));
}

// PostgreSQL refuses 'abc' as an integer; SQLite would keep it as text (or CAST it to
// 0), so keel's rebuild refuses it too: a failed migration, not a changed value.
TEST_P(AlterBackendTest, ChangingTextToIntegerFailsOnNonIntegerText) {
  conn_->execute("UPDATE parent SET code = 'abc' WHERE id = 3");
  MetaData after = base_;
  parent(after).column("code")->type = {schema::TypeKind::integer};
  schema::validate(after);
  std::string message = expect_failure(after);
  EXPECT_NE(message.find(is_sqlite() ? "\"parent\".\"code\"" : "\"abc\""), std::string::npos)
      << message;
}

TEST_P(AlterBackendTest, WidensIntegerToBigint) {
  MetaData after = base_;
  parent(after).column("rank")->type = {schema::TypeKind::bigint};
  schema::validate(after);
  Lines p = parents(), c = children();
  migrate(base_, after);
  expect_schema(after);
  EXPECT_EQ(parents(), p);
  EXPECT_EQ(children(), c);
}

TEST_P(AlterBackendTest, ChangesTextToJsonAndTimestamp) {
  MetaData after = base_;
  parent(after).column("meta")->type = {schema::TypeKind::json};
  parent(after).column("seen")->type = {schema::TypeKind::timestamp};
  schema::validate(after);
  Lines p = parents(), c = children();
  migrate(base_, after);
  expect_schema(after);
  EXPECT_EQ(parents(), p);
  EXPECT_EQ(children(), c);
  EXPECT_EQ(dump("SELECT meta FROM parent ORDER BY id"), (Lines{"{\"a\": 1}", "[]", "NULL"}));
  std::vector<std::string> seen;
  for (const Row& r : conn_->query("SELECT seen FROM parent WHERE seen IS NOT NULL ORDER BY id"))
    seen.push_back(format_timestamp(r.get<Timestamp>("seen")));
  EXPECT_EQ(seen, (Lines{"2024-01-02T03:04:05.123456Z", "2024-05-06T05:08:09.000000Z"}));
}

TEST_P(AlterBackendTest, ChangingTextToJsonFailsOnInvalidJson) {
  conn_->execute("UPDATE parent SET meta = '{oops' WHERE id = 3");
  MetaData after = base_;
  parent(after).column("meta")->type = {schema::TypeKind::json};
  schema::validate(after);
  expect_failure(after);
}

TEST_P(AlterBackendTest, ConvertsBooleanToIntegerAndBack) {
  MetaData after = base_;
  parent(after).column("flag")->type = {schema::TypeKind::integer};
  parent(after).column("flag")->server_default = schema::literal(0);
  schema::validate(after);
  Lines c = children();
  migrate(base_, after);
  expect_schema(after);
  EXPECT_EQ(dump("SELECT flag FROM parent ORDER BY id"), (Lines{"1", "0", "1"}));

  migrate(after, base_);
  expect_schema(base_);
  std::vector<bool> flags;
  for (const Row& r : conn_->query("SELECT flag FROM parent ORDER BY id"))
    flags.push_back(r.get<bool>("flag"));
  EXPECT_EQ(flags, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(children(), c);
}

TEST_P(AlterBackendTest, SetsAndDropsNotNull) {
  MetaData after = base_;
  parent(after).column("title")->nullable = false;
  parent(after).column("name")->nullable = true;
  schema::validate(after);
  Lines p = parents(), c = children();
  migrate(base_, after);
  expect_schema(after);
  EXPECT_EQ(parents(), p);
  EXPECT_EQ(children(), c);
  conn_->execute("INSERT INTO parent (id, name, title) VALUES (4, NULL, 't4')");
}

TEST_P(AlterBackendTest, SettingNotNullOnAColumnHoldingNullsFailsAndKeepsRows) {
  MetaData after = base_;
  parent(after).column("note")->nullable = false;
  schema::validate(after);
  std::string message = expect_failure(after);
  EXPECT_NE(message.find(is_sqlite() ? "column \"parent\".\"note\" cannot become NOT NULL"
                                     : "column \"note\" of relation \"parent\" contains null"),
            std::string::npos)
      << message;
}

TEST_P(AlterBackendTest, ChangesDefaults) {
  MetaData after = base_;
  parent(after).column("flag")->server_default = schema::literal(true);
  parent(after).column("title")->server_default = schema::literal("untitled");
  schema::validate(after);
  Lines p = parents(), c = children();
  migrate(base_, after);
  expect_schema(after);
  EXPECT_EQ(parents(), p);
  EXPECT_EQ(children(), c);
  conn_->execute("INSERT INTO parent (id, name) VALUES (4, 'd')");
  auto row = conn_->query_one("SELECT flag, title FROM parent WHERE id = 4");
  ASSERT_TRUE(row.has_value());
  EXPECT_TRUE(row->get<bool>("flag"));
  EXPECT_EQ(row->get<std::string>("title"), "untitled");
}

TEST_P(AlterBackendTest, MakingAKeyAutoincrementKeepsIdsAndContinuesAfterThem) {
  MetaData after = base_;
  child(after).column("id")->autoincrement = true;
  schema::validate(after);
  Lines p = parents(), c = children();
  migrate(base_, after);
  expect_schema(after);
  EXPECT_EQ(parents(), p);
  EXPECT_EQ(children(), c);
  conn_->execute("INSERT INTO child (parent_id, label) VALUES (2, 'c5')");
  EXPECT_EQ(dump("SELECT id FROM child WHERE label = 'c5'"), (Lines{"14"}));

  migrate(after, base_);
  expect_schema(base_);
  EXPECT_EQ(dump("SELECT count(*) FROM child"), (Lines{"5"}));
}

TEST_P(AlterBackendTest, RenamesTableAndChildReferencesFollow) {
  MetaData after = base_;
  schema::Table& owner = parent(after);
  owner.name = "owner";
  owner.renamed_from = "parent";
  child(after).foreign_keys[0].ref_table = "owner";
  schema::validate(after);
  Lines p = parents(), c = children();
  auto ops = migrate(base_, after);
  EXPECT_EQ(ops.size(), 1u);
  expect_schema(after);
  EXPECT_EQ(dump("SELECT id, name, code, flag, note, rank, title FROM owner ORDER BY id"), p);
  EXPECT_EQ(children(), c);
  // The children's foreign key now points at the renamed table, and cascades from it.
  conn_->execute("DELETE FROM owner WHERE id = 1");
  EXPECT_EQ(dump("SELECT id FROM child ORDER BY id"), (Lines{"12", "13"}));
}

// Two migrations: the model keeps check expressions as written, so the check on
// "name" must be rewritten in the model before a later rebuild re-creates it.
TEST_P(AlterBackendTest, RenamesColumnsIncludingABooleanOne) {
  MetaData renamed = base_;
  parent(renamed).column("name")->name = "full_name";
  parent(renamed).column("full_name")->renamed_from = "name";
  parent(renamed).indexes[0].columns = {"full_name"};
  parent(renamed).checks[0].expression = "full_name <> ''";
  schema::validate(renamed);
  Lines p = parents(), c = children();
  EXPECT_EQ(migrate(base_, renamed).size(), 1u);
  expect_schema(renamed);

  MetaData after = renamed;
  parent(after).column("full_name")->renamed_from.clear();
  parent(after).column("flag")->name = "enabled";
  parent(after).column("enabled")->renamed_from = "flag";
  schema::validate(after);
  EXPECT_EQ(migrate(renamed, after).size(), 1u);
  expect_schema(after);
  EXPECT_EQ(parents("id, full_name, code, enabled, note, rank, title"), p);
  EXPECT_EQ(children(), c);
  EXPECT_THROW(conn_->execute("UPDATE parent SET enabled = 2 WHERE id = 1"), Error);
}

TEST_P(AlterBackendTest, CreatesAndDropsIndexes) {
  MetaData after = base_;
  parent(after).indexes = {{"ix_parent_code_flag", {"code", "flag"}, false, {}},
                           {"ix_parent_open", {"title"}, true, "note IS NULL"}};
  schema::validate(after);
  Lines p = parents(), c = children();
  migrate(base_, after);
  expect_schema(after);
  EXPECT_EQ(parents(), p);
  EXPECT_EQ(children(), c);
}

TEST_P(AlterBackendTest, AddsForeignKeyOverExistingRows) {
  MetaData after = base_;
  child(after).foreign_keys.push_back(
      {"", {"other_id"}, "parent", {"id"}, schema::FkAction::set_null, {}});
  schema::validate(after);
  Lines p = parents(), c = children();
  migrate(base_, after);
  expect_schema(after);
  EXPECT_EQ(parents(), p);
  EXPECT_EQ(children(), c);
  conn_->execute("DELETE FROM parent WHERE id = 3");  // child 12's other_id becomes NULL
  EXPECT_EQ(children(), (Lines{"10|1|2|c1", "11|1|NULL|c2", "12|2|NULL|c3"}));
}

TEST_P(AlterBackendTest, AddingForeignKeyThatExistingRowsViolateFails) {
  conn_->execute("UPDATE child SET other_id = 99 WHERE id = 11");
  MetaData after = base_;
  child(after).foreign_keys.push_back(
      {"", {"other_id"}, "parent", {"id"}, schema::FkAction::set_null, {}});
  schema::validate(after);
  expect_failure(after);
}

TEST_P(AlterBackendTest, DropsForeignKey) {
  MetaData after = base_;
  child(after).foreign_keys.clear();
  schema::validate(after);
  Lines p = parents(), c = children();
  migrate(base_, after);
  expect_schema(after);
  EXPECT_EQ(parents(), p);
  EXPECT_EQ(children(), c);
  conn_->execute("DELETE FROM parent WHERE id = 1");  // no longer cascades
  EXPECT_EQ(children(), c);
}

// Four rebuilds of the parent on SQLite: its children keep every row, because the
// rebuild's DROP TABLE runs with foreign keys off.
TEST_P(AlterBackendTest, AddsAndDropsUniqueAndCheckKeepingChildRows) {
  MetaData after = base_;
  parent(after).uniques = {{"", {"name"}}};
  parent(after).checks = {{"parent_rank_nonnegative", "rank >= 0"}};
  schema::validate(after);
  Lines p = parents(), c = children();
  auto ops = migrate(base_, after);
  EXPECT_EQ(ops.size(), 4u);
  expect_schema(after);
  EXPECT_EQ(parents(), p);
  EXPECT_EQ(children(), c);
  EXPECT_THROW(conn_->execute("UPDATE parent SET rank = -1 WHERE id = 1"), Error);
}

TEST_P(AlterBackendTest, ChangesPrimaryKey) {
  MetaData after = base_;
  child(after).primary_key->columns = {"parent_id", "id"};
  schema::validate(after);
  Lines p = parents(), c = children();
  migrate(base_, after);
  expect_schema(after);
  EXPECT_EQ(parents(), p);
  EXPECT_EQ(children(), c);
}

TEST_P(AlterBackendTest, CreatesAndDropsTables) {
  MetaData after = base_;
  schema::TableBuilder(after, "tag")
      .column("id", "integer", {.nullable = false, .autoincrement = true})
      .column("parent_id", "bigint")
      .primary_key({"id"})
      .foreign_key({"parent_id"}, "parent", {"id"}, schema::FkAction::cascade)
      .index("ix_tag_parent_id", {"parent_id"});
  schema::validate(after);
  migrate(base_, after);
  expect_schema(after);
  conn_->execute("INSERT INTO tag (parent_id) VALUES (1)");
  migrate(after, base_);
  expect_schema(base_);
}

// The classic rebuild bug: dropping (or rebuilding) a parent with foreign keys on
// deletes its rows first and cascades into the children. Here the children stay.
TEST_P(AlterBackendTest, DroppingParentTableNeverCascadesToChildren) {
  MetaData after = base_;
  std::erase_if(after.tables, [](const auto& t) { return t.name == "parent"; });
  child(after).foreign_keys.clear();
  schema::validate(after);
  Lines c = children();
  migrate(base_, after);
  expect_schema(after);
  EXPECT_EQ(children(), c);
}

TEST_P(AlterBackendTest, ForeignKeysAreEnforcedAgainAfterTheEpilogue) {
  MetaData after = base_;
  parent(after).column("title")->server_default = schema::literal("untitled");
  schema::validate(after);
  migrate(base_, after);
  EXPECT_THROW(conn_->execute("INSERT INTO child (id, parent_id) VALUES (20, 999)"), Error);
  conn_->execute("DELETE FROM parent WHERE id = 2");
  EXPECT_EQ(dump("SELECT id FROM child ORDER BY id"), (Lines{"10", "11", "13"}));
  // SQLite's switch is back on; PostgreSQL never turned it off (no epilogue to run).
  if (is_sqlite()) {
    EXPECT_EQ(dump("PRAGMA foreign_keys"), (Lines{"1"}));
  } else {
    EXPECT_TRUE(dialect::migration_epilogue(backend()).empty());
  }
}

KEEL_BACKEND_TEST_SUITE(AlterBackendTest);

}  // namespace
}  // namespace keel
