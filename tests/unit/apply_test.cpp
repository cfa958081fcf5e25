// apply() and invert(): each operation kind on a small model, the refusals (each
// naming the operation), and the property that migrations rest on — for random
// schemas a and b on each backend, applying diff(a, b) to a gives b, and applying
// the inverted operations in reverse order gives a back.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "keel/error.hpp"
#include "keel/schema.hpp"
#include "support/random_schema.hpp"

namespace keel::schema {
namespace {

using Lines = std::vector<std::string>;

Lines describe_all(const std::vector<Operation>& ops) {
  Lines out;
  for (const auto& op : ops) out.push_back(describe(op));
  return out;
}

// A column without designated initializers (-Wmissing-field-initializers).
Column col(std::string name, std::string_view type, bool nullable = true) {
  Column c;
  c.name = std::move(name);
  c.type = *parse_type(type);
  c.nullable = nullable;
  return c;
}

Table table_of(std::string name, std::vector<Column> columns) {
  Table t;
  t.name = std::move(name);
  t.columns = std::move(columns);
  return t;
}

Index index(std::string name, std::vector<std::string> columns, bool unique = false,
            std::string where = {}) {
  return Index{std::move(name), std::move(columns), unique, std::move(where)};
}

// users ← posts, with a key, a unique, a check, an index and a foreign key.
MetaData base() {
  MetaData m;
  TableBuilder(m, "users")
      .column("id", "bigint", {.nullable = false, .autoincrement = true})
      .column("email", "string(120)", {.nullable = false})
      .column("name", "text")
      .primary_key({"id"})
      .unique({"email"})
      .check("users_email_nonempty", "email <> ''")
      .index("ix_users_name", {"name"});
  TableBuilder(m, "posts")
      .column("id", "bigint", {.nullable = false, .autoincrement = true})
      .column("author_id", "bigint", {.nullable = false})
      .column("title", "text")
      .primary_key({"id"})
      .foreign_key({"author_id"}, "users", {"id"}, FkAction::cascade)
      .index("ix_posts_author_id", {"author_id"});
  validate(m);
  return m;
}

// The UsageError message of schema::apply(meta, op), or "" when it did not throw.
std::string refusal(MetaData meta, const Operation& op) {
  try {
    schema::apply(meta, op);
  } catch (const UsageError& e) {
    return e.what();
  }
  return {};
}

TEST(ApplyTest, CreateTableAddsItInNameOrder) {
  MetaData m = base();
  Table t = table_of("comments", {col("id", "bigint")});
  t.renamed_from = "notes";
  schema::apply(m, CreateTable{t});
  ASSERT_EQ(m.tables.size(), 3u);
  EXPECT_EQ(m.tables[0].name, "comments");
  EXPECT_EQ(m.tables[0].renamed_from, "") << "a rename declaration means nothing once applied";
}

TEST(ApplyTest, DropTableRemovesIt) {
  MetaData m = base();
  schema::apply(m, DropTable{*m.table("posts")});
  EXPECT_EQ(m.table("posts"), nullptr);
  EXPECT_EQ(m.tables.size(), 1u);
}

TEST(ApplyTest, RenameTableAlsoRenamesForeignKeysPointingAtIt) {
  MetaData m = base();
  schema::apply(m, RenameTable{"users", "accounts"});
  ASSERT_NE(m.table("accounts"), nullptr);
  EXPECT_EQ(m.table("users"), nullptr);
  EXPECT_EQ(m.table("posts")->foreign_keys[0].ref_table, "accounts");
  EXPECT_EQ(m.table("accounts")->indexes[0].name, "ix_users_name") << "names stay as they are";
}

TEST(ApplyTest, AddColumnAppendsIt) {
  MetaData m = base();
  Column c = col("bio", "string(200)", false);
  schema::apply(m, AddColumn{"users", c});
  EXPECT_EQ(m.table("users")->columns.back(), c);
}

TEST(ApplyTest, DropColumnRemovesAnUnusedColumn) {
  MetaData m = base();
  schema::apply(m, DropColumn{"posts", *m.table("posts")->column("title")});
  EXPECT_EQ(m.table("posts")->column("title"), nullptr);
  EXPECT_EQ(m.table("posts")->columns.size(), 2u);
}

TEST(ApplyTest, AlterColumnReplacesTheDefinition) {
  MetaData m = base();
  Column from = *m.table("users")->column("name");
  Column to = from;
  to.type = {TypeKind::string, 80};
  to.nullable = false;
  to.server_default = literal(Value("anonymous"));
  schema::apply(m, AlterColumn{"users", from, to});
  EXPECT_EQ(*m.table("users")->column("name"), to);
}

TEST(ApplyTest, RenameColumnRenamesItsKeysIndexesAndReferencesFromOtherTables) {
  MetaData m = base();
  schema::apply(m, RenameColumn{"users", "id", "user_id"});
  const Table& users = *m.table("users");
  EXPECT_NE(users.column("user_id"), nullptr);
  EXPECT_EQ(users.primary_key->columns, Lines{"user_id"});
  EXPECT_EQ(m.table("posts")->foreign_keys[0].ref_columns, Lines{"user_id"});

  schema::apply(m, RenameColumn{"users", "email", "mail"});
  EXPECT_EQ(m.table("users")->uniques[0].columns, Lines{"mail"});
  schema::apply(m, RenameColumn{"posts", "author_id", "writer_id"});
  EXPECT_EQ(m.table("posts")->foreign_keys[0].columns, Lines{"writer_id"});
  EXPECT_EQ(m.table("posts")->indexes[0].columns, Lines{"writer_id"});
}

// The expression of check `name` of `t`, or "<none>".
std::string check_sql(const Table& t, std::string_view name) {
  for (const CheckConstraint& c : t.checks)
    if (c.name == name) return c.expression;
  return "<none>";
}

// SQLite's and PostgreSQL's RENAME COLUMN rewrite the checks and index predicates
// that use the column; the model must say the same, or the next SQLite rebuild
// renders the old name.
TEST(ApplyTest, RenameColumnRewritesChecksAndPartialIndexPredicates) {
  MetaData m = base();
  schema::apply(m, CreateIndex{"users", index("ix_users_email_set", {"name"}, false,
                                              "\"email\" IS NOT NULL AND name <> 'email'")});
  schema::apply(m, RenameColumn{"users", "email", "mail"});
  const Table& users = *m.table("users");
  EXPECT_EQ(check_sql(users, "users_email_nonempty"), "mail <> ''");
  EXPECT_EQ(users.indexes[0].where, "\"mail\" IS NOT NULL AND name <> 'email'")
      << "a quoted name stays quoted; a string literal is not a name";

  schema::apply(m, RenameColumn{"users", "mail", "email"});
  EXPECT_EQ(m, [] {
    MetaData b = base();
    schema::apply(b, CreateIndex{"users", index("ix_users_email_set", {"name"}, false,
                                                "\"email\" IS NOT NULL AND name <> 'email'")});
    return b;
  }()) << "renaming back gives the text as it was";
}

TEST(ApplyTest, RenameColumnLeavesLiteralsCommentsFunctionsAndOtherQualifiersAlone) {
  MetaData m = base();
  schema::apply(
      m, AddCheck{"users", CheckConstraint{"users_mixed",
                                           "EMAIL <> 'email' AND users.email <> E'it\\'s email' "
                                           "/* email /* nested */ email */ AND lower(email) <> "
                                           "$$email$$ AND email(1) AND x.email = 1 AND email_2 = "
                                           "1 -- email\nOR \"Email\" = 'a''email'"}});
  schema::apply(m, RenameColumn{"users", "email", "mail"});
  EXPECT_EQ(check_sql(*m.table("users"), "users_mixed"),
            "mail <> 'email' AND users.mail <> E'it\\'s email' /* email /* nested */ email */ "
            "AND lower(mail) <> $$email$$ AND email(1) AND x.email = 1 AND email_2 = 1 -- "
            "email\nOR \"Email\" = 'a''email'");
}

TEST(ApplyTest, RenameColumnQuotesANewNameThatIsNotAPlainName) {
  MetaData m = base();
  schema::apply(m, AddCheck{"users", CheckConstraint{"users_name_set", "name IS NOT NULL"}});
  schema::apply(m, RenameColumn{"users", "name", "order"});
  EXPECT_EQ(check_sql(*m.table("users"), "users_name_set"), "\"order\" IS NOT NULL");
  schema::apply(m, RenameColumn{"users", "order", "Full \"Name\""});
  EXPECT_EQ(check_sql(*m.table("users"), "users_name_set"), "\"Full \"\"Name\"\"\" IS NOT NULL");
  schema::apply(m, RenameColumn{"users", "Full \"Name\"", "name"});
  EXPECT_EQ(check_sql(*m.table("users"), "users_name_set"), "\"name\" IS NOT NULL");
}

TEST(ApplyTest, RenameTableRewritesQualifiersInItsOwnChecksAndPredicates) {
  MetaData m = base();
  schema::apply(m, AddCheck{"users", CheckConstraint{"users_qualified",
                                                     "users.email <> 'users.email' AND "
                                                     "\"users\".name <> email"}});
  schema::apply(
      m, CreateIndex{"users", index("ix_users_named", {"name"}, false, "users.name IS NOT NULL")});
  schema::apply(m, RenameTable{"users", "accounts"});
  const Table& accounts = *m.table("accounts");
  EXPECT_EQ(check_sql(accounts, "users_qualified"),
            "accounts.email <> 'users.email' AND \"accounts\".name <> email");
  EXPECT_EQ(check_sql(accounts, "users_email_nonempty"), "email <> ''");
  EXPECT_EQ(accounts.indexes[1].where, "accounts.name IS NOT NULL");
}

TEST(ApplyTest, IndexesAndConstraintsAreAddedAndDropped) {
  MetaData m = base();
  schema::apply(
      m, CreateIndex{"posts", index("ix_posts_title", {"title"}, true, "title IS NOT NULL")});
  ASSERT_EQ(m.table("posts")->indexes.size(), 2u);
  EXPECT_EQ(m.table("posts")->indexes[1].where, "title IS NOT NULL");
  schema::apply(m, DropIndex{"posts", index("ix_posts_title", {"title"})});
  EXPECT_EQ(m.table("posts")->indexes.size(), 1u);

  schema::apply(m, AddUnique{"posts", UniqueConstraint{"posts_title_key", {"title"}}});
  EXPECT_EQ(m.table("posts")->uniques.size(), 1u);
  schema::apply(m, DropUnique{"posts", UniqueConstraint{"posts_title_key", {"title"}}});
  EXPECT_TRUE(m.table("posts")->uniques.empty());

  schema::apply(m, AddCheck{"posts", CheckConstraint{"posts_title_short", "length(title) < 200"}});
  EXPECT_EQ(m.table("posts")->checks.size(), 1u);
  schema::apply(m, DropCheck{"posts", CheckConstraint{"posts_title_short", ""}});
  EXPECT_TRUE(m.table("posts")->checks.empty());

  ForeignKey fk = m.table("posts")->foreign_keys[0];
  schema::apply(m, DropForeignKey{"posts", fk});
  EXPECT_TRUE(m.table("posts")->foreign_keys.empty());
  fk.on_delete = FkAction::restrict;
  schema::apply(m, AddForeignKey{"posts", fk});
  EXPECT_EQ(m.table("posts")->foreign_keys, std::vector<ForeignKey>{fk});
}

TEST(ApplyTest, DropForeignKeyWithoutANameMatchesByColumnsAndTarget) {
  MetaData m = base();
  ForeignKey fk = m.table("posts")->foreign_keys[0];
  fk.name.clear();  // as SQLite reflection reports it
  schema::apply(m, DropForeignKey{"posts", fk});
  EXPECT_TRUE(m.table("posts")->foreign_keys.empty());
}

TEST(ApplyTest, AlterPrimaryKeyChangesAddsAndRemovesIt) {
  MetaData m = base();
  auto pk = m.table("posts")->primary_key;
  PrimaryKey wider{"posts_pkey", {"id", "author_id"}};
  schema::apply(m, AlterPrimaryKey{"posts", pk, wider});
  EXPECT_EQ(m.table("posts")->primary_key, wider);
  schema::apply(m, AlterPrimaryKey{"posts", wider, std::nullopt});
  EXPECT_FALSE(m.table("posts")->primary_key.has_value());
  schema::apply(m, AlterPrimaryKey{"posts", std::nullopt, pk});
  EXPECT_EQ(m.table("posts")->primary_key, pk);
}

TEST(ApplyTest, RefusalNamesTheOperationAndLeavesTheModelUntouched) {
  MetaData m = base();
  Column c = col("name", "text");
  try {
    schema::apply(m, AddColumn{"users", c});
    FAIL() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), "add column users.name text NULL: column already exists");
  }
  EXPECT_EQ(m, base());
}

