// Upserts and now_utc() as rendered by the dialect, run on each backend.
#include <chrono>
#include <string>

#include "keel/dialect.hpp"
#include "support/backend_test.hpp"

namespace keel {
namespace {

class UpsertTest : public testing::BackendTest {
 protected:
  const Dialect& dialect() const { return dialect_for(backend()); }

  // The design's case: one voice per speaker, set again and again.
  std::unique_ptr<Connection> with_voice_assignments() {
    auto c = connect();
    c->execute_script(
        "CREATE TABLE voice_assignments (speaker_id TEXT PRIMARY KEY, voice TEXT NOT NULL, "
        "pitch INTEGER)");
    return c;
  }

  Upsert voice_upsert() const {
    Upsert u;
    u.table = "voice_assignments";
    u.columns = {"speaker_id", "voice", "pitch"};
    u.conflict = {"speaker_id"};
    return u;
  }
};

TEST_P(UpsertTest, InsertsWhenTheKeyIsNewAndUpdatesWhenItExists) {
  auto c = with_voice_assignments();
  const std::string sql = dialect().upsert(voice_upsert());

  EXPECT_EQ(c->execute(sql, {"ann", "alto", 3}), 1);
  EXPECT_EQ(c->execute(sql, {"bob", "bass", 1}), 1);
  EXPECT_EQ(c->execute(sql, {"ann", "soprano", 5}), 1);

  auto rows = c->query("SELECT speaker_id, voice, pitch FROM voice_assignments ORDER BY speaker_id")
                  .all();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].get<std::string>("speaker_id"), "ann");
  EXPECT_EQ(rows[0].get<std::string>("voice"), "soprano");
  EXPECT_EQ(rows[0].get<int>("pitch"), 5);
  EXPECT_EQ(rows[1].get<std::string>("voice"), "bass");
}

TEST_P(UpsertTest, ExplicitUpdateListLeavesOtherColumnsAlone) {
  auto c = with_voice_assignments();
  Upsert u = voice_upsert();
  u.update = {"voice"};
  const std::string sql = dialect().upsert(u);
  c->execute(sql, {"ann", "alto", 3});
  c->execute(sql, {"ann", "tenor", 9});
  auto row = c->query_one("SELECT voice, pitch FROM voice_assignments WHERE speaker_id = ?",
                          {"ann"});
  ASSERT_TRUE(row);
  EXPECT_EQ(row->get<std::string>("voice"), "tenor");
  EXPECT_EQ(row->get<int>("pitch"), 3);
}

TEST_P(UpsertTest, DoNothingKeepsTheExistingRow) {
  auto c = with_voice_assignments();
  Upsert u = voice_upsert();
  u.do_nothing = true;
  const std::string sql = dialect().upsert(u);
  EXPECT_EQ(c->execute(sql, {"ann", "alto", 3}), 1);
  EXPECT_EQ(c->execute(sql, {"ann", "bass", 7}), 0);
  auto row = c->query_one("SELECT voice, pitch FROM voice_assignments WHERE speaker_id = 'ann'");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->get<std::string>("voice"), "alto");
  EXPECT_EQ(row->get<int>("pitch"), 3);
}

TEST_P(UpsertTest, ReturningGivesTheInsertedOrUpdatedRow) {
  auto c = with_voice_assignments();
  Upsert u = voice_upsert();
  u.returning = {"speaker_id", "voice", "pitch"};
  const std::string sql = dialect().upsert(u);

  auto inserted = c->query_one(sql, {"ann", "alto", 3});
  ASSERT_TRUE(inserted);
  EXPECT_EQ(inserted->get<std::string>("voice"), "alto");

  auto updated = c->query_one(sql, {"ann", "bass", 4});
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->get<std::string>("speaker_id"), "ann");
  EXPECT_EQ(updated->get<std::string>("voice"), "bass");
  EXPECT_EQ(updated->get<int>("pitch"), 4);
}

