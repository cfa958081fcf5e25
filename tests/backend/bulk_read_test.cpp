// Connection::bulk_read on each backend: the same Values query() gives for every
// type and edge value, large results, errors, and readers abandoned half-way.
#include <gmock/gmock.h>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "support/backend_test.hpp"

namespace keel {
namespace {

using ::testing::HasSubstr;

class BulkReadTest : public testing::BackendTest {
 protected:
  // Every row of `sql` as query() and as bulk_read() read them, each compared
  // value by value.
  void expect_same_as_query(Connection& c, const std::string& sql) {
    std::vector<Row> expected = c.query(sql).all();
    std::vector<Row> got = c.bulk_read(sql).all();
    ASSERT_EQ(got.size(), expected.size()) << sql;
    for (std::size_t r = 0; r < got.size(); ++r) {
      ASSERT_EQ(got[r].size(), expected[r].size());
      for (std::size_t i = 0; i < got[r].size(); ++i)
        EXPECT_TRUE(got[r][i] == expected[r][i] ||
                    (got[r][i].to_display() == "nan" && expected[r][i].to_display() == "nan"))
            << "row " << r << " column " << i << ": " << got[r][i].to_display() << " vs "
            << expected[r][i].to_display();
      EXPECT_EQ(*got[r].names(), *expected[r].names());
    }
  }
};

TEST_P(BulkReadTest, EveryTypeAndEdgeValueReadsAsQueryReadsIt) {
  auto c = connect();
  if (is_sqlite()) {
    c->execute_script(
        "CREATE TABLE v (id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB);"
        "INSERT INTO v VALUES (1, 9223372036854775807, 0.1, 'h\xC3\xA9llo', x'00ff'),"
        "(2, -9223372036854775808, -0.0, '', x''), (3, NULL, NULL, NULL, NULL);");
  } else {
    c->execute_script(
        "CREATE TABLE v (id integer PRIMARY KEY, big bigint, mid integer, small smallint, "
        "f4 real, f8 double precision, n numeric, n2 numeric(12,4), t text, vc varchar(10), "
        "ch char(3), b bytea, flag boolean, d date, ts timestamp, tz timestamptz, j json, "
        "jb jsonb, u uuid, o oid);"
        "INSERT INTO v VALUES "
        "(1, 9223372036854775807, 2147483647, 32767, 0.1, 0.1, 12345678901234567890.1234567890, "
        " 1.5, 'h\xC3\xA9llo', 'abc', 'x', '\\x00ff', true, '2024-02-29', "
        " '2024-02-29 13:14:15.123456', '1999-12-31 23:59:59.999999+00', "
        " '{\"b\": 1,  \"a\": [1.50, 1e2]}', '{\"b\": 1, \"aa\": \"\\n\", \"a\": null}', "
        " 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 4000000000),"
        "(2, -9223372036854775808, -2147483648, -32768, '-Infinity', 'NaN', 'NaN', -0.0001, "
        " '', '', '', '', false, 'infinity', '-infinity', 'infinity', '[]', '[]', "
        " '00000000-0000-0000-0000-000000000000', 0),"
        "(3, 0, 0, 0, 3.4e38, -0.0, -0.000001, 0, 'tab\there', NULL, NULL, NULL, NULL, "
        " '0044-03-15 BC', '10000-01-01 00:00:00', '0001-01-01 00:00:00.5+00 BC', "
        " '\"\\u00e9\"', '12.50', NULL, NULL),"
        "(4, NULL, NULL, NULL, NULL, NULL, 100000000, NULL, NULL, NULL, NULL, NULL, NULL, "
        " '1970-01-01', '1970-01-01 00:00:00', '1969-12-31 23:59:59.000001+00', NULL, NULL, "
        " NULL, NULL);");
  }
  expect_same_as_query(*c, "SELECT * FROM v ORDER BY id");
}

TEST_P(BulkReadTest, LargeResultStreamsEveryRowOnce) {
  auto c = connect();
  c->execute_script(is_sqlite() ? "CREATE TABLE n (id INTEGER PRIMARY KEY, s TEXT)"
                                : "CREATE TABLE n (id bigint PRIMARY KEY, s text)");
  {
    auto w = c->bulk_insert("n", {"id", "s"});
    for (std::int64_t i = 1; i <= 50000; ++i) w->add({i, fmt::format("row {}", i)});
    w->finish();
  }
  std::int64_t rows = 0, sum = 0;
  Rows r = c->bulk_read("SELECT id, s FROM n");
  while (r.next()) {
    ++rows;
    sum += r.row().get<std::int64_t>("id");
    EXPECT_EQ(r.row().get<std::string>("s"), fmt::format("row {}", r.row().get<std::int64_t>(0)));
  }
  EXPECT_EQ(rows, 50000);
  EXPECT_EQ(sum, std::int64_t{50000} * 50001 / 2);
  EXPECT_EQ(c->query_one("SELECT count(*) FROM n")->get<std::int64_t>(0), 50000);
}

TEST_P(BulkReadTest, TypeWithoutABinaryDecoderStillReadsAsQueryReadsIt) {
  auto c = connect();
  c->execute_script(is_sqlite()
                        ? "CREATE TABLE w (id INTEGER PRIMARY KEY, at TEXT);"
                          "INSERT INTO w VALUES (1, '12:34:56.5'), (2, NULL)"
                        : "CREATE TABLE w (id integer PRIMARY KEY, at time, iv interval, "
                          "ip inet); INSERT INTO w VALUES (1, '12:34:56.5', '1 day', "
                          "'10.0.0.1'), (2, NULL, NULL, NULL)");
  expect_same_as_query(*c, "SELECT * FROM w ORDER BY id");
}

TEST_P(BulkReadTest, BadSqlIsAnErrorNamingItAndTheConnectionStaysUsable) {
  auto c = connect();
  try {
    c->bulk_read("SELECT nope FROM missing_table").all();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("missing_table"));
  }
  EXPECT_EQ(c->query_one("SELECT 1")->get<std::int64_t>(0), 1);
}

TEST_P(BulkReadTest, AbandonedHalfWayInsideATransactionKeepsTheTransaction) {
  auto c = connect();
  c->execute_script(is_sqlite() ? "CREATE TABLE n (id INTEGER PRIMARY KEY)"
                                : "CREATE TABLE n (id bigint PRIMARY KEY)");
  c->transaction([&] {
    {
      auto w = c->bulk_insert("n", {"id"});
      for (std::int64_t i = 1; i <= 20000; ++i) w->add({i});
      w->finish();
    }
    {
      Rows r = c->bulk_read("SELECT id FROM n");
      ASSERT_TRUE(r.next());
    }  // dropped after one row
    c->execute("INSERT INTO n (id) VALUES (?)", {0});
  });
  EXPECT_EQ(c->query_one("SELECT count(*) FROM n")->get<std::int64_t>(0), 20001);
}

TEST_P(BulkReadTest, AbandonedHalfWayOutsideATransactionLeavesTheConnectionUsable) {
  auto c = connect();
  c->execute_script(is_sqlite() ? "CREATE TABLE n (id INTEGER PRIMARY KEY)"
                                : "CREATE TABLE n (id bigint PRIMARY KEY)");
  {
    auto w = c->bulk_insert("n", {"id"});
    for (std::int64_t i = 1; i <= 20000; ++i) w->add({i});
    w->finish();
  }
  {
    Rows r = c->bulk_read("SELECT id FROM n");
    ASSERT_TRUE(r.next());
  }
  EXPECT_EQ(c->query_one("SELECT count(*) FROM n")->get<std::int64_t>(0), 20000);
  EXPECT_FALSE(c->in_transaction());
}

// PostgreSQL's connection is in the COPY until the rows are read: another statement
// is refused, naming the read. SQLite reads in-process and serves it meanwhile.
TEST_P(BulkReadTest, StatementWhileABulkReadIsOpenIsRefusedOnlyWhereTheConnectionIsBusy) {
  auto c = connect();
  c->execute_script(is_sqlite() ? "CREATE TABLE n (id INTEGER PRIMARY KEY)"
                                : "CREATE TABLE n (id bigint PRIMARY KEY)");
  c->execute("INSERT INTO n (id) VALUES (1), (2)");
  Rows r = c->bulk_read("SELECT id FROM n ORDER BY id");
  ASSERT_TRUE(r.next());
  if (is_postgresql()) {
    try {
      c->query_one("SELECT 1");
      FAIL() << "expected a UsageError";
    } catch (const UsageError& e) {
      EXPECT_THAT(e.what(), HasSubstr("a bulk read (COPY (SELECT id FROM n ORDER BY id)"));
    }
  } else {
    EXPECT_EQ(c->query_one("SELECT 1")->get<std::int64_t>(0), 1);
  }
  ASSERT_TRUE(r.next());
  EXPECT_EQ(r.row().get<std::int64_t>(0), 2);
  EXPECT_FALSE(r.next());
  EXPECT_EQ(c->query_one("SELECT count(*) FROM n")->get<std::int64_t>(0), 2);
}

KEEL_BACKEND_TEST_SUITE(BulkReadTest);

}  // namespace
}  // namespace keel