TEST(ApplyTest, MissingTableOrColumnIsRefusedWithASuggestion) {
  EXPECT_EQ(
      refusal(base(), DropIndex{"user", index("ix_users_name", {"name"})}),
      "drop index ix_users_name on user: table 'user' does not exist (did you mean 'users'?)");
  EXPECT_EQ(refusal(base(), RenameColumn{"users", "nme", "full_name"}),
            "rename column users.nme to full_name: table 'users' has no column 'nme' (did you "
            "mean 'name'?)");
  EXPECT_EQ(refusal(base(), CreateIndex{"users", index("ix_users_x", {"x"})}),
            "create index ix_users_x on users (x): table 'users' has no column 'x'");
  EXPECT_EQ(refusal(base(), DropCheck{"users", CheckConstraint{"nope", ""}}),
            "drop check users.nope: check 'nope' does not exist");
}

TEST(ApplyTest, ExistingNamesAreRefused) {
  EXPECT_EQ(refusal(base(), RenameTable{"users", "posts"}),
            "rename table users to posts: table 'posts' already exists");
  EXPECT_EQ(refusal(base(), RenameColumn{"users", "name", "email"}),
            "rename column users.name to email: column 'email' already exists");
  EXPECT_EQ(refusal(base(), CreateIndex{"posts", index("ix_users_name", {"title"})}),
            "create index ix_users_name on posts (title): an index named 'ix_users_name' cannot "
            "be added: an index of table 'users' has that name");
  Table t = *base().table("users");
  EXPECT_EQ(refusal(base(), CreateTable{t}),
            "create table users (3 columns): table already exists");
}

