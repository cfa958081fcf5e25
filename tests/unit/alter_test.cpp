// Schema operations as each dialect's statements, without a database: golden strings.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "keel/dialect/alter.hpp"
#include "keel/error.hpp"
#include "keel/schema.hpp"

namespace keel {
namespace {

using dialect::AlterContext;
using dialect::operation_statements;
using schema::Column;
using schema::MetaData;
using schema::Table;
using schema::TypeKind;
using Statements = std::vector<std::string>;

constexpr Backend kSqlite = Backend::sqlite;
constexpr Backend kPg = Backend::postgresql;

// users(id autoincrement, name NOT NULL indexed, email, active boolean, age integer).
MetaData users_model() {
  MetaData m;
  schema::TableBuilder(m, "users")
      .column("id", "bigint", {.nullable = false, .autoincrement = true})
      .column("name", "text", {.nullable = false})
      .column("email", "text")
      .column("active", "boolean", {.nullable = false, .server_default = schema::literal(true)})
      .column("age", "text")
      .primary_key({"id"})
      .index("ix_users_name", {"name"});
  schema::validate(m);
  return m;
}

Table& users(MetaData& m) { return *m.table("users"); }

Statements render(const schema::Operation& op, const MetaData& before, const MetaData& after,
                  Backend b, std::vector<std::string> triggers = {}) {
  AlterContext ctx{before, after, std::move(triggers)};
  return operation_statements(op, ctx, b);
}

// The SQLite rebuild of "users" into `after` with the given copy and guard, for goldens.
const char* kUsersCreate =
    "CREATE TABLE \"_keel_new_users\" (\n"
    "  \"id\" INTEGER NOT NULL,\n"
    "  \"name\" TEXT NOT NULL,\n"
    "  \"email\" TEXT,\n"
    "  \"active\" BOOLEAN NOT NULL DEFAULT 1,\n"
    "  \"age\" INTEGER,\n"
    "  CONSTRAINT \"users_pkey\" PRIMARY KEY (\"id\"),\n"
    "  CONSTRAINT \"users_active_bool\" CHECK (\"active\" IN (0, 1))\n"
    ")";

TEST(AlterTest, ChangingTextToIntegerRebuildsOnSqliteWithAGuardedCopy) {
  MetaData before = users_model(), after = before;
  users(after).column("age")->type.kind = TypeKind::integer;
  schema::AlterColumn op{"users", *users(before).column("age"), *users(after).column("age")};
  EXPECT_EQ(render(op, before, after, kSqlite),
            (Statements{
                kUsersCreate,
                "CREATE TRIGGER \"_keel_check_users\" BEFORE INSERT ON \"_keel_new_users\" BEGIN "
                "SELECT RAISE(ABORT, 'cannot change column \"users\".\"age\" from text to "
                "integer: a row holds a value that is not a valid integer') WHERE NEW.\"age\" IS "
                "NOT NULL AND typeof(NEW.\"age\") <> 'integer'; END",
                "INSERT INTO \"_keel_new_users\" (\"id\", \"name\", \"email\", \"active\", "
                "\"age\") SELECT \"id\", \"name\", \"email\", \"active\", CASE WHEN "
                "typeof(\"age\") = 'text' THEN trim(\"age\") ELSE \"age\" END FROM \"users\"",
                "DROP TRIGGER \"_keel_check_users\"",
                "DROP TABLE \"users\"",
                "ALTER TABLE \"_keel_new_users\" RENAME TO \"users\"",
                "CREATE INDEX \"ix_users_name\" ON \"users\" (\"name\")",
            }));
  EXPECT_EQ(render(op, before, after, kPg),
            (Statements{"ALTER TABLE \"users\" ALTER COLUMN \"age\" TYPE integer USING "
                        "\"age\"::integer"}));
}

TEST(AlterTest, RebuildReCreatesTheGivenTriggersLast) {
  MetaData before = users_model(), after = before;
  users(after).column("email")->nullable = false;
  schema::AlterColumn op{"users", *users(before).column("email"), *users(after).column("email")};
  const std::string trigger =
      "CREATE TRIGGER \"users_touch\" AFTER UPDATE ON \"users\" BEGIN SELECT 1; END";
  Statements s = render(op, before, after, kSqlite, {trigger});
  ASSERT_GE(s.size(), 2u);
  EXPECT_EQ(s.back(), trigger);
  EXPECT_EQ(s[s.size() - 2], "CREATE INDEX \"ix_users_name\" ON \"users\" (\"name\")");
  EXPECT_EQ(s[1],
            "CREATE TRIGGER \"_keel_check_users\" BEFORE INSERT ON \"_keel_new_users\" BEGIN "
            "SELECT RAISE(ABORT, 'column \"users\".\"email\" cannot become NOT NULL: some rows "
            "hold NULL there; set a value in those rows first') WHERE NEW.\"email\" IS NULL; END");
  EXPECT_EQ(render(op, before, after, kPg),
            (Statements{"ALTER TABLE \"users\" ALTER COLUMN \"email\" SET NOT NULL"}));
}

TEST(AlterTest, PostgresCastsBooleanToAndFromIntegerExplicitly) {
  MetaData before = users_model(), after = before;
  Column from = *users(before).column("active");
  Column to = from;
  to.type.kind = TypeKind::integer;
  to.server_default = schema::literal(1);
  users(after).column("active")->type.kind = TypeKind::integer;
  users(after).column("active")->server_default = schema::literal(1);
  EXPECT_EQ(render(schema::AlterColumn{"users", from, to}, before, after, kPg),
            (Statements{"ALTER TABLE \"users\" ALTER COLUMN \"active\" DROP DEFAULT",
                        "ALTER TABLE \"users\" ALTER COLUMN \"active\" TYPE integer USING "
                        "\"active\"::integer",
                        "ALTER TABLE \"users\" ALTER COLUMN \"active\" SET DEFAULT 1"}));
  EXPECT_EQ(render(schema::AlterColumn{"users", to, from}, after, before, kPg),
            (Statements{"ALTER TABLE \"users\" ALTER COLUMN \"active\" DROP DEFAULT",
                        "ALTER TABLE \"users\" ALTER COLUMN \"active\" TYPE boolean USING CASE "
                        "\"active\" WHEN 0 THEN false WHEN 1 THEN true ELSE "
                        "(\"active\"::text)::boolean END",
                        "ALTER TABLE \"users\" ALTER COLUMN \"active\" SET DEFAULT true"}));
}

TEST(AlterTest, PostgresUsesAFittingCastForEachPortableTypeChange) {
  auto using_of = [](const char* from_type, const char* to_type) {
    MetaData before;
    schema::TableBuilder(before, "t").column("c", from_type);
    MetaData after;
    schema::TableBuilder(after, "t").column("c", to_type);
    Statements s = render(schema::AlterColumn{"t", before.tables[0].columns[0],
                                              after.tables[0].columns[0]},
                          before, after, kPg);
    return s.size() == 1 ? s[0] : std::string("<several>");
  };
  const std::string head = "ALTER TABLE \"t\" ALTER COLUMN \"c\" TYPE ";
  EXPECT_EQ(using_of("integer", "bigint"), head + "bigint USING \"c\"::bigint");
  EXPECT_EQ(using_of("text", "json"), head + "jsonb USING \"c\"::jsonb");
  EXPECT_EQ(using_of("integer", "json"), head + "jsonb USING to_jsonb(\"c\")");
  EXPECT_EQ(using_of("text", "timestamp"), head + "timestamptz USING \"c\"::timestamptz");
  EXPECT_EQ(using_of("text", "blob"), head + "bytea USING convert_to(\"c\", 'UTF8')");
  EXPECT_EQ(using_of("blob", "text"), head + "text USING convert_from(\"c\", 'UTF8')");
  EXPECT_EQ(using_of("string(10)", "string(20)"), head + "varchar(20) USING \"c\"::varchar(20)");
}

TEST(AlterTest, PostgresIdentityChangesKeepTheSequenceAboveExistingIds) {
  MetaData before = users_model(), after = before;
  Column with = *users(before).column("id");
  Column without = with;
  without.autoincrement = false;
  users(after).column("id")->autoincrement = false;
  EXPECT_EQ(render(schema::AlterColumn{"users", with, without}, before, after, kPg),
            (Statements{"ALTER TABLE \"users\" ALTER COLUMN \"id\" DROP IDENTITY"}));
  EXPECT_EQ(render(schema::AlterColumn{"users", without, with}, after, before, kPg),
            (Statements{"ALTER TABLE \"users\" ALTER COLUMN \"id\" ADD GENERATED BY DEFAULT AS "
                        "IDENTITY",
                        "SELECT setval(pg_get_serial_sequence('\"users\"', 'id'), "
                        "COALESCE(MAX(\"id\"), 0) + 1, false) FROM \"users\""}));
}

TEST(AlterTest, AddColumnIsNativeWhenSqliteAllowsIt) {
  MetaData before = users_model(), after = before;
  schema::Column bio{"bio", {TypeKind::text, 0, 0, 0}, true, {}, false, {}, {}};
  users(after).columns.push_back(bio);
  EXPECT_EQ(render(schema::AddColumn{"users", bio}, before, after, kSqlite),
            (Statements{"ALTER TABLE \"users\" ADD COLUMN \"bio\" TEXT"}));
  EXPECT_EQ(render(schema::AddColumn{"users", bio}, before, after, kPg),
            (Statements{"ALTER TABLE \"users\" ADD COLUMN \"bio\" text"}));

  MetaData after2 = before;
  schema::Column score{"score", {TypeKind::integer, 0, 0, 0}, false, schema::literal(0),
                       false, {}, {}};
  users(after2).columns.push_back(score);
  EXPECT_EQ(render(schema::AddColumn{"users", score}, before, after2, kSqlite),
            (Statements{"ALTER TABLE \"users\" ADD COLUMN \"score\" INTEGER NOT NULL DEFAULT 0"}));
}

TEST(AlterTest, AddingANotNullColumnWithoutDefaultRebuildsOnSqlite) {
  MetaData before = users_model(), after = before;
  schema::Column code{"code", {TypeKind::text, 0, 0, 0}, false, {}, false, {}, {}};
  users(after).columns.push_back(code);
  Statements s = render(schema::AddColumn{"users", code}, before, after, kSqlite);
  ASSERT_EQ(s.size(), 7u);
  EXPECT_EQ(s[1],
            "CREATE TRIGGER \"_keel_check_users\" BEFORE INSERT ON \"_keel_new_users\" BEGIN "
            "SELECT RAISE(ABORT, 'cannot add NOT NULL column \"users\".\"code\" without a "
            "default: the table has rows; give the column a default') WHERE NEW.\"code\" IS "
            "NULL; END");
  // The new column is not copied: it takes its default (or trips the guard).
  EXPECT_EQ(s[2],
            "INSERT INTO \"_keel_new_users\" (\"id\", \"name\", \"email\", \"active\", \"age\") "
            "SELECT \"id\", \"name\", \"email\", \"active\", \"age\" FROM \"users\"");
  EXPECT_EQ(render(schema::AddColumn{"users", code}, before, after, kPg),
            (Statements{"ALTER TABLE \"users\" ADD COLUMN \"code\" text NOT NULL"}));
}

TEST(AlterTest, AddingABooleanColumnRebuildsOnSqliteForItsNamedCheck) {
  MetaData before = users_model(), after = before;
  schema::Column admin{"admin", {TypeKind::boolean, 0, 0, 0}, true, {}, false, {}, {}};
  users(after).columns.push_back(admin);
  Statements s = render(schema::AddColumn{"users", admin}, before, after, kSqlite);
  ASSERT_FALSE(s.empty());
  EXPECT_NE(s[0].find("CONSTRAINT \"users_admin_bool\" CHECK (\"admin\" IN (0, 1))"),
            std::string::npos);
}

TEST(AlterTest, DropColumnIsNativeUnlessSomethingUsesTheColumn) {
  MetaData before = users_model(), after = before;
  auto& cols = users(after).columns;
  cols.erase(cols.begin() + 2);  // email: nothing uses it
  schema::DropColumn op{"users", *users(before).column("email")};
  EXPECT_EQ(render(op, before, after, kSqlite),
            (Statements{"ALTER TABLE \"users\" DROP COLUMN \"email\""}));
  EXPECT_EQ(render(op, before, after, kPg),
            (Statements{"ALTER TABLE \"users\" DROP COLUMN \"email\""}));

  // name is indexed: SQLite refuses to drop it, so the table is rebuilt without it.
  MetaData after2 = before;
  users(after2).indexes.clear();
  users(after2).columns.erase(users(after2).columns.begin() + 1);
  schema::DropColumn op2{"users", *users(before).column("name")};
  Statements s = render(op2, before, after2, kSqlite);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[1],
            "INSERT INTO \"_keel_new_users\" (\"id\", \"email\", \"active\", \"age\") SELECT "
            "\"id\", \"email\", \"active\", \"age\" FROM \"users\"");
  EXPECT_EQ(s[2], "DROP TABLE \"users\"");
  EXPECT_EQ(s[3], "ALTER TABLE \"_keel_new_users\" RENAME TO \"users\"");
}

TEST(AlterTest, RenamesAreNativeButRebuildNamedChecksOnSqlite) {
  MetaData before = users_model();
  MetaData after = before;
  users(after).column("email")->name = "mail";
  EXPECT_EQ(render(schema::RenameColumn{"users", "email", "mail"}, before, after, kSqlite),
            (Statements{"ALTER TABLE \"users\" RENAME COLUMN \"email\" TO \"mail\""}));
  EXPECT_EQ(render(schema::RenameColumn{"users", "email", "mail"}, before, after, kPg),
            (Statements{"ALTER TABLE \"users\" RENAME COLUMN \"email\" TO \"mail\""}));

  // A boolean column's check is named after it: renamed natively first (so other
  // tables' references follow), then rebuilt so the check carries the new name.
  MetaData after2 = before;
  users(after2).column("active")->name = "enabled";
  Statements s =
      render(schema::RenameColumn{"users", "active", "enabled"}, before, after2, kSqlite);
  ASSERT_GE(s.size(), 3u);
  EXPECT_EQ(s[0], "ALTER TABLE \"users\" RENAME COLUMN \"active\" TO \"enabled\"");
  EXPECT_NE(s[1].find("CONSTRAINT \"users_enabled_bool\""), std::string::npos);
  EXPECT_EQ(s[2],
            "INSERT INTO \"_keel_new_users\" (\"id\", \"name\", \"email\", \"enabled\", \"age\") "
            "SELECT \"id\", \"name\", \"email\", \"enabled\", \"age\" FROM \"users\"");

  MetaData after3 = before;
  users(after3).name = "people";
  Statements r = render(schema::RenameTable{"users", "people"}, before, after3, kSqlite);
  ASSERT_GE(r.size(), 2u);
  EXPECT_EQ(r[0], "ALTER TABLE \"users\" RENAME TO \"people\"");
  EXPECT_NE(r[1].find("CONSTRAINT \"people_active_bool\""), std::string::npos);
  EXPECT_EQ(render(schema::RenameTable{"users", "people"}, before, after3, kPg),
            (Statements{"ALTER TABLE \"users\" RENAME TO \"people\""}));
}

TEST(AlterTest, TablesAndIndexesRenderTheSameOnBothExceptTypes) {
  MetaData empty, m = users_model();
  const Table& t = m.tables[0];
  Statements sqlite = render(schema::CreateTable{t}, empty, m, kSqlite);
  ASSERT_EQ(sqlite.size(), 2u);
  EXPECT_EQ(sqlite[1], "CREATE INDEX \"ix_users_name\" ON \"users\" (\"name\")");
  EXPECT_EQ(render(schema::DropTable{t}, m, empty, kPg), (Statements{"DROP TABLE \"users\""}));
  schema::Index ix{"ix_users_email", {"email"}, true, "email IS NOT NULL"};
  for (Backend b : {kSqlite, kPg}) {
    EXPECT_EQ(render(schema::CreateIndex{"users", ix}, m, m, b),
              (Statements{"CREATE UNIQUE INDEX \"ix_users_email\" ON \"users\" (\"email\") WHERE "
                          "email IS NOT NULL"}));
    EXPECT_EQ(render(schema::DropIndex{"users", ix}, m, m, b),
              (Statements{"DROP INDEX \"ix_users_email\""}));
  }
}

TEST(AlterTest, ConstraintsAreAlteredOnPostgresAndRebuiltOnSqlite) {
  MetaData before = users_model();
  schema::TableBuilder(before, "posts")
      .column("id", "bigint", {.nullable = false})
      .column("user_id", "bigint")
      .primary_key({"id"});
  schema::validate(before);
  MetaData after = before;
  Table& posts = *after.table("posts");
  schema::ForeignKey fk{"posts_user_id_fkey", {"user_id"}, "users", {"id"},
                        schema::FkAction::cascade, schema::FkAction::no_action};
  posts.foreign_keys.push_back(fk);
  posts.uniques.push_back({"posts_user_id_key", {"user_id"}});
  posts.checks.push_back({"posts_id_positive", "id > 0"});

  EXPECT_EQ(render(schema::AddForeignKey{"posts", fk}, before, after, kPg),
            (Statements{"ALTER TABLE \"posts\" ADD CONSTRAINT \"posts_user_id_fkey\" FOREIGN KEY "
                        "(\"user_id\") REFERENCES \"users\" (\"id\") ON DELETE CASCADE"}));
  EXPECT_EQ(render(schema::DropForeignKey{"posts", fk}, after, before, kPg),
            (Statements{"ALTER TABLE \"posts\" DROP CONSTRAINT \"posts_user_id_fkey\""}));
  EXPECT_EQ(render(schema::AddUnique{"posts", posts.uniques[0]}, before, after, kPg),
            (Statements{"ALTER TABLE \"posts\" ADD CONSTRAINT \"posts_user_id_key\" UNIQUE "
                        "(\"user_id\")"}));
  EXPECT_EQ(render(schema::DropUnique{"posts", posts.uniques[0]}, after, before, kPg),
            (Statements{"ALTER TABLE \"posts\" DROP CONSTRAINT \"posts_user_id_key\""}));
  EXPECT_EQ(render(schema::AddCheck{"posts", posts.checks[0]}, before, after, kPg),
            (Statements{"ALTER TABLE \"posts\" ADD CONSTRAINT \"posts_id_positive\" CHECK (id > "
                        "0)"}));
  EXPECT_EQ(render(schema::DropCheck{"posts", posts.checks[0]}, after, before, kPg),
            (Statements{"ALTER TABLE \"posts\" DROP CONSTRAINT \"posts_id_positive\""}));
  schema::PrimaryKey old_pk = *posts.primary_key;
  schema::PrimaryKey new_pk{"posts_pkey", {"id", "user_id"}};
  EXPECT_EQ(render(schema::AlterPrimaryKey{"posts", old_pk, new_pk}, before, before, kPg),
            (Statements{"ALTER TABLE \"posts\" DROP CONSTRAINT \"posts_pkey\"",
                        "ALTER TABLE \"posts\" ADD CONSTRAINT \"posts_pkey\" PRIMARY KEY (\"id\", "
                        "\"user_id\")"}));

  // SQLite: one rebuild with every constraint of the after-model.
  Statements s = render(schema::AddForeignKey{"posts", fk}, before, after, kSqlite);
  EXPECT_EQ(s,
            (Statements{"CREATE TABLE \"_keel_new_posts\" (\n"
                        "  \"id\" BIGINT NOT NULL,\n"
                        "  \"user_id\" BIGINT,\n"
                        "  CONSTRAINT \"posts_pkey\" PRIMARY KEY (\"id\"),\n"
                        "  CONSTRAINT \"posts_user_id_fkey\" FOREIGN KEY (\"user_id\") REFERENCES "
                        "\"users\" (\"id\") ON DELETE CASCADE,\n"
                        "  CONSTRAINT \"posts_user_id_key\" UNIQUE (\"user_id\"),\n"
                        "  CONSTRAINT \"posts_id_positive\" CHECK (id > 0)\n"
                        ")",
                        "INSERT INTO \"_keel_new_posts\" (\"id\", \"user_id\") SELECT \"id\", "
                        "\"user_id\" FROM \"posts\"",
                        "DROP TABLE \"posts\"",
                        "ALTER TABLE \"_keel_new_posts\" RENAME TO \"posts\""}));
  for (const schema::Operation& op :
       {schema::Operation{schema::DropForeignKey{"posts", fk}},
        schema::Operation{schema::AddUnique{"posts", posts.uniques[0]}},
        schema::Operation{schema::DropCheck{"posts", posts.checks[0]}},
        schema::Operation{schema::AlterPrimaryKey{"posts", old_pk, new_pk}}}) {
    Statements r = render(op, before, after, kSqlite);
    ASSERT_FALSE(r.empty());
    EXPECT_EQ(r[0].rfind("CREATE TABLE \"_keel_new_posts\"", 0), 0u) << r[0];
  }
}

TEST(AlterTest, SqliteMigrationsRunWithForeignKeysOffAndCheckThemAtTheEnd) {
  EXPECT_EQ(dialect::migration_prologue(kSqlite), (Statements{"PRAGMA foreign_keys=OFF"}));
  EXPECT_EQ(dialect::migration_epilogue(kSqlite), (Statements{"PRAGMA foreign_keys=ON"}));
  EXPECT_EQ(dialect::foreign_key_check_sql(kSqlite), "PRAGMA foreign_key_check");
  EXPECT_TRUE(dialect::migration_prologue(kPg).empty());
  EXPECT_TRUE(dialect::migration_epilogue(kPg).empty());
  EXPECT_EQ(dialect::foreign_key_check_sql(kPg), "");
}

TEST(AlterTest, AnOperationOnATableMissingFromTheModelNamesIt) {
  MetaData m = users_model();
  schema::AlterColumn op{"ghosts", *users(m).column("age"), *users(m).column("age")};
  for (Backend b : {kSqlite, kPg}) {
    try {
      render(op, m, m, b);
      ADD_FAILURE() << "no error on " << to_string(b);
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("alter column"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("\"ghosts\""), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace keel
