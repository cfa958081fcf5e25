// diff(): hand-written before/after pairs, one per operation kind, each on both
// backends, asserting the exact operation list (as describe() lines, which name the
// kind, the table and what changes), plus the normalisation that makes a model and
// its reflection compare equal.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "keel/dialect/normalize.hpp"
#include "keel/schema.hpp"

namespace keel::schema {
namespace {

using Lines = std::vector<std::string>;

ColumnOptions opts(bool nullable, std::optional<Default> server_default = {},
                   bool autoincrement = false) {
  return ColumnOptions{nullable, std::move(server_default), autoincrement};
}

// users ← posts: an autoincrement key, a unique, a check, a plain and a partial
// index, a foreign key with an action, defaults of each kind.
MetaData base() {
  MetaData m;
  TableBuilder(m, "users")
      .column("id", "bigint", opts(false, {}, true))
      .column("email", "string(120)", opts(false))
      .column("name", "text")
      .column("active", "boolean", opts(false, literal(true)))
      .primary_key({"id"})
      .unique({"email"})
      .check("users_email_nonempty", "email <> ''")
      .index("ix_users_name", {"name"});
  TableBuilder(m, "posts")
      .column("id", "bigint", opts(false, {}, true))
      .column("user_id", "bigint", opts(false))
      .column("reviewer_id", "bigint")
      .column("title", "text", opts(false))
      .column("status", "string(16)", opts(false, literal("draft")))
      .column("created_at", "timestamp", opts(false, now()))
      .primary_key({"id"})
      .foreign_key({"user_id"}, "users", {"id"}, FkAction::cascade)
      .index("ix_posts_user", {"user_id"})
      .index("ix_posts_drafts", {"created_at"}, false, "status = 'draft'");
  return m;
}

Lines describe_all(const std::vector<Operation>& ops) {
  Lines lines;
  for (const Operation& op : ops) lines.push_back(describe(op));
  return lines;
}

struct DiffCase {
  std::string name;
  std::function<void(MetaData&)> change;  // turns base() into the `to` model
  Lines expected;
};

Column column(std::string name, TypeKind kind) {
  Column c;
  c.name = std::move(name);
  c.type.kind = kind;
  return c;
}

ForeignKey& fk_of(MetaData& m, const char* table) { return m.table(table)->foreign_keys.at(0); }

const std::vector<DiffCase>& cases() {
  static const std::vector<DiffCase> all = {
      {"CreateTable",
       [](MetaData& m) {
         TableBuilder(m, "tags")
             .column("id", "integer", opts(false))
             .column("label", "text")
             .primary_key({"id"});
       },
       {"create table tags (2 columns)"}},
      {"DropTable",
       [](MetaData& m) { std::erase_if(m.tables, [](auto& t) { return t.name == "posts"; }); },
       {"drop table posts"}},
      {"RenameTable",
       [](MetaData& m) {
         m.table("posts")->name = "articles";
         m.table("articles")->renamed_from = "posts";
       },
       {"rename table posts to articles"}},
      {"RenamingAReferencedTableKeepsItsForeignKeys",
       [](MetaData& m) {
         m.table("users")->name = "members";
         m.table("members")->renamed_from = "users";
         fk_of(m, "posts").ref_table = "members";
       },
       {"rename table users to members"}},
      {"AddColumn",
       [](MetaData& m) { m.table("posts")->columns.push_back(column("body", TypeKind::text)); },
       {"add column posts.body text NULL"}},
      {"DropColumn",
       [](MetaData& m) {
         std::erase_if(m.table("users")->columns, [](auto& c) { return c.name == "active"; });
       },
       {"drop column users.active"}},
      {"AlterColumnType",
       [](MetaData& m) {
         m.table("users")->column("name")->type = {TypeKind::string, 80};
       },
       {"alter column users.name: type text -> string(80)"}},
      {"AlterColumnNullability",
       [](MetaData& m) { m.table("posts")->column("title")->nullable = true; },
       {"alter column posts.title: NOT NULL -> NULL"}},
      {"AlterColumnDefault",
       [](MetaData& m) { m.table("users")->column("active")->server_default = literal(false); },
       {"alter column users.active: default true -> false"}},
      {"AlterColumnDefaultToExpression",
       [](MetaData& m) {
         m.table("users")->column("name")->server_default = expression("lower('X')");
       },
       {"alter column users.name: default none -> (lower('X'))"}},
      {"RenameColumn",
       [](MetaData& m) {
         Column* c = m.table("posts")->column("title");
         c->name = "headline";
         c->renamed_from = "title";
       },
       {"rename column posts.title to headline"}},
      {"RenameAndAlterColumn",
       [](MetaData& m) {
         Column* c = m.table("posts")->column("title");
         c->name = "headline";
         c->renamed_from = "title";
         c->nullable = true;
       },
       {"rename column posts.title to headline", "alter column posts.headline: NOT NULL -> NULL"}},
      {"RenameWithoutDeclarationIsDropAndAdd",
       [](MetaData& m) { m.table("posts")->column("reviewer_id")->name = "editor_id"; },
       {"drop column posts.reviewer_id", "add column posts.editor_id bigint NULL"}},
      {"CreateIndex",
       [](MetaData& m) {
         m.table("posts")->indexes.push_back(Index{"ix_posts_created", {"created_at"}, false, ""});
       },
       {"create index ix_posts_created on posts (created_at)"}},
      {"DropIndex",
       [](MetaData& m) { m.table("users")->indexes.clear(); },
       {"drop index ix_users_name on users"}},
      {"IndexChangeIsDropAndCreate",
       [](MetaData& m) { m.table("users")->indexes[0].unique = true; },
       {"drop index ix_users_name on users", "create index ix_users_name on users unique (name)"}},
      {"IndexWhereChangeIsDropAndCreate",
       [](MetaData& m) { m.table("posts")->indexes[1].where = "status = 'published'"; },
       {"drop index ix_posts_drafts on posts",
        "create index ix_posts_drafts on posts (created_at) WHERE status = 'published'"}},
      {"AddForeignKey",
       [](MetaData& m) {
         m.table("posts")->foreign_keys.push_back(ForeignKey{
             "", {"reviewer_id"}, "users", {"id"}, FkAction::no_action, FkAction::no_action});
       },
       {"add foreign key posts (reviewer_id) -> users (id)"}},
      {"DropForeignKey",
       [](MetaData& m) { m.table("posts")->foreign_keys.clear(); },
       {"drop foreign key posts (user_id) -> users (id) ON DELETE CASCADE"}},
      {"ForeignKeyActionChangeIsDropAndAdd",
       [](MetaData& m) { fk_of(m, "posts").on_delete = FkAction::restrict; },
       {"drop foreign key posts (user_id) -> users (id) ON DELETE CASCADE",
        "add foreign key posts (user_id) -> users (id) ON DELETE RESTRICT"}},
      {"ForeignKeyNameIsNotCompared",
       [](MetaData& m) { fk_of(m, "posts").name = "whatever_fk"; },
       {}},
      {"AddUnique",
       [](MetaData& m) {
         m.table("users")->uniques.push_back({"", {"name"}});
       },
       {"add unique users (name)"}},
      {"DropUnique",
       [](MetaData& m) { m.table("users")->uniques.clear(); },
       {"drop unique users (email)"}},
      {"AddCheck",
       [](MetaData& m) {
         m.table("posts")->checks.push_back({"posts_title_nonempty", "title <> ''"});
       },
       {"add check posts.posts_title_nonempty: title <> ''"}},
      {"DropCheck",
       [](MetaData& m) { m.table("users")->checks.clear(); },
       {"drop check users.users_email_nonempty"}},
      {"CheckExpressionIsNotCompared",
       [](MetaData& m) { m.table("users")->checks[0].expression = "length(email) > 0"; },
       {}},
      {"AlterPrimaryKey",
       [](MetaData& m) {
         m.table("users")->primary_key->columns = {"id", "email"};
       },
       {"alter primary key users: (id) -> (id, email)"}},
      {"EveryKindInApplicableOrder",
       [](MetaData& m) {
         Table& posts = *m.table("posts");
         posts.foreign_keys.clear();                  // drop FK
         posts.indexes.erase(posts.indexes.begin());  // drop index
         std::erase_if(posts.columns,
                       [](auto& c) { return c.name == "reviewer_id"; });   // drop column
         posts.checks.push_back({"posts_title_nonempty", "title <> ''"});  // add check
         Table& users = *m.table("users");
         users.uniques.clear();  // drop unique
         users.name = "accounts";
         users.renamed_from = "users";                                           // rename table
         users.columns.push_back(column("bio", TypeKind::text));                 // add column
         users.column("active")->nullable = true;                                // alter
         users.indexes.push_back(Index{"ix_accounts_bio", {"bio"}, false, ""});  // create index
         TableBuilder(m, "audit")
             .column("id", "bigint", opts(false, {}, true))
             .column("account_id", "bigint", opts(false))
             .primary_key({"id"})
             .foreign_key({"account_id"}, "accounts", {"id"});  // create table
         m.table("posts")->foreign_keys.push_back(ForeignKey{"",
                                                             {"user_id"},
                                                             "accounts",
                                                             {"id"},
                                                             FkAction::set_null,
                                                             FkAction::no_action});  // add FK
       },
       {"drop foreign key posts (user_id) -> users (id) ON DELETE CASCADE",
        "drop index ix_posts_user on posts", "drop unique users (email)",
        "drop column posts.reviewer_id", "rename table users to accounts",
        "add column accounts.bio text NULL", "alter column accounts.active: NOT NULL -> NULL",
        "add check posts.posts_title_nonempty: title <> ''", "create table audit (2 columns)",
        "create index ix_accounts_bio on accounts (bio)",
        "add foreign key posts (user_id) -> accounts (id) ON DELETE SET NULL"}},
  };
  return all;
}

class DiffCaseTest : public ::testing::TestWithParam<std::tuple<std::size_t, Backend>> {};

TEST_P(DiffCaseTest, ProducesExactlyTheExpectedOperations) {
  const DiffCase& c = cases()[std::get<0>(GetParam())];
  Backend backend = std::get<1>(GetParam());
  MetaData from = base();
  MetaData to = base();
  c.change(to);
  EXPECT_EQ(describe_all(diff(from, to, backend)), c.expected) << c.name;
}

INSTANTIATE_TEST_SUITE_P(, DiffCaseTest,
                         ::testing::Combine(::testing::Range<std::size_t>(0, cases().size()),
                                            ::testing::Values(Backend::sqlite,
                                                              Backend::postgresql)),
                         [](const ::testing::TestParamInfo<std::tuple<std::size_t, Backend>>& p) {
                           return cases()[std::get<0>(p.param)].name + "_" +
                                  to_string(std::get<1>(p.param));
                         });

class DiffTest : public ::testing::TestWithParam<Backend> {
 protected:
  Backend backend() const { return GetParam(); }
};

TEST_P(DiffTest, ModelDiffedWithItselfIsEmpty) {
  EXPECT_TRUE(diff(base(), base(), backend()).empty());
  EXPECT_TRUE(diff(MetaData{}, MetaData{}, backend()).empty());
}

TEST_P(DiffTest, OperationsCarryTheCallersObjectsNotNormalisedCopies) {
  MetaData to = base();
  to.table("posts")->indexes.push_back(
      Index{"ix_posts_review", {"reviewer_id"}, false, "(Status = 'draft'::text)"});
  auto ops = diff(base(), to, backend());
  ASSERT_EQ(ops.size(), 1u);
  const auto* create = std::get_if<CreateIndex>(&ops[0]);
  ASSERT_NE(create, nullptr);
  EXPECT_EQ(create->table, "posts");
  EXPECT_EQ(create->index.where, "(Status = 'draft'::text)");
}

TEST_P(DiffTest, DropTableCarriesTheWholeTable) {
  MetaData to = base();
  std::erase_if(to.tables, [](auto& t) { return t.name == "posts"; });
  auto ops = diff(base(), to, backend());
  ASSERT_EQ(ops.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<DropTable>(ops[0]));
  EXPECT_EQ(std::get<DropTable>(ops[0]).table, *base().table("posts"));
}

TEST_P(DiffTest, AlterColumnCarriesBothDefinitions) {
  MetaData to = base();
  to.table("users")->column("name")->type = {TypeKind::string, 80};
  auto ops = diff(base(), to, backend());
  ASSERT_EQ(ops.size(), 1u);
  const auto& alter = std::get<AlterColumn>(ops[0]);
  EXPECT_EQ(alter.table, "users");
  EXPECT_EQ(alter.from, *base().table("users")->column("name"));
  EXPECT_EQ(alter.to, *to.table("users")->column("name"));
}

TEST_P(DiffTest, CreatesReferencedTablesFirstAndDropsDependentsFirst) {
  MetaData empty;
  Lines created = describe_all(diff(empty, base(), backend()));
  EXPECT_EQ(created, (Lines{"create table users (4 columns)", "create table posts (6 columns)"}));
  Lines dropped = describe_all(diff(base(), empty, backend()));
  EXPECT_EQ(dropped, (Lines{"drop table posts", "drop table users"}));
}

MetaData cycle() {
  MetaData m;
  TableBuilder(m, "a")
      .column("id", "integer", opts(false))
      .column("b_id", "integer")
      .primary_key({"id"})
      .foreign_key({"b_id"}, "b", {"id"});
  TableBuilder(m, "b")
      .column("id", "integer", opts(false))
      .column("a_id", "integer")
      .primary_key({"id"})
      .foreign_key({"a_id"}, "a", {"id"});
  return m;
}

TEST_P(DiffTest, ForeignKeyCycleIsClosedAfterCreateOnPostgresqlAndInlineOnSqlite) {
  auto ops = diff(MetaData{}, cycle(), backend());
  if (backend() == Backend::postgresql) {
    ASSERT_EQ(describe_all(ops), (Lines{"create table a (2 columns)", "create table b (2 columns)",
                                        "add foreign key a (b_id) -> b (id)"}));
    EXPECT_TRUE(std::get<CreateTable>(ops[0]).table.foreign_keys.empty());
    EXPECT_EQ(std::get<CreateTable>(ops[1]).table.foreign_keys.size(), 1u);
  } else {
    ASSERT_EQ(describe_all(ops),
              (Lines{"create table a (2 columns)", "create table b (2 columns)"}));
    EXPECT_EQ(std::get<CreateTable>(ops[0]).table.foreign_keys.size(), 1u);
  }
}

TEST_P(DiffTest, ForeignKeyCycleIsOpenedBeforeDropOnPostgresqlOnly) {
  auto ops = diff(cycle(), MetaData{}, backend());
  if (backend() == Backend::postgresql) {
    EXPECT_EQ(describe_all(ops),
              (Lines{"drop foreign key b (a_id) -> a (id)", "drop table a", "drop table b"}));
  } else {
    EXPECT_EQ(describe_all(ops), (Lines{"drop table a", "drop table b"}));
  }
}

TEST_P(DiffTest, SelfReferenceNeedsNoSeparateForeignKey) {
  MetaData m;
  TableBuilder(m, "nodes")
      .column("id", "bigint", opts(false, {}, true))
      .column("parent_id", "bigint")
      .primary_key({"id"})
      .foreign_key({"parent_id"}, "nodes", {"id"}, FkAction::cascade);
  EXPECT_EQ(describe_all(diff(MetaData{}, m, backend())),
            (Lines{"create table nodes (2 columns)"}));
}

// What reflection hands back for base(), in each backend's own words.
MetaData reflected_form(Backend backend) {
  MetaData m = base();
  Table& users = *m.table("users");
  users.column("active")->server_default = literal(1);  // SQLite's DEFAULT 1; PostgreSQL says true
  if (backend == Backend::postgresql) users.column("active")->server_default = literal(true);
  users.column("id")->declared_type = backend == Backend::sqlite ? "INTEGER" : "bigint";
  Table& posts = *m.table("posts");
  posts.indexes[1].where =
      backend == Backend::postgresql ? "((status)::text = 'draft'::text)" : "status = 'draft'";
  posts.checks.push_back({"posts_status", backend == Backend::postgresql
                                              ? "((status)::text = ANY (ARRAY['draft'::character "
                                                "varying, 'published'::character varying]::text[]))"
                                              : "status IN ('draft', 'published')"});
  posts.column("title")->server_default =
      expression(backend == Backend::postgresql ? "lower('Untitled'::text)" : "lower('Untitled')");
  return m;
}

TEST_P(DiffTest, ModelAndItsReflectionCompareEqual) {
  MetaData model = base();
  model.table("posts")->checks.push_back({"posts_status", "status IN ('draft', 'published')"});
  model.table("posts")->column("title")->server_default = expression("lower('Untitled')");
  EXPECT_EQ(describe_all(diff(reflected_form(backend()), model, backend())), Lines{});
  EXPECT_EQ(describe_all(diff(model, reflected_form(backend()), backend())), Lines{});
}

TEST_P(DiffTest, AutoincrementIntegerIsTheRowidOnSqliteOnly) {
  MetaData model;
  TableBuilder(model, "t").column("id", "integer", opts(false, {}, true)).primary_key({"id"});
  MetaData stored = model;
  stored.tables[0].columns[0].type = {TypeKind::bigint};
  Lines lines = describe_all(diff(stored, model, backend()));
  if (backend() == Backend::sqlite)
    EXPECT_EQ(lines, Lines{});
  else
    EXPECT_EQ(lines, (Lines{"alter column t.id: type bigint -> integer"}));
}

TEST_P(DiffTest, PrimaryKeyColumnsAreNotNullWhateverTheyDeclare) {
  MetaData model;
  TableBuilder(model, "t").column("code", "text").primary_key({"code"});
  MetaData stored = model;
  stored.tables[0].columns[0].nullable = false;
  EXPECT_TRUE(diff(stored, model, backend()).empty());
}

TEST_P(DiffTest, LiteralDefaultsCompareByWhatTheColumnHolds) {
  MetaData model;
  TableBuilder(model, "t")
      .column("n", "bigint", opts(true, literal(-1)))
      .column("r", "real", opts(true, literal(2)))
      .column("doc", "json", opts(true, literal(R"({"b": 1, "a": [1, 2]})")))
      .column("at", "timestamp", opts(true, literal("2024-05-01T12:00:00Z")))
      .column("day", "date", opts(true, literal("2024-05-01")))
      .column("u", "uuid", opts(true, literal("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11")))
      .column("flag", "boolean", opts(true, literal(false)));
  MetaData stored;
  TableBuilder(stored, "t")
      .column("n", "bigint", opts(true, expression("'-1'::integer")))
      .column("r", "real", opts(true, literal(2.0)))
      .column("doc", "json", opts(true, literal(R"({"a":[1,2],"b":1})")))
      .column("at", "timestamp", opts(true, literal("2024-05-01 12:00:00+00")))
      .column("day", "date", opts(true, expression("'2024-05-01'::date")))
      .column("u", "uuid", opts(true, literal("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")))
      .column("flag", "boolean", opts(true, literal(0)));
  EXPECT_EQ(describe_all(diff(stored, model, backend())), Lines{});
  stored.tables[0].column("n")->server_default = literal(1);
  EXPECT_EQ(describe_all(diff(stored, model, backend())),
            (Lines{"alter column t.n: default 1 -> -1"}));
}

TEST_P(DiffTest, CurrentTimestampSpellingsAreOneDefault) {
  for (const char* spelling :
       {"CURRENT_TIMESTAMP", "now()", "(now())", "strftime('%Y-%m-%dT%H:%M:%f000Z','now')"}) {
    MetaData model, stored;
    TableBuilder(model, "t").column("at", "timestamp", opts(true, now()));
    TableBuilder(stored, "t").column("at", "timestamp", opts(true, expression(spelling)));
    EXPECT_TRUE(diff(stored, model, backend()).empty()) << spelling;
  }
}

TEST_P(DiffTest, VarcharWithoutLengthIsText) {
  MetaData model, stored;
  TableBuilder(model, "t").column("s", "text");
  TableBuilder(stored, "t").column("s", "text");
  stored.tables[0].columns[0].type = {TypeKind::string, 0};
  EXPECT_TRUE(diff(stored, model, backend()).empty());
}

TEST_P(DiffTest, DeclaredTypeAndRenameDeclarationsAreNotCompared) {
  MetaData to = base();
  to.table("users")->column("email")->declared_type = "VARCHAR(120)";
  to.table("users")->column("email")->renamed_from = "mail";
  to.table("users")->renamed_from = "people";
  EXPECT_TRUE(diff(base(), to, backend()).empty());
}

INSTANTIATE_TEST_SUITE_P(, DiffTest, ::testing::Values(Backend::sqlite, Backend::postgresql),
                         [](const ::testing::TestParamInfo<Backend>& p) {
                           return std::string(to_string(p.param));
                         });

// ---- normalize_expression ------------------------------------------------------

TEST(NormalizeExpressionTest, DropsCastsParenthesesCaseAndSpacing) {
  auto n = [](std::string_view s) { return dialect::normalize_expression(s, Backend::postgresql); };
  EXPECT_EQ(n("(status = 'pending'::text)"), n("STATUS='pending'"));
  EXPECT_EQ(n("((name)::text = 'x'::character varying)"), n("name = 'x'"));
  EXPECT_EQ(n("(at > '2024-01-01 00:00:00+00'::timestamp with time zone)"),
            n("at > '2024-01-01 00:00:00+00'"));
  EXPECT_EQ(n("(amount > 1.5::numeric(10,2))"), n("amount > 1.5"));
  EXPECT_EQ(n("(priority > '-1'::integer)"), n("priority > -1"));
  EXPECT_EQ(n("(a != b)"), n("a <> b"));
  EXPECT_EQ(n("\"Weird Name\" IS NOT NULL"), n("weird name is not null"));
}

TEST(NormalizeExpressionTest, KeepsLiteralsAsWritten) {
  auto n = [](std::string_view s) { return dialect::normalize_expression(s, Backend::sqlite); };
  EXPECT_NE(n("s = 'ABC'"), n("s = 'abc'"));
  EXPECT_EQ(n("s = 'It''s (here)'"), "s='It''s (here)'");
}

TEST(NormalizeExpressionTest, InListEqualsPostgresqlsAnyArray) {
  auto n = [](std::string_view s) { return dialect::normalize_expression(s, Backend::postgresql); };
  EXPECT_EQ(n("((status)::text = ANY ((ARRAY['a'::character varying, 'b'::character "
              "varying])::text[]))"),
            n("status IN ('a', 'b')"));
  EXPECT_EQ(n("(kind <> ALL (ARRAY[1, 2]))"), n("kind NOT IN (1, 2)"));
  EXPECT_EQ(n("(name ~~ 'a%'::text)"), n("name LIKE 'a%'"));
}

TEST(NormalizeExpressionTest, IgnoresComments) {
  EXPECT_EQ(dialect::normalize_expression("a = 1 -- note\n AND /* x */ b = 2", Backend::sqlite),
            dialect::normalize_expression("a=1 AND b=2", Backend::sqlite));
}

}  // namespace
}  // namespace keel::schema