TEST(ApplyTest, DropColumnStillInUseIsRefusedNamingEveryUser) {
  MetaData m = base();
  EXPECT_EQ(refusal(m, DropColumn{"users", *m.table("users")->column("id")}),
            "drop column users.id: column is still used by primary key users_pkey, foreign key "
            "posts_author_id_fkey of table posts; drop them first");
  EXPECT_EQ(refusal(m, DropColumn{"users", *m.table("users")->column("email")}),
            "drop column users.email: column is still used by unique constraint users_email_key; "
            "drop it first");
  EXPECT_EQ(refusal(m, DropColumn{"posts", *m.table("posts")->column("author_id")}),
            "drop column posts.author_id: column is still used by foreign key "
            "posts_author_id_fkey, index ix_posts_author_id; drop them first");
}

TEST(ApplyTest, AlterColumnCannotRename) {
  MetaData m = base();
  Column from = *m.table("users")->column("name");
  Column to = from;
  to.name = "full_name";
  EXPECT_NE(refusal(m, AlterColumn{"users", from, to}).find("use rename_column"),
            std::string::npos);
}

TEST(InvertTest, EachOperationUndoesItself) {
  MetaData m = base();
  Column title = *m.table("posts")->column("title");
  Column longer = title;
  longer.type = {TypeKind::string, 300};
  std::vector<Operation> ops = {
      CreateTable{table_of("tags", {col("id", "bigint")})},
      AddColumn{"posts", col("body", "text")},
      AlterColumn{"posts", title, longer},
      RenameColumn{"posts", "title", "headline"},
      CreateIndex{"posts", index("ix_posts_headline", {"headline"})},
      AddUnique{"posts", UniqueConstraint{"posts_body_key", {"body"}}},
      AddCheck{"posts", CheckConstraint{"posts_body_set", "body <> ''"}},
      DropForeignKey{"posts", m.table("posts")->foreign_keys[0]},
      DropIndex{"posts", m.table("posts")->indexes[0]},
      DropColumn{"posts", *m.table("posts")->column("author_id")},
      AlterPrimaryKey{"posts", m.table("posts")->primary_key,
                      PrimaryKey{"posts_pkey", {"id", "body"}}},
      RenameTable{"users", "people"},
      DropTable{table_of("tags", {col("id", "bigint")})},
  };
  MetaData x = m;
  for (const Operation& op : ops) schema::apply(x, op);
  EXPECT_FALSE(x == m);
  for (auto it = ops.rbegin(); it != ops.rend(); ++it) schema::apply(x, invert(*it));
  for (Backend b : {Backend::sqlite, Backend::postgresql})
    EXPECT_EQ(describe_all(diff(x, m, b)), Lines{}) << to_string(b);
  EXPECT_TRUE(invert(invert(ops[3])) == ops[3]);
}

