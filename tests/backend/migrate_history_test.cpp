// The long history of tests/data/long_history (every operation kind, data migrations,
// a parent with ON DELETE CASCADE children rebuilt on SQLite while they hold rows) run
// one revision at a time up to head, down to base and up again. After every step
// every row of every table is compared with what the revisions predict, and the
// reflected schema with the model the revisions replay to.
#include <fmt/format.h>

#include <filesystem>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "keel/database.hpp"
#include "keel/dialect.hpp"
#include "keel/migrate.hpp"
#include "keel/schema.hpp"
#include "support/backend_test.hpp"

namespace keel {
namespace {

using Lines = std::vector<std::string>;
// Each table's column names joined by '|', then its rows ordered by every column.
using Tables = std::map<std::string, Lines>;

const std::string kHistory = std::string(KEEL_SOURCE_DIR) + "/tests/data/long_history";
const std::string kMigrations = kHistory + "/migrations";
const std::string kSchemaFile = kHistory + "/schema.yaml";

// What one revision does to the tables' contents: the whole new content of each
// table it changes, and the tables it removes.
struct Effect {
  std::string revision;
  Tables changed;
  Lines removed;
};

const Lines kAuthorsSeeded{"1|Ann|1950", "2|Bob|NULL", "3|Cy|1980"};
const Lines kBooksSeeded{"1|1|A1|100", "2|1|A2|NULL", "3|2|B1|300", "4|3|C1|50"};
const Lines kTagRows{"1|fiction", "2|poetry", "3|essay"};

Lines with_header(std::string header, const Lines& rows) {
  Lines out{std::move(header)};
  out.insert(out.end(), rows.begin(), rows.end());
  return out;
}

const std::vector<Effect>& effects() {
  static const std::vector<Effect> list = {
      {"h01", {{"authors", {"id|name|born"}}}, {}},
      {"h02", {{"books", {"id|author_id|title|pages"}}}, {}},
      {"h03", {}, {}},
      {"h04",
       {{"authors", with_header("id|name|born", kAuthorsSeeded)},
        {"books", with_header("id|author_id|title|pages", kBooksSeeded)}},
       {}},
      {"h05",
       {{"reviews",
         {"id|book_id|stars|body", "1|1|5|great", "2|1|3|ok", "3|3|4|NULL", "4|4|2|meh"}}},
       {}},
      {"h06", {}, {}},
      {"h07",
       {{"authors",
         {"id|name|born|email", "1|Ann|1950|ann@example.org", "2|Bob|NULL|bob@example.org",
          "3|Cy|1980|cy@example.org"}}},
       {}},
      {"h08", {}, {}},
      {"h09", {}, {}},
      {"h10", {{"books", with_header("id|author_id|title|page_count", kBooksSeeded)}}, {}},
      {"h11", {}, {}},
      {"h12", {}, {}},
      {"h13",
       {{"tags", with_header("id|label", kTagRows)},
        {"book_tags", {"book_id|tag_id", "1|1", "1|3", "2|1", "3|2", "4|3"}}},
       {}},
      {"h14", {{"labels", with_header("id|label", kTagRows)}}, {"tags"}},
      {"h15", {}, {}},
      {"h16", {}, {}},
      {"h17", {}, {}},
      {"h18", {}, {}},
      {"h19", {}, {}},
      {"h20",
       {{"books",
         {"id|author_id|title|page_count|slug", "1|1|A1|100|a1-1", "2|1|A2|NULL|a2-2",
          "3|2|B1|300|b1-3", "4|3|C1|50|c1-4"}}},
       {}},
      {"h21",
       {{"authors",
         {"id|name|born|email", "1|Ann|1951|ann@example.org", "2|Bob|NULL|bob@example.org",
          "3|Cy|1981|cy@example.org"}}},
       {}},
      {"h22", {}, {}},
      {"h23", {}, {}},
      {"h24",
       {{"authors",
         {"id|full_name|born|email", "1|Ann|1951|ann@example.org", "2|Bob|NULL|bob@example.org",
          "3|Cy|1981|cy@example.org"}}},
       {}},
      {"h25", {}, {}},
      {"h26", {{"books", with_header("id|author_id|title|page_count", kBooksSeeded)}}, {}},
      {"h27", {}, {"book_tags"}},
  };
  return list;
}

// states[i]: the tables after the first i revisions (states[0]: base, no tables).
std::vector<Tables> expected_states() {
  std::vector<Tables> states{Tables{}};
  for (const Effect& e : effects()) {
    Tables next = states.back();
    for (const auto& [table, rows] : e.changed) next[table] = rows;
    for (const auto& table : e.removed) next.erase(table);
    states.push_back(std::move(next));
  }
  return states;
}

// The model after the upgrades of the first `n` revisions of `history`.
schema::MetaData model_after(const migrate::History& history, std::size_t n) {
  schema::MetaData model;
  for (std::size_t i = 0; i < n; ++i)
    for (const auto& step : history.revisions[i].upgrade)
      if (const auto* op = std::get_if<schema::Operation>(&step)) schema::apply(model, *op);
  return model;
}

class MigrateHistoryTest : public testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    db_ = std::make_unique<Database>(config());
  }
  void TearDown() override {
    db_.reset();
    BackendTest::TearDown();
  }