TEST_P(UpsertTest, DoNothingWithReturningGivesNoRowOnConflict) {
  auto c = with_voice_assignments();
  Upsert u = voice_upsert();
  u.do_nothing = true;
  u.returning = {"voice"};
  const std::string sql = dialect().upsert(u);
  EXPECT_TRUE(c->query_one(sql, {"ann", "alto", 1}).has_value());
  EXPECT_FALSE(c->query_one(sql, {"ann", "bass", 2}).has_value());
}

TEST_P(UpsertTest, CompositeConflictKeyDecidesPerPair) {
  auto c = connect();
  c->execute_script(
      "CREATE TABLE stock (warehouse TEXT NOT NULL, sku TEXT NOT NULL, qty INTEGER NOT NULL, "
      "PRIMARY KEY (warehouse, sku))");
  Upsert u;
  u.table = "stock";
  u.columns = {"warehouse", "sku", "qty"};
  u.conflict = {"warehouse", "sku"};
  const std::string sql = dialect().upsert(u);
  c->execute(sql, {"north", "a1", 5});
  c->execute(sql, {"south", "a1", 7});
  c->execute(sql, {"north", "a1", 9});
  auto rows = c->query("SELECT warehouse, qty FROM stock ORDER BY warehouse").all();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].get<std::string>("warehouse"), "north");
  EXPECT_EQ(rows[0].get<int>("qty"), 9);
  EXPECT_EQ(rows[1].get<int>("qty"), 7);
}

TEST_P(UpsertTest, QuotedReservedWordNamesWork) {
  auto c = connect();
  c->execute_script("CREATE TABLE \"order\" (\"select\" INTEGER PRIMARY KEY, \"from\" TEXT)");
  Upsert u;
  u.table = "order";
  u.columns = {"select", "from"};
  u.conflict = {"select"};
  const std::string sql = dialect().upsert(u);
  c->execute(sql, {1, "x"});
  c->execute(sql, {1, "y"});
  auto row = c->query_one("SELECT \"from\" FROM \"order\"");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->get<std::string>(0), "y");
}

TEST_P(UpsertTest, NowUtcIsTheCurrentInstant) {
  auto c = connect();
  auto row = c->query_one("SELECT " + dialect().now_utc() + " AS now");
  ASSERT_TRUE(row);
  const Value& v = (*row)["now"];
  Timestamp at{};
  if (is_sqlite()) {
    // TEXT in format_timestamp's fixed width: YYYY-MM-DDTHH:MM:SS.ffffffZ.
    ASSERT_EQ(v.type(), ValueType::text);
    std::string text = v.as<std::string>();
    EXPECT_EQ(text.size(), 27u) << text;
    auto parsed = parse_timestamp(text);
    ASSERT_TRUE(parsed) << text;
    at = *parsed;
    EXPECT_EQ(format_timestamp(at), text);
  } else {
    // timestamptz; its text form parses the same way.
    at = v.as<Timestamp>();
    auto parsed = parse_timestamp(format_timestamp(at));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, at);
  }
  auto now = std::chrono::time_point_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now());
  EXPECT_LT(std::chrono::abs(now - at), std::chrono::seconds(5));
}

TEST_P(UpsertTest, NowUtcAsAColumnValueReadsBackAsTimestamp) {
  auto c = connect();
  c->execute_script(is_sqlite() ? "CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT)"
                                : "CREATE TABLE events (id INTEGER PRIMARY KEY, at timestamptz)");
  c->execute("INSERT INTO events (id, at) VALUES (?, " + dialect().now_utc() + ")", {1});
  auto row = c->query_one("SELECT at FROM events WHERE id = 1");
  ASSERT_TRUE(row);
  auto at = row->get<Timestamp>("at");
  auto now = std::chrono::time_point_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now());
  EXPECT_LT(std::chrono::abs(now - at), std::chrono::seconds(5));
}

KEEL_BACKEND_TEST_SUITE(UpsertTest);

}  // namespace
}  // namespace keel
