// Connection::query_all() on each backend: the rows query().all() gives, read in one
// piece, with errors and the connection's other statements behaving as for query().
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "support/backend_test.hpp"

namespace keel {
namespace {

class QueryAllTest : public testing::BackendTest {
 protected:
  // `t (id integer key, name text, score real)` with rows 1..n; every third name
  // and score NULL.
  std::unique_ptr<Connection> with_rows(int n) {
    auto c = connect();
    c->execute_script(fmt::format("CREATE TABLE t (id {} PRIMARY KEY, name text, score {})",
                                  is_sqlite() ? "INTEGER" : "bigint",
                                  is_sqlite() ? "REAL" : "double precision"));
    c->transaction([&] {
      for (int i = 1; i <= n; ++i) {
        if (i % 3 == 0)
          c->execute("INSERT INTO t (id, name, score) VALUES (?, NULL, NULL)", {i});
        else
          c->execute("INSERT INTO t (id, name, score) VALUES (?, ?, ?)",
                     {i, fmt::format("item-{}", i), i * 0.5});
      }
    });
    return c;
  }
};

TEST_P(QueryAllTest, ReturnsTheRowsAndColumnsQueryStreams) {
  auto c = with_rows(250);
  const char* sql = "SELECT id, name, score FROM t WHERE id >= ? AND id < ? ORDER BY id";
  std::vector<Row> all = c->query_all(sql, {10, 210});
  std::vector<Row> streamed = c->query(sql, {10, 210}).all();
  ASSERT_EQ(all.size(), 200u);
  ASSERT_EQ(streamed.size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].size(), 3u);
    EXPECT_EQ(all[i].name(1), "name");
    EXPECT_EQ(all[i].values(), streamed[i].values()) << "row " << i;
  }
  EXPECT_EQ(all[0].get<std::int64_t>("id"), 10);
  EXPECT_EQ(all[0].get<std::string>("name"), "item-10");
  EXPECT_EQ(all[0].get<double>("score"), 5.0);
  EXPECT_EQ(all[2].get<std::int64_t>("id"), 12);
  EXPECT_FALSE(all[2].get<std::optional<std::string>>("name"));
  EXPECT_FALSE(all[2].get<std::optional<double>>("score"));
  // Named parameters and an empty result work alike.
  EXPECT_EQ(c->query_all("SELECT id FROM t WHERE id = :id", Named{{"id", 7}}).at(0).get<int>(0),
            7);
  EXPECT_TRUE(c->query_all("SELECT id FROM t WHERE id < 0").empty());
}

TEST_P(QueryAllTest, RowsOutliveTheConnection) {
  std::vector<Row> rows;
  {
    auto c = with_rows(5);
    rows = c->query_all("SELECT id, name FROM t ORDER BY id");
  }
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[4].get<std::string>("name"), "item-5");
}

TEST_P(QueryAllTest, RunsWhileAStreamedQueryIsOpenWhichStillReadsEveryRow) {
  auto c = with_rows(30);
  std::int64_t sum = 0;
  int seen = 0;
  for (const Row& row : c->query("SELECT id FROM t ORDER BY id")) {
    sum += row.get<std::int64_t>("id");
    if (++seen == 2) {
      EXPECT_EQ(c->query_all("SELECT id FROM t WHERE id > ?", {25}).size(), 5u);
    }
  }
  EXPECT_EQ(seen, 30);
  EXPECT_EQ(sum, 30 * 31 / 2);
}

TEST_P(QueryAllTest, AStatementWithoutRowsRunsAndGivesNone) {
  auto c = with_rows(6);
  EXPECT_TRUE(c->query_all("UPDATE t SET name = ? WHERE id <= ?", {"changed", 2}).empty());
  EXPECT_EQ(c->query_one("SELECT count(*) FROM t WHERE name = ?", {"changed"})->get<int>(0), 2);
  auto returned = c->query_all("DELETE FROM t WHERE id > ? RETURNING id", {4});
  ASSERT_EQ(returned.size(), 2u);
  EXPECT_EQ(c->query_one("SELECT count(*) FROM t")->get<int>(0), 4);
}

TEST_P(QueryAllTest, ErrorsAreThrownAndLeaveTheConnectionUsable) {
  auto c = with_rows(6);
  EXPECT_THROW(c->query_all("SELECT nope FROM t"), SqlError);
  EXPECT_THROW(c->query_all("INSERT INTO t (id) VALUES (?) RETURNING id", {1}), ConstraintError);
  // Fails on the fourth row, after the server has sent three: no partial result.
  const char* failing = is_sqlite() ? "SELECT id, abs(CASE WHEN id = 4 THEN -9223372036854775807 - 1 "
                                      "ELSE id END) FROM t ORDER BY id"
                                    : "SELECT id, 1 / (id - 4) FROM t ORDER BY id";
  EXPECT_THROW(c->query_all(failing), DatabaseError);
  EXPECT_THROW(c->query_all("SELECT 1; SELECT 2"), UsageError);
  EXPECT_EQ(c->query_all("SELECT id FROM t ORDER BY id").size(), 6u);
}

TEST_P(QueryAllTest, InsideATransactionSeesItsOwnWrites) {
  auto c = with_rows(3);
  c->transaction([&] {
    c->execute("INSERT INTO t (id, name, score) VALUES (?, ?, ?)", {100, "new", 1.5});
    auto rows = c->query_all("SELECT score FROM t WHERE id = ?", {100});
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].get<double>(0), 1.5);
  });
  EXPECT_EQ(c->transaction_depth(), 0);
}

KEEL_BACKEND_TEST_SUITE(QueryAllTest);

}  // namespace
}  // namespace keel