  // Every table of the database (keel_version aside), each row of every column.
  Tables dump() {
    auto lease = db_->connection();
    const Dialect& d = dialect_for(backend());
    Tables out;
    for (const schema::Table& t : schema::reflect(*lease).tables) {
      Lines names, quoted, positions;
      for (std::size_t i = 0; i < t.columns.size(); ++i) {
        names.push_back(t.columns[i].name);
        quoted.push_back(d.quote(t.columns[i].name));
        positions.push_back(std::to_string(i + 1));
      }
      Lines& lines = out[t.name];
      lines.push_back(fmt::format("{}", fmt::join(names, "|")));
      for (const Row& row :
           lease->query(fmt::format("SELECT {} FROM {} ORDER BY {}", fmt::join(quoted, ", "),
                                    d.quote(t.name), fmt::join(positions, ", ")))) {
        Lines values;
        for (std::size_t i = 0; i < row.size(); ++i) values.push_back(row[i].to_display());
        lines.push_back(fmt::format("{}", fmt::join(values, "|")));
      }
    }
    return out;
  }

  // What would make the live schema `expected`, one line per operation (none: equal).
  Lines differences(const schema::MetaData& expected) {
    auto lease = db_->connection();
    Lines out;
    for (const auto& op : schema::diff(schema::reflect(*lease), expected, backend()))
      out.push_back(schema::describe(op));
    return out;
  }

  Lines ids(const migrate::History& h, std::size_t from, std::size_t to) {
    Lines out;
    for (std::size_t i = from; i < to; ++i) out.push_back(h.revisions[i].id);
    return out;
  }

  std::unique_ptr<Database> db_;
};

// The YAML keys of the operation kinds, in schema::Operation's order.
constexpr const char* kKinds[] = {
    "create_table", "drop_table",      "rename_table",     "add_column",
    "drop_column",  "alter_column",    "rename_column",    "create_index",
    "drop_index",   "add_foreign_key", "drop_foreign_key", "add_unique",
    "drop_unique",  "add_check",       "drop_check",       "alter_primary_key"};
static_assert(std::size(kKinds) == std::variant_size_v<schema::Operation>);

// What the steps of `rev` show: operation kinds and the variants of some of them.
void note_variants(const migrate::Revision& rev, std::set<std::string>& seen) {
  for (const auto& step : rev.upgrade) {
    if (const auto* sql = std::get_if<migrate::SqlStep>(&step)) {
      if (sql->sqlite != sql->postgresql) seen.insert("sql per dialect");
      continue;
    }
    const auto& op = std::get<schema::Operation>(step);
    seen.insert(kKinds[op.index()]);
    if (const auto* a = std::get_if<schema::AlterColumn>(&op)) {
      if (a->from.type != a->to.type) seen.insert("alter type");
      if (a->from.nullable && !a->to.nullable) seen.insert("alter to NOT NULL");
      if (a->from.server_default != a->to.server_default) seen.insert("alter default");
    } else if (const auto* ix = std::get_if<schema::CreateIndex>(&op)) {
      seen.insert(ix->index.unique          ? "unique index"
                  : ix->index.where.empty() ? "plain index"
                                            : "partial index");
    } else if (const auto* fk = std::get_if<schema::AddForeignKey>(&op)) {
      if (fk->fk.on_delete == schema::FkAction::cascade) seen.insert("cascading foreign key");
    }
  }
}

TEST_P(MigrateHistoryTest, TheHistoryCoversEveryOperationKindAndItsHeadIsTheSchemaFile) {
  const migrate::History h = migrate::load_history(kMigrations);
  ASSERT_GE(h.revisions.size(), 25u);
  ASSERT_EQ(h.revisions.size(), effects().size());
  std::set<std::string> seen;
  for (std::size_t i = 0; i < h.revisions.size(); ++i) {
    EXPECT_EQ(h.revisions[i].id, effects()[i].revision);
    note_variants(h.revisions[i], seen);
  }
  std::set<std::string> wanted{"sql per dialect", "alter type",           "alter to NOT NULL",
                               "alter default",   "unique index",         "plain index",
                               "partial index",   "cascading foreign key"};
  wanted.insert(std::begin(kKinds), std::end(kKinds));
  EXPECT_EQ(seen, wanted);

  Lines left;
  for (const auto& op : schema::diff(model_after(h, h.revisions.size()),
                                     schema::load_schema_file(kSchemaFile), backend()))
    left.push_back(schema::describe(op));
  EXPECT_EQ(left, Lines{});
}

