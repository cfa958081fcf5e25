// Every Value type through a real column of the matching type and back, on each
// backend: bound as a parameter, read by typed Row::get.
#include <gmock/gmock.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "support/backend_test.hpp"

namespace keel {
namespace {

using namespace std::chrono;
using ::testing::HasSubstr;

class ValuesTest : public testing::BackendTest {
 protected:
  // The column type for a portable type, as DESIGN.md's table maps it.
  std::string column_type(std::string_view type) const {
    struct Map {
      std::string_view type, sqlite, postgresql;
    };
    static constexpr Map kTypes[] = {
        {"integer", "INTEGER", "bigint"},
        {"real", "REAL", "double precision"},
        {"text", "TEXT", "text"},
        {"blob", "BLOB", "bytea"},
        {"boolean", "INTEGER", "boolean"},
        {"date", "TEXT", "date"},
        {"timestamp", "TEXT", "timestamptz"},
        {"json", "TEXT", "jsonb"},
        {"decimal", "TEXT", "numeric"},
    };
    for (const auto& m : kTypes)
      if (m.type == type) return std::string(is_sqlite() ? m.sqlite : m.postgresql);
    ADD_FAILURE() << "no column type for " << type;
    return {};
  }

  // A table `v (id, x)` whose x column has the portable type `type`.
  void make_table(std::string_view type) {
    c_ = connect();
    c_->execute_script(
        fmt::format("CREATE TABLE v (id integer PRIMARY KEY, x {})", column_type(type)));
  }

  // Stores `value` in a fresh row and reads it back as T.
  template <class T>
  T round_trip(const Value& value) {
    c_->execute("DELETE FROM v");
    EXPECT_EQ(c_->execute("INSERT INTO v (id, x) VALUES (?, ?)", {1, value}), 1);
    auto row = c_->query_one("SELECT x FROM v WHERE id = ?", {1});
    EXPECT_TRUE(row.has_value());
    return row->get<T>("x");
  }

  // True when SQL sees the stored x as NULL.
  bool stored_null() {
    return c_->query_one("SELECT x IS NULL AS n FROM v WHERE id = 1")->get<bool>("n");
  }

