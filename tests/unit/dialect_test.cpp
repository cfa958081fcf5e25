// The SQL each dialect renders, without a database.
#include <gtest/gtest.h>

#include <string>

#include "keel/dialect.hpp"
#include "keel/error.hpp"

namespace keel {
namespace {

const Dialect& sqlite() { return dialect_for(Backend::sqlite); }
const Dialect& pg() { return dialect_for(Backend::postgresql); }

// The message of the UsageError that fn throws ("" when it throws none).
template <class F>
std::string usage_error(F&& fn) {
  try {
    fn();
  } catch (const UsageError& e) {
    return e.what();
  }
  return {};
}

Upsert voice_assignment() {
  Upsert u;
  u.table = "voice_assignments";
  u.columns = {"speaker_id", "voice", "updated_at"};
  u.conflict = {"speaker_id"};
  return u;
}

TEST(DialectTest, DialectForReportsItsBackend) {
  EXPECT_EQ(sqlite().backend(), Backend::sqlite);
  EXPECT_EQ(pg().backend(), Backend::postgresql);
  EXPECT_EQ(&dialect_for(Backend::sqlite), &sqlite());  // one object for the whole program
}

TEST(DialectTest, QuoteWrapsInDoubleQuotes) {
  EXPECT_EQ(sqlite().quote("name"), "\"name\"");
  EXPECT_EQ(pg().quote("Mixed Case"), "\"Mixed Case\"");
}

TEST(DialectTest, QuoteDoublesEmbeddedQuotes) {
  EXPECT_EQ(sqlite().quote("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(pg().quote("\"\""), "\"\"\"\"\"\"");
  EXPECT_EQ(pg().quote("x\"; DROP TABLE t; --"), "\"x\"\"; DROP TABLE t; --\"");
}

TEST(DialectTest, QuoteKeepsReservedWordsAndUnicodeVerbatim) {
  EXPECT_EQ(sqlite().quote("order"), "\"order\"");
  EXPECT_EQ(pg().quote("select"), "\"select\"");
  EXPECT_EQ(pg().quote("größe"), "\"größe\"");
  EXPECT_EQ(sqlite().quote("名前"), "\"名前\"");
}

TEST(DialectTest, QuoteRejectsEmptyAndNulIdentifiers) {
  EXPECT_NE(usage_error([] { sqlite().quote(""); }), "");
  std::string with_nul("ab\0c", 4);
  EXPECT_NE(usage_error([&] { pg().quote(with_nul); }).find("NUL"), std::string::npos);
}

TEST(DialectTest, QuoteListJoinsWithCommas) {
  EXPECT_EQ(pg().quote_list({"a", "b c"}), "\"a\", \"b c\"");
  EXPECT_EQ(pg().quote_list({}), "");
}

TEST(DialectTest, ReturningQuotesColumnsAndIsEmptyWithoutThem) {
  EXPECT_EQ(sqlite().returning({}), "");
  EXPECT_EQ(sqlite().returning({"id", "name"}), " RETURNING \"id\", \"name\"");
  EXPECT_EQ(pg().returning({"*"}), " RETURNING *");
}

TEST(DialectTest, UpsertUpdatesEveryNonKeyColumnByDefault) {
  const std::string expected =
      "INSERT INTO \"voice_assignments\" (\"speaker_id\", \"voice\", \"updated_at\") "
      "VALUES (?, ?, ?) ON CONFLICT (\"speaker_id\") DO UPDATE SET "
      "\"voice\" = excluded.\"voice\", \"updated_at\" = excluded.\"updated_at\"";
  EXPECT_EQ(sqlite().upsert(voice_assignment()), expected);
  EXPECT_EQ(pg().upsert(voice_assignment()), expected);
}

TEST(DialectTest, UpsertWithExplicitUpdateListSetsOnlyThose) {
  Upsert u = voice_assignment();
  u.update = {"voice"};
  const std::string expected =
      "INSERT INTO \"voice_assignments\" (\"speaker_id\", \"voice\", \"updated_at\") "
      "VALUES (?, ?, ?) ON CONFLICT (\"speaker_id\") DO UPDATE SET \"voice\" = excluded.\"voice\"";
  EXPECT_EQ(sqlite().upsert(u), expected);
  EXPECT_EQ(pg().upsert(u), expected);
}

TEST(DialectTest, UpsertDoNothing) {
  Upsert u = voice_assignment();
  u.do_nothing = true;
  const std::string expected =
      "INSERT INTO \"voice_assignments\" (\"speaker_id\", \"voice\", \"updated_at\") "
      "VALUES (?, ?, ?) ON CONFLICT (\"speaker_id\") DO NOTHING";
  EXPECT_EQ(sqlite().upsert(u), expected);
  EXPECT_EQ(pg().upsert(u), expected);
}

TEST(DialectTest, UpsertDoNothingWithoutConflictKeyIgnoresAnyConflict) {
  Upsert u = voice_assignment();
  u.conflict.clear();
  u.do_nothing = true;
  EXPECT_EQ(pg().upsert(u),
            "INSERT INTO \"voice_assignments\" (\"speaker_id\", \"voice\", \"updated_at\") "
            "VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
}

TEST(DialectTest, UpsertWithReturningAndCompositeKey) {
  Upsert u;
  u.table = "order";
  u.columns = {"a", "b", "qty"};
  u.conflict = {"a", "b"};
  u.returning = {"a", "qty"};
  const std::string expected =
      "INSERT INTO \"order\" (\"a\", \"b\", \"qty\") VALUES (?, ?, ?) ON CONFLICT (\"a\", \"b\") "
      "DO UPDATE SET \"qty\" = excluded.\"qty\" RETURNING \"a\", \"qty\"";
  EXPECT_EQ(sqlite().upsert(u), expected);
  EXPECT_EQ(pg().upsert(u), expected);
}

TEST(DialectTest, UpsertQuotesHostileNames) {
  Upsert u;
  u.table = "t\"x";
  u.columns = {"k", "v\""};
  u.conflict = {"k"};
  EXPECT_EQ(pg().upsert(u),
            "INSERT INTO \"t\"\"x\" (\"k\", \"v\"\"\") VALUES (?, ?) ON CONFLICT (\"k\") "
            "DO UPDATE SET \"v\"\"\" = excluded.\"v\"\"\"");
}

TEST(DialectTest, UpsertWithoutColumnsIsAUsageErrorNamingTheTable) {
  Upsert u;
  u.table = "t";
  u.conflict = {"id"};
  std::string msg = usage_error([&] { sqlite().upsert(u); });
  EXPECT_NE(msg.find("\"t\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("no columns"), std::string::npos) << msg;
}

TEST(DialectTest, UpsertConflictColumnMustBeInserted) {
  Upsert u = voice_assignment();
  u.conflict = {"id"};
  std::string msg = usage_error([&] { pg().upsert(u); });
  EXPECT_NE(msg.find("conflict column \"id\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("voice_assignments"), std::string::npos) << msg;
}

TEST(DialectTest, UpsertUpdateColumnMustBeInserted) {
  Upsert u = voice_assignment();
  u.update = {"voice", "colour"};
  std::string msg = usage_error([&] { pg().upsert(u); });
  EXPECT_NE(msg.find("update column \"colour\""), std::string::npos) << msg;
}

TEST(DialectTest, UpsertMayNotUpdateAConflictColumn) {
  Upsert u = voice_assignment();
  u.update = {"speaker_id"};
  std::string msg = usage_error([&] { sqlite().upsert(u); });
  EXPECT_NE(msg.find("\"speaker_id\" is part of the conflict key"), std::string::npos) << msg;
}

TEST(DialectTest, UpsertDoUpdateNeedsAConflictKey) {
  Upsert u = voice_assignment();
  u.conflict.clear();
  std::string msg = usage_error([&] { sqlite().upsert(u); });
  EXPECT_NE(msg.find("conflict key"), std::string::npos) << msg;
}

TEST(DialectTest, UpsertWithNothingToUpdateSuggestsDoNothing) {
  Upsert u;
  u.table = "tags";
  u.columns = {"post_id", "tag"};
  u.conflict = {"post_id", "tag"};
  std::string msg = usage_error([&] { pg().upsert(u); });
  EXPECT_NE(msg.find("do_nothing"), std::string::npos) << msg;
  u.do_nothing = true;
  EXPECT_EQ(pg().upsert(u),
            "INSERT INTO \"tags\" (\"post_id\", \"tag\") VALUES (?, ?) "
            "ON CONFLICT (\"post_id\", \"tag\") DO NOTHING");
}

TEST(DialectTest, UpsertRejectsUpdateListWithDoNothing) {
  Upsert u = voice_assignment();
  u.do_nothing = true;
  u.update = {"voice"};
  EXPECT_NE(usage_error([&] { pg().upsert(u); }).find("do_nothing"), std::string::npos);
}

TEST(DialectTest, UpsertRejectsDuplicateAndEmptyNames) {
  Upsert u = voice_assignment();
  u.columns.push_back("voice");
  EXPECT_NE(usage_error([&] { pg().upsert(u); }).find("\"voice\" is inserted twice"),
            std::string::npos);
  Upsert v = voice_assignment();
  v.table.clear();
  EXPECT_NE(usage_error([&] { pg().upsert(v); }).find("table name is empty"), std::string::npos);
}

TEST(DialectTest, NowUtcOnSqliteIsFixedWidthIsoText) {
  EXPECT_EQ(sqlite().now_utc(), "strftime('%Y-%m-%dT%H:%M:%f000Z','now')");
}

TEST(DialectTest, NowUtcOnPostgresqlIsTimestamptz) { EXPECT_EQ(pg().now_utc(), "now()"); }

}  // namespace
}  // namespace keel