TEST_P(MigrateHistoryTest, UpOneAtATimeDownToBaseAndUpAgainKeepsEveryRow) {
  const migrate::History h = migrate::load_history(kMigrations);
  const std::size_t n = h.revisions.size();
  const std::vector<Tables> states = expected_states();
  ASSERT_EQ(states.size(), n + 1);

  for (std::size_t i = 1; i <= n; ++i) {
    const std::string& id = h.revisions[i - 1].id;
    ASSERT_EQ(migrate::upgrade(*db_, kMigrations, "+1"), Lines{id});
    EXPECT_EQ(dump(), states[i]) << "after upgrading to " << id;
    EXPECT_EQ(differences(model_after(h, i)), Lines{}) << "after upgrading to " << id;
  }
  EXPECT_EQ(migrate::current(*db_, kMigrations), h.head());
  EXPECT_EQ(differences(schema::load_schema_file(kSchemaFile)), Lines{});

  // Every downgrade puts back what its upgrade changed, rows included.
  for (std::size_t i = n; i >= 1; --i) {
    const std::string& id = h.revisions[i - 1].id;
    ASSERT_EQ(migrate::downgrade(*db_, kMigrations, "-1"), Lines{id});
    EXPECT_EQ(dump(), states[i - 1]) << "after reverting " << id;
    EXPECT_EQ(differences(model_after(h, i - 1)), Lines{}) << "after reverting " << id;
  }
  EXPECT_TRUE(migrate::history(*db_).empty());

  EXPECT_EQ(migrate::upgrade(*db_, kMigrations, "head"), ids(h, 0, n));
  EXPECT_EQ(dump(), states[n]);
  EXPECT_EQ(differences(schema::load_schema_file(kSchemaFile)), Lines{});
  EXPECT_TRUE(migrate::check(*db_, kMigrations).ok);
}

// The children of the parent tables rebuilt on SQLite (authors in h06, h08, h25;
// books in h09, h11) keep every row, counted and compared, however far one jumps.
TEST_P(MigrateHistoryTest, CascadeChildrenSurviveRebuildsOfTheirParents) {
  const migrate::History h = migrate::load_history(kMigrations);
  const std::vector<Tables> states = expected_states();
  ASSERT_EQ(migrate::upgrade(*db_, kMigrations, "h05").size(), 5u);
  const Lines books = states[5].at("books"), reviews = states[5].at("reviews");
  ASSERT_EQ(reviews.size(), 5u);  // the header and four rows

  EXPECT_EQ(migrate::upgrade(*db_, kMigrations, "head"), ids(h, 5, h.revisions.size()));
  EXPECT_EQ(dump().at("reviews"), reviews);
  EXPECT_EQ(dump().at("books"), states.back().at("books"));
  EXPECT_EQ(db_->query_one("SELECT count(*) FROM reviews")->get<std::int64_t>(0), 4);

  EXPECT_EQ(migrate::downgrade(*db_, kMigrations, "h05").size(), h.revisions.size() - 5);
  EXPECT_EQ(dump(), states[5]);
  EXPECT_EQ(dump().at("books"), books);

  // Deleting a parent still cascades after all those rebuilds.
  EXPECT_EQ(migrate::upgrade(*db_, kMigrations, "head").size(), h.revisions.size() - 5);
  db_->execute("DELETE FROM authors WHERE id = 1");
  EXPECT_EQ(dump().at("books"),
            (Lines{"id|author_id|title|page_count", "3|2|B1|300", "4|3|C1|50"}));
  EXPECT_EQ(dump().at("reviews"), (Lines{"id|book_id|stars|body", "3|3|4|NULL", "4|4|2|meh"}));
}

// The offline script of the whole history, run through the connection, gives the
// same schema, history and rows as running the revisions.
TEST_P(MigrateHistoryTest, OfflineScriptOfTheHistoryGivesTheSameDatabase) {
  const std::string script = migrate::upgrade_sql(kMigrations, backend());
  {
    auto lease = db_->connection();
    lease->execute_script(script);
    lease->clear_statement_cache();
  }
  EXPECT_EQ(dump(), expected_states().back());
  EXPECT_EQ(differences(schema::load_schema_file(kSchemaFile)), Lines{});
  EXPECT_TRUE(migrate::check(*db_, kMigrations).ok);

  const std::string back = migrate::downgrade_sql(kMigrations, backend(), "head", "base");
  {
    auto lease = db_->connection();
    lease->execute_script(back);
    lease->clear_statement_cache();
  }
  EXPECT_EQ(dump(), Tables{});
  EXPECT_TRUE(migrate::history(*db_).empty());
}

KEEL_BACKEND_TEST_SUITE(MigrateHistoryTest);

}  // namespace
}  // namespace keel