  std::unique_ptr<Connection> c_;
};

TEST_P(ValuesTest, NullOfEveryTypeReadsAsNullopt) {
  for (std::string_view type :
       {"integer", "real", "text", "blob", "boolean", "date", "timestamp", "json", "decimal"}) {
    SCOPED_TRACE(type);
    make_table(type);
    c_->execute("INSERT INTO v (id, x) VALUES (?, ?)", {1, nullptr});
    auto row = c_->query_one("SELECT x FROM v");
    ASSERT_TRUE(row);
    EXPECT_TRUE((*row)["x"].is_null());
    if (type == "integer") {
      EXPECT_EQ(row->get<std::optional<std::int64_t>>("x"), std::nullopt);
    }
    if (type == "real") {
      EXPECT_EQ(row->get<std::optional<double>>("x"), std::nullopt);
    }
    if (type == "text") {
      EXPECT_EQ(row->get<std::optional<std::string>>("x"), std::nullopt);
    }
    if (type == "blob") {
      EXPECT_EQ(row->get<std::optional<Blob>>("x"), std::nullopt);
    }
    if (type == "boolean") {
      EXPECT_EQ(row->get<std::optional<bool>>("x"), std::nullopt);
    }
    if (type == "date") {
      EXPECT_EQ(row->get<std::optional<Date>>("x"), std::nullopt);
    }
    if (type == "timestamp") {
      EXPECT_EQ(row->get<std::optional<Timestamp>>("x"), std::nullopt);
    }
    if (type == "json") {
      EXPECT_EQ(row->get<std::optional<Json>>("x"), std::nullopt);
    }
    if (type == "decimal") {
      EXPECT_EQ(row->get<std::optional<Decimal>>("x"), std::nullopt);
    }
    // NULL is never silently a default.
    EXPECT_THROW(row->get<std::string>("x"), TypeError);
    c_->execute_script("DROP TABLE v");
  }
}

TEST_P(ValuesTest, IntegersKeepTheirFullRange) {
  make_table("integer");
  for (std::int64_t i :
       {std::numeric_limits<std::int64_t>::min(), std::int64_t{-1}, std::int64_t{0},
        std::int64_t{1}, std::int64_t{1} << 53, std::numeric_limits<std::int64_t>::max()}) {
    EXPECT_EQ(round_trip<std::int64_t>(i), i);
  }
}

TEST_P(ValuesTest, EmptyTextIsNotNull) {
  make_table("text");
  EXPECT_EQ(round_trip<std::optional<std::string>>(""), std::optional<std::string>(""));
  EXPECT_FALSE(stored_null());
  EXPECT_EQ(round_trip<std::optional<std::string>>(nullptr), std::nullopt);
  EXPECT_TRUE(stored_null());
}

TEST_P(ValuesTest, Utf8TextSurvivesByteForByte) {
  make_table("text");
  const std::string text =
      "naïve café — Ελληνικά, 日本語, emoji 🎉🧪, combining é";
  EXPECT_EQ(round_trip<std::string>(text), text);
  // The length as the database counts characters, not bytes: the text arrived as UTF-8.
  auto row = c_->query_one(
      fmt::format("SELECT {}(x) AS n FROM v", is_sqlite() ? "length" : "char_length"));
  EXPECT_EQ(row->get<std::int64_t>("n"), 49);
}

TEST_P(ValuesTest, BlobsKeepEmbeddedNulsAndEmptyIsNotNull) {
  make_table("blob");
  const Blob bytes = {0x00, 0x01, 0x00, 0xff, 0x7f, 0x80, 0x00};
  EXPECT_EQ(round_trip<Blob>(bytes), bytes);
  EXPECT_EQ(c_->query_one("SELECT length(x) AS n FROM v")->get<std::int64_t>("n"), 7);

  auto empty = round_trip<std::optional<Blob>>(Blob{});
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(stored_null());
}

TEST_P(ValuesTest, RealsKeepTheirExactBits) {
  make_table("real");
  for (double d : {0.1, -2.5, 1e-300, std::numeric_limits<double>::denorm_min(),
                   std::numeric_limits<double>::min() / 4, std::numeric_limits<double>::max(),
                   std::numeric_limits<double>::lowest(), 123456789.123456789}) {
    EXPECT_EQ(round_trip<double>(d), d) << fmt::format("{:a}", d);
  }
  double zero = round_trip<double>(-0.0);
  EXPECT_EQ(zero, 0.0);
  // PostgreSQL keeps the sign of zero. SQLite stores an integral REAL as an
  // integer on disk to save space, so -0.0 comes back as +0.0: documented SQLite
  // behaviour, not ours to paper over.
  EXPECT_EQ(std::signbit(zero), is_postgresql());
}

TEST_P(ValuesTest, BooleansReadBackAsBool) {
  make_table("boolean");
  EXPECT_TRUE(round_trip<bool>(true));
  EXPECT_FALSE(round_trip<bool>(false));
  EXPECT_EQ(round_trip<std::optional<bool>>(nullptr), std::nullopt);
}

TEST_P(ValuesTest, DatesRoundTrip) {
  make_table("date");
  for (Date d : {Date{year{2024} / February / 29}, Date{year{1999} / December / 31},
                 Date{year{1} / January / 1}, Date{year{9999} / December / 31}}) {
    EXPECT_EQ(round_trip<Date>(d), d) << format_date(d);
  }
}

TEST_P(ValuesTest, TimestampsKeepMicroseconds) {
  make_table("timestamp");
  Timestamp t = sys_days{year{2024} / March / 10} + 23h + 59min + 58s + 123456us;
  EXPECT_EQ(round_trip<Timestamp>(t), t);
  Timestamp epoch{};
  EXPECT_EQ(round_trip<Timestamp>(epoch), epoch);
  Timestamp before_epoch = sys_days{year{1969} / July / 20} + 20h + 17min + 1us;
  EXPECT_EQ(round_trip<Timestamp>(before_epoch), before_epoch);
}

TEST_P(ValuesTest, JsonRoundTrips) {
  make_table("json");
  // Already in jsonb's normal form, so the text is the same on both backends.
  const Json doc{R"({"a": [1, 2.5, null], "b": "é\"x", "ok": true})"};
  EXPECT_EQ(round_trip<Json>(doc), doc);
}

TEST_P(ValuesTest, DecimalsKeepEveryDigit) {
  make_table("decimal");
  for (const char* text : {"12345678901234567890.123456789", "-0.000001", "0", "42"}) {
    EXPECT_EQ(round_trip<Decimal>(Decimal{text}).text, text);
  }
}

TEST_P(ValuesTest, NullsAndValuesAlternateAcrossStreamedRows) {
  make_table("text");
  for (int i = 0; i < 6; ++i)
    c_->execute(
        "INSERT INTO v (id, x) VALUES (?, ?)",
        {i, i % 2 ? Value(nullptr) : Value(std::string(static_cast<std::size_t>(i) * 10, 'a'))});
  int seen = 0;
  for (const Row& row : c_->query("SELECT id, x FROM v ORDER BY id")) {
    auto id = row.get<int>("id");
    auto x = row.get<std::optional<std::string>>("x");
    if (id % 2) {
      EXPECT_EQ(x, std::nullopt) << id;
    } else {
      EXPECT_EQ(x, std::string(static_cast<std::size_t>(id) * 10, 'a')) << id;
    }
    ++seen;
  }
  EXPECT_EQ(seen, 6);
}

TEST_P(ValuesTest, ReadingTextAsIntegerIsTypeErrorNamingTheColumn) {
  c_ = connect();
  c_->execute_script("CREATE TABLE v (id integer PRIMARY KEY, nickname text)");
  c_->execute("INSERT INTO v (id, nickname) VALUES (?, ?)", {1, "ann"});
  auto row = c_->query_one("SELECT nickname FROM v");
  ASSERT_TRUE(row);
  try {
    (void)row->get<std::int64_t>("nickname");
    FAIL() << "converted text to an integer";
  } catch (const TypeError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::type_mismatch);
    EXPECT_THAT(e.what(), HasSubstr("nickname"));
  }
  EXPECT_EQ(row->get<std::string>("nickname"), "ann");
}

KEEL_BACKEND_TEST_SUITE(ValuesTest);

}  // namespace
}  // namespace keel
