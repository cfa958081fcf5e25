// Connection::bulk_insert on each backend: exact round trips of every portable
// type, a large stream, transactions, errors mid-load and abandoned writers.
#include <gmock/gmock.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "support/backend_test.hpp"

namespace keel {
namespace {

using namespace std::chrono;
using ::testing::HasSubstr;

class BulkTest : public testing::BackendTest {
 protected:
  std::int64_t count(Connection& c, std::string_view table = "items") {
    return c.query_one(fmt::format("SELECT count(*) AS n FROM {}", table))->get<std::int64_t>("n");
  }
  // items (id, name, value): the narrow table of the benchmark.
  void make_items(Connection& c) {
    c.execute_script(is_sqlite() ? "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT "
                                   "NULL, value REAL)"
                                 : "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT "
                                   "NULL, value double precision)");
  }
};

TEST_P(BulkTest, EveryPortableTypeRoundTripsExactly) {
  auto c = connect();
  c->execute_script(is_sqlite() ? "CREATE TABLE v (id INTEGER PRIMARY KEY, big INTEGER, "
                                  "mid INTEGER, small INTEGER, r REAL, t TEXT, b BLOB, flag "
                                  "INTEGER, n TEXT, d TEXT, ts TEXT, j TEXT, u TEXT)"
                                : "CREATE TABLE v (id integer PRIMARY KEY, big bigint, mid "
                                  "integer, small smallint, r double precision, t text, b bytea, "
                                  "flag boolean, n numeric, d date, ts timestamptz, j jsonb, "
                                  "u uuid)");
  const Timestamp ts1 = sys_days{2024y / February / 29} + 13h + 14min + 15s + 123456us;
  const Timestamp ts2 = sys_days{1999y / December / 31} + 23h + 59min + 59s + 999999us;
  const std::string utf8 = "h\xC3\xA9llo w\xC3\xB6rld \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC";
  const std::string uuid = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
  const std::string many_digits = "12345678901234567890.123456789012345678900";
  {
    auto w = c->bulk_insert("v", {"id", "big", "mid", "small", "r", "t", "b", "flag", "n", "d",
                                  "ts", "j", "u"});
    w->add({1, std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int32_t>::max(),
            std::numeric_limits<std::int16_t>::max(), 0.1, utf8, Blob{0, 1, 0, 255}, true,
            Decimal{many_digits}, Date{2024y / February / 29}, ts1, Json{R"({"a": [1, 2]})"},
            uuid});
    w->add({2, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int32_t>::min(),
            std::numeric_limits<std::int16_t>::min(), 1e308, "", Blob{}, false,
            Decimal{"-0.000001"}, Date{1970y / January / 1}, ts2, Json{"[]"}, uuid});
    w->add({3, 0, 0, 0, -0.0, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
            nullptr});
    EXPECT_EQ(w->finish(), 3);
  }
  auto rows = c->query("SELECT * FROM v ORDER BY id").all();
  ASSERT_EQ(rows.size(), 3u);
  const Row& a = rows[0];
  EXPECT_EQ(a.get<std::int64_t>("big"), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(a.get<std::int32_t>("mid"), std::numeric_limits<std::int32_t>::max());
  EXPECT_EQ(a.get<std::int16_t>("small"), std::numeric_limits<std::int16_t>::max());
  EXPECT_EQ(a.get<double>("r"), 0.1);
  EXPECT_EQ(a.get<std::string>("t"), utf8);
  EXPECT_EQ(a.get<Blob>("b"), (Blob{0, 1, 0, 255}));
  EXPECT_TRUE(a.get<bool>("flag"));
  EXPECT_EQ(a.get<Decimal>("n").text, many_digits);
  EXPECT_EQ(a.get<Date>("d"), Date{2024y / February / 29});
  EXPECT_EQ(a.get<Timestamp>("ts"), ts1);
  EXPECT_EQ(a.get<Json>("j").text, R"({"a": [1, 2]})");
  EXPECT_EQ(a.get<std::string>("u"), uuid);

  const Row& b = rows[1];
  EXPECT_EQ(b.get<std::int64_t>("big"), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(b.get<std::int32_t>("mid"), std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(b.get<std::int16_t>("small"), std::numeric_limits<std::int16_t>::min());
  EXPECT_EQ(b.get<double>("r"), 1e308);
  EXPECT_EQ(b.get<std::optional<std::string>>("t"), std::optional<std::string>(""));
  EXPECT_EQ(b.get<std::optional<Blob>>("b"), std::optional<Blob>(Blob{}));
  EXPECT_FALSE(b.get<bool>("flag"));
  EXPECT_EQ(b.get<Decimal>("n").text, "-0.000001");
  EXPECT_EQ(b.get<Date>("d"), Date{1970y / January / 1});
  EXPECT_EQ(b.get<Timestamp>("ts"), ts2);
  EXPECT_EQ(b.get<Json>("j").text, "[]");

  const Row& z = rows[2];
  EXPECT_EQ(z.get<std::int64_t>("big"), 0);
  EXPECT_EQ(z.get<double>("r"), 0.0);
  for (std::string_view column : {"t", "b", "flag", "n", "d", "ts", "j", "u"})
    EXPECT_TRUE(z[column].is_null()) << column;
}

TEST_P(BulkTest, NegativeZeroKeepsItsSign) {
  auto c = connect();
  c->execute_script("CREATE TABLE r (x double precision)");
  auto w = c->bulk_insert("r", {"x"});
  w->add({-0.0});
  w->finish();
  // SQLite stores a REAL that is a whole number as an integer, which has no -0;
  // what it reads back is what an INSERT would have stored.
  double x = c->query_one("SELECT x FROM r")->get<double>(0);
  EXPECT_EQ(x, 0.0);
  if (is_postgresql()) {
    EXPECT_TRUE(std::signbit(x));
  } else {
    c->execute("DELETE FROM r");
    c->execute("INSERT INTO r (x) VALUES (?)", {-0.0});
    EXPECT_EQ(std::signbit(c->query_one("SELECT x FROM r")->get<double>(0)), std::signbit(x));
  }
}

TEST_P(BulkTest, HundredThousandRowsStreamIntoTheTable) {
  auto c = connect();
  make_items(*c);
  constexpr std::int64_t kRows = 100000;
  auto w = c->bulk_insert("items", {"id", "name", "value"});
  std::vector<Value> row(3);
  std::int64_t name_bytes = 0;
  for (std::int64_t i = 1; i <= kRows; ++i) {
    std::string name = fmt::format("name-{:08}", i * 7919 % kRows);
    name_bytes += static_cast<std::int64_t>(name.size());
    row[0] = i;
    row[1] = std::move(name);
    row[2] = static_cast<double>(i) * 0.5;
    w->add(row);
  }
  EXPECT_EQ(w->finish(), kRows);
  auto sums = c->query_one(
      "SELECT count(*) AS n, sum(id) AS ids, sum(length(name)) AS bytes, sum(value) AS total "
      "FROM items");
  EXPECT_EQ(sums->get<std::int64_t>("n"), kRows);
  EXPECT_EQ(sums->get<std::int64_t>("ids"), kRows * (kRows + 1) / 2);
  EXPECT_EQ(sums->get<std::int64_t>("bytes"), name_bytes);
  EXPECT_EQ(sums->get<double>("total"), static_cast<double>(kRows * (kRows + 1) / 2) * 0.5);
  EXPECT_EQ(c->transaction_depth(), 0);
}

TEST_P(BulkTest, LoadInsideAnOuterTransactionThatRollsBackLeavesNothing) {
  auto c = connect();
  make_items(*c);
  c->begin();
  auto w = c->bulk_insert("items", {"id", "name"});
  for (int i = 1; i <= 10; ++i) w->add({i, fmt::format("n{}", i)});
  EXPECT_EQ(w->finish(), 10);
  EXPECT_EQ(count(*c), 10);  // visible inside the transaction
  c->rollback();
  EXPECT_EQ(count(*c), 0);
  EXPECT_EQ(count(*connect()), 0);
}

TEST_P(BulkTest, DuplicateKeyMidLoadNamesTableAndRowAndLeavesTableUnchanged) {
  auto c = connect();
  make_items(*c);
  c->execute("INSERT INTO items (id, name) VALUES (?, ?)", {100, "already here"});
  std::string message;
  try {
    auto w = c->bulk_insert("items", {"id", "name"});
    for (int i = 1; i <= 300; ++i) w->add({i, fmt::format("n{}", i)});
    w->finish();
    ADD_FAILURE() << "the duplicate key went unnoticed";
  } catch (const ConstraintError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unique_violation);
    message = e.what();
  }
  EXPECT_THAT(message, HasSubstr("\"items\""));
  EXPECT_THAT(message, HasSubstr("row 100"));
  EXPECT_EQ(count(*c), 1);
  EXPECT_EQ(c->transaction_depth(), 0);
  EXPECT_FALSE(c->in_transaction());
  EXPECT_EQ(c->execute("INSERT INTO items (id, name) VALUES (?, ?)", {101, "after"}), 1);
}

TEST_P(BulkTest, ValueOutsideSmallintNamesTableColumnAndRow) {
  auto c = connect();
  // SQLite has no smallint; a CHECK is how a schema would hold it to the range.
  c->execute_script(is_sqlite() ? "CREATE TABLE s (id INTEGER PRIMARY KEY, small INTEGER "
                                  "CHECK (small BETWEEN -32768 AND 32767))"
                                : "CREATE TABLE s (id integer PRIMARY KEY, small smallint)");
  c->execute("INSERT INTO s (id, small) VALUES (?, ?)", {100, 1});
  c->begin();
  std::string message;
  try {
    auto w = c->bulk_insert("s", {"id", "small"});
    w->add({1, 32767});
    w->add({2, -32768});
    w->add({3, 40000});
    w->finish();
    ADD_FAILURE() << "40000 went into a smallint";
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_THAT(message, HasSubstr("\"s\""));
  EXPECT_THAT(message, HasSubstr("row 3"));
  EXPECT_THAT(message, HasSubstr("small"));
  // Only the load is undone: the outer transaction goes on.
  EXPECT_EQ(c->transaction_depth(), 1);
  EXPECT_EQ(count(*c, "s"), 1);
  c->execute("INSERT INTO s (id, small) VALUES (?, ?)", {101, 2});
  c->commit();
  EXPECT_EQ(count(*c, "s"), 2);
}

TEST_P(BulkTest, AbandonedWriterRollsBackAndLeavesTheConnectionUsable) {
  auto c = connect();
  make_items(*c);
  {
    auto w = c->bulk_insert("items", {"id", "name"});
    for (int i = 1; i <= 1000; ++i) w->add({i, "x"});
  }
  EXPECT_EQ(c->transaction_depth(), 0);
  EXPECT_FALSE(c->in_transaction());
  EXPECT_EQ(count(*c), 0);

  c->begin();
  c->execute("INSERT INTO items (id, name) VALUES (?, ?)", {1, "kept"});
  {
    auto w = c->bulk_insert("items", {"id", "name"});
    for (int i = 2; i <= 1000; ++i) w->add({i, "x"});
  }
  EXPECT_EQ(c->transaction_depth(), 1);
  EXPECT_EQ(count(*c), 1);
  c->rollback();
  EXPECT_EQ(count(*c), 0);
  EXPECT_TRUE(c->ping());
  EXPECT_EQ(c->execute("INSERT INTO items (id, name) VALUES (?, ?)", {1, "again"}), 1);
}

TEST_P(BulkTest, MissingTableIsAnErrorAndStartsNothing) {
  auto c = connect();
  try {
    c->bulk_insert("no_such_table", {"a"});
    ADD_FAILURE() << "no error";
  } catch (const SqlError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::undefined_object);
    EXPECT_THAT(e.what(), HasSubstr("no_such_table"));
  }
  EXPECT_EQ(c->transaction_depth(), 0);
  EXPECT_FALSE(c->in_transaction());
  EXPECT_TRUE(c->ping());
}

TEST_P(BulkTest, RowWithTheWrongNumberOfValuesIsRefusedBeforeAnythingIsSent) {
  auto c = connect();
  make_items(*c);
  auto w = c->bulk_insert("items", {"id", "name"});
  w->add({1, "one"});
  EXPECT_THROW(w->add({2}), UsageError);
  w->add({2, "two"});
  EXPECT_EQ(w->finish(), 2);
  EXPECT_EQ(count(*c), 2);
  EXPECT_THROW(w->add({3, "three"}), UsageError);
}

TEST_P(BulkTest, QuotedNamesAreNeverSplicedRaw) {
  auto c = connect();
  c->execute_script(R"(CREATE TABLE "odd ""table""" ("select" integer, "we""ird col" text))");
  auto w = c->bulk_insert("odd \"table\"", {"select", "we\"ird col"});
  w->add({1, "a"});
  EXPECT_EQ(w->finish(), 1);
  auto row = c->query_one(R"(SELECT "select", "we""ird col" FROM "odd ""table""")");
  EXPECT_EQ(row->get<std::int64_t>(0), 1);
  EXPECT_EQ(row->get<std::string>(1), "a");
}

// PostgreSQL's time has no binary encoder in keel, so the load goes in COPY's
// text format: escapes, NULL and bytea must survive it as in binary.
TEST_P(BulkTest, ColumnWithoutBinaryEncoderLoadsThroughTextFormat) {
  auto c = connect();
  c->execute_script(is_sqlite() ? "CREATE TABLE tt (at TEXT, t TEXT, b BLOB, n INTEGER)"
                                : "CREATE TABLE tt (at time, t text, b bytea, n bigint)");
  const std::string tricky = "tab\there\nnew line \\N back\\slash \r end";
  auto w = c->bulk_insert("tt", {"at", "t", "b", "n"});
  w->add({"12:34:56.5", tricky, Blob{0, '\\', '\t', 200}, 7});
  w->add({nullptr, "\\N", nullptr, nullptr});
  EXPECT_EQ(w->finish(), 2);
  auto rows = c->query("SELECT at, t, b, n FROM tt ORDER BY t DESC").all();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].get<std::string>("at"), "12:34:56.5");
  EXPECT_EQ(rows[0].get<std::string>("t"), tricky);
  EXPECT_EQ(rows[0].get<Blob>("b"), (Blob{0, '\\', '\t', 200}));
  EXPECT_EQ(rows[0].get<std::int64_t>("n"), 7);
  EXPECT_TRUE(rows[1]["at"].is_null());
  EXPECT_EQ(rows[1].get<std::string>("t"), "\\N");
  EXPECT_TRUE(rows[1]["b"].is_null());
}

KEEL_BACKEND_TEST_SUITE(BulkTest);

}  // namespace
}  // namespace keel
