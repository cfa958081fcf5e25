// The schema traps of issue 5, one test each: what keel carries exactly, and what it
// refuses or reports by name — never a silent drop.
#include <gtest/gtest.h>

#include "transfer_support.hpp"

namespace keel {
namespace {

class TransferTrapsTest : public testing::TransferTestBase {
 protected:
  std::vector<std::string> target_names(const std::string& sql) const {
    std::vector<std::string> out;
    for (const Row& row : target()->query(sql)) out.push_back(row.get<std::string>(0));
    return out;
  }
};

TEST_F(TransferTrapsTest, TableNameLongerThan63BytesIsRefusedByNameBeforeWriting) {
  const std::string name = "sessions_" + std::string(60, 'x');
  source()->execute_script(fmt::format(
      "CREATE TABLE ok (id INTEGER PRIMARY KEY); CREATE TABLE \"{}\" (id INTEGER PRIMARY KEY);"
      "INSERT INTO ok VALUES (1)",
      name));
  std::string what = refused(options());
  EXPECT_NE(what.find(fmt::format("source table \"{}\"", name)), std::string::npos) << what;
  EXPECT_NE(what.find("69 bytes"), std::string::npos) << what;
  EXPECT_EQ(target_tables(), 0);
}

TEST_F(TransferTrapsTest, ColumnNameLongerThan63BytesIsRefusedByNameBeforeWriting) {
  const std::string column = std::string(64, 'c');
  source()->execute_script(
      fmt::format("CREATE TABLE t (id INTEGER PRIMARY KEY, \"{}\" TEXT)", column));
  std::string what = refused(options());
  EXPECT_NE(what.find(fmt::format("source table \"t\", column \"{}\"", column)), std::string::npos)
      << what;
  EXPECT_EQ(target_tables(), 0);
}

TEST_F(TransferTrapsTest, ReservedWordsQuotesAndMixedCaseAreCarriedExactly) {
  source()->execute_script(
      "CREATE TABLE \"select\" (\"from\" INTEGER PRIMARY KEY, \"Mixed Case\" TEXT, "
      "\"quo\"\"te\" TEXT, \"user\" TEXT NOT NULL);"
      "CREATE TABLE \"Order Items\" (id INTEGER PRIMARY KEY, \"select_from\" INTEGER "
      "REFERENCES \"select\"(\"from\"));"
      "INSERT INTO \"select\" VALUES (1, 'a', 'b''c', 'root'), (2, NULL, NULL, 'x');"
      "INSERT INTO \"Order Items\" VALUES (10, 1), (11, 2)");
  transfer::Report r = transfer::transfer(options());
  EXPECT_EQ(r.rows, 4);
  EXPECT_EQ(target_names("SELECT tablename::text FROM pg_catalog.pg_tables WHERE schemaname = "
                         "current_schema() ORDER BY 1"),
            (std::vector<std::string>{"Order Items", "select"}));
  EXPECT_EQ(target_names("SELECT column_name::text FROM information_schema.columns WHERE "
                         "table_schema = current_schema() AND table_name = 'select' ORDER BY "
                         "ordinal_position"),
            (std::vector<std::string>{"from", "Mixed Case", "quo\"te", "user"}));
  auto t = target();
  auto row = t->query_one(
      "SELECT \"Mixed Case\", \"quo\"\"te\", \"user\" FROM \"select\" WHERE \"from\" = 1");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->get<std::string>(0), "a");
  EXPECT_EQ(row->get<std::string>(1), "b'c");
  EXPECT_EQ(row->get<std::string>(2), "root");
  EXPECT_EQ(t->query_one("SELECT count(*) FROM \"Order Items\" o JOIN \"select\" s ON "
                         "s.\"from\" = o.select_from")
                ->get<std::int64_t>(0),
            2);
}

TEST_F(TransferTrapsTest, NocaseUniquenessIsCarriedAsUniqueLowerAsciiIndex) {
  source()->execute_script(
      "CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT COLLATE NOCASE UNIQUE, "
      "name TEXT);"
      // NOCASE folds ASCII only: É and é are two accounts on SQLite, and must stay so.
      "INSERT INTO accounts VALUES (1, 'Ann@Example.org', 'É'), (2, 'bob@example.org', 'é'),"
      "(3, 'É@example.org', NULL), (4, 'é@example.org', NULL)");
  transfer::Report r = transfer::transfer(options());
  EXPECT_EQ(expect_same_rows(), 4);
  std::string notes = fmt::format("{}", fmt::join(r.notes, "\n"));
  EXPECT_NE(notes.find("COLLATE NOCASE"), std::string::npos) << notes;
  EXPECT_TRUE(r.not_carried.empty());
  auto t = target();
  EXPECT_THROW(t->execute("INSERT INTO accounts (id, email) VALUES (5, 'ANN@example.ORG')"),
               ConstraintError);
  t->execute("INSERT INTO accounts (id, email) VALUES (6, 'carl@example.org')");
}

TEST_F(TransferTrapsTest, OtherCollationOnAUniqueKeyIsRefusedByNameUnlessAllowed) {
  source()->execute_script(
      "CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT COLLATE RTRIM UNIQUE);"
      "INSERT INTO tags VALUES (1, 'a')");
  std::string what = refused(options());
  EXPECT_NE(what.find("on tags (label)"), std::string::npos) << what;
  EXPECT_EQ(target_tables(), 0);
}

TEST_F(TransferTrapsTest, CheckConstraintsAreCarriedAndEnforced) {
  source()->execute_script(
      "CREATE TABLE stock (id INTEGER PRIMARY KEY, qty INTEGER CHECK (qty >= 0), "
      "lo INTEGER, hi INTEGER, CONSTRAINT stock_range CHECK (lo <= hi));"
      "INSERT INTO stock VALUES (1, 5, 1, 2)");
  transfer::transfer(options());
  auto t = target();
  EXPECT_THROW(t->execute("INSERT INTO stock VALUES (2, -1, 1, 2)"), ConstraintError);
  EXPECT_THROW(t->execute("INSERT INTO stock VALUES (3, 1, 5, 2)"), ConstraintError);
  EXPECT_EQ(target_names("SELECT conname::text FROM pg_catalog.pg_constraint WHERE contype = 'c' "
                         "AND conrelid = 'stock'::regclass ORDER BY 1"),
            (std::vector<std::string>{"stock_qty_check", "stock_range"}));
}

TEST_F(TransferTrapsTest, PartialIndexIsCarriedWithItsPredicate) {
  source()->execute_script(
      "CREATE TABLE jobs (id INTEGER PRIMARY KEY, due TEXT, done_at TEXT);"
      "CREATE INDEX ix_jobs_open ON jobs (due) WHERE done_at IS NULL;"
      "CREATE UNIQUE INDEX ux_jobs_due ON jobs (due) WHERE done_at IS NULL AND due > '2024';"
      "INSERT INTO jobs VALUES (1, '2024-01-01', NULL), (2, '2024-01-01', '2024-01-02')");
  transfer::transfer(options());
  auto defs = target_names(
      "SELECT indexdef::text FROM pg_catalog.pg_indexes WHERE schemaname = current_schema() AND "
      "tablename = 'jobs' AND indexname <> 'jobs_pkey' ORDER BY indexname");
  ASSERT_EQ(defs.size(), 2u);
  EXPECT_NE(defs[0].find("WHERE (done_at IS NULL)"), std::string::npos) << defs[0];
  EXPECT_NE(defs[1].find("UNIQUE"), std::string::npos) << defs[1];
  EXPECT_NE(defs[1].find("WHERE"), std::string::npos) << defs[1];
}

TEST_F(TransferTrapsTest, ObjectsTheTargetCannotGetAreRefusedByNameUnlessAllowed) {
  source()->execute_script(
      "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price REAL, qty INTEGER, "
      "total REAL GENERATED ALWAYS AS (price * qty) STORED);"
      "CREATE INDEX ix_items_lower_name ON items (lower(name));"
      "CREATE VIEW cheap_items AS SELECT * FROM items WHERE price < 10;"
      "CREATE TABLE audit (id INTEGER PRIMARY KEY, item_id INTEGER);"
      "CREATE TRIGGER items_audit AFTER INSERT ON items BEGIN INSERT INTO audit (item_id) "
      "VALUES (new.id); END;"
      "INSERT INTO items (id, name, price, qty) VALUES (1, 'pen', 1.5, 4), (2, 'ink', 20, 1)");
  std::string what = refused(options());
  for (const char* name : {"view cheap_items", "trigger items_audit", "index ix_items_lower_name",
                           "items.total", "--allow-missing-objects"})
    EXPECT_NE(what.find(name), std::string::npos) << name << " not in: " << what;
  EXPECT_EQ(target_tables(), 0);

  transfer::Options o = options();
  o.allow_missing_objects = true;
  transfer::Report r = transfer::transfer(o);
  std::string listed = fmt::format("{}", fmt::join(r.not_carried, "\n"));
  for (const char* name : {"view cheap_items", "trigger items_audit", "index ix_items_lower_name",
                           "items.total"})
    EXPECT_NE(listed.find(name), std::string::npos) << name << " not in: " << listed;
  EXPECT_NE(r.to_json().find("\"not_carried\""), std::string::npos);
  EXPECT_EQ(r.rows, 4);  // items 2, audit 2
  EXPECT_EQ(expect_same_rows(), 4);
}

TEST_F(TransferTrapsTest, EnumAndYearColumnsCarryTheirValuesExactly) {
  // Sakila's MySQL types as SQLite keeps them: NUMERIC affinity, the labels as text.
  source()->execute_script(
      "CREATE TABLE film (id INTEGER PRIMARY KEY, rating ENUM DEFAULT 'G', "
      "release_year YEAR);"
      "INSERT INTO film (id, rating, release_year) VALUES (1, 'PG', 2006), (2, 'NC-17', NULL);"
      "INSERT INTO film (id, release_year) VALUES (3, 1999)");
  transfer::transfer(options());
  EXPECT_EQ(expect_same_rows(), 3);
  EXPECT_EQ(target_names("SELECT data_type::text FROM information_schema.columns WHERE "
                         "table_schema = current_schema() AND table_name = 'film' ORDER BY "
                         "ordinal_position"),
            (std::vector<std::string>{"bigint", "text", "integer"}));
  EXPECT_EQ(target()->query_one("SELECT rating FROM film WHERE id = 3")->get<std::string>(0), "G");
}

}  // namespace
}  // namespace keel