// ---- the property: apply(a, diff(a, b)) is b, and the inverse brings a back --------

class ApplyDiffPropertyTest
    : public ::testing::TestWithParam<std::tuple<std::uint64_t, std::uint64_t, Backend>> {};

// Applies `ops` to a copy of `m`, each under a trace naming it.
MetaData applied(MetaData m, const std::vector<Operation>& ops) {
  for (const Operation& op : ops) {
    SCOPED_TRACE(describe(op));
    schema::apply(m, op);
  }
  return m;
}

TEST_P(ApplyDiffPropertyTest, DiffAppliedGivesTheTargetAndItsInverseGivesTheSourceBack) {
  auto [from_seed, to_seed, backend] = GetParam();
  // Seed 0 stands for the empty schema: every table created, every table dropped.
  MetaData a = from_seed == 0 ? MetaData{} : testing::random_schema(from_seed);
  MetaData b = to_seed == 0 ? MetaData{} : testing::random_schema(to_seed);
  validate(a);
  validate(b);
  std::vector<Operation> ops = diff(a, b, backend);

  MetaData forward;
  try {
    forward = applied(a, ops);
  } catch (const UsageError& e) {
    FAIL() << e.what() << "\noperations:\n" << ::testing::PrintToString(describe_all(ops));
  }
  EXPECT_EQ(describe_all(diff(forward, b, backend)), Lines{});

  std::vector<Operation> back;
  for (auto it = ops.rbegin(); it != ops.rend(); ++it) back.push_back(invert(*it));
  MetaData returned;
  try {
    returned = applied(forward, back);
  } catch (const UsageError& e) {
    FAIL() << e.what() << "\noperations:\n" << ::testing::PrintToString(describe_all(back));
  }
  EXPECT_EQ(describe_all(diff(returned, a, backend)), Lines{});
}

std::vector<std::tuple<std::uint64_t, std::uint64_t, Backend>> seed_pairs() {
  std::vector<std::tuple<std::uint64_t, std::uint64_t, Backend>> out;
  for (Backend b : {Backend::sqlite, Backend::postgresql}) {
    for (std::uint64_t s = 1; s <= 30; ++s) out.emplace_back(s, s + 100, b);
    for (std::uint64_t s = 1; s <= 5; ++s) {
      out.emplace_back(0, s, b);
      out.emplace_back(s, 0, b);
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    , ApplyDiffPropertyTest, ::testing::ValuesIn(seed_pairs()),
    [](const ::testing::TestParamInfo<std::tuple<std::uint64_t, std::uint64_t, Backend>>& p) {
      return "from_" + std::to_string(std::get<0>(p.param)) + "_to_" +
             std::to_string(std::get<1>(p.param)) + "_" + to_string(std::get<2>(p.param));
    });

}  // namespace
}  // namespace keel::schema
