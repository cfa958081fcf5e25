// The order-independent table checksum: how rows combine, and the canonical form
// of each portable type — a value and its other backend's spelling checksum alike.
#include <gtest/gtest.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "keel/error.hpp"
#include "keel/schema.hpp"
#include "keel/transfer/checksum.hpp"
#include "keel/transfer/forms.hpp"

namespace keel {
namespace {

using namespace std::chrono;
using transfer::Checksum;
using transfer::TableChecksum;

std::vector<schema::ColumnType> types_of(std::initializer_list<std::string_view> names) {
  std::vector<schema::ColumnType> out;
  for (auto n : names) {
    auto t = schema::parse_type(n);
    EXPECT_TRUE(t) << n;
    out.push_back(t.value_or(schema::ColumnType{}));
  }
  return out;
}

Checksum checksum(std::initializer_list<std::string_view> types,
                  const std::vector<std::vector<Value>>& rows) {
  TableChecksum sum(types_of(types));
  for (const auto& row : rows) sum.add_row(row);
  return sum.result();
}

// The checksum of one value in a one-column table of type `type`.
Checksum one(std::string_view type, const Value& v) { return checksum({type}, {{v}}); }

Timestamp at(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0, long long us = 0) {
  return sys_days{year{y} / month{m} / day{d}} + hours{hh} + minutes{mm} + seconds{ss} +
         microseconds{us};
}

// ---- combining rows ---------------------------------------------------------------

TEST(TableChecksumTest, RowOrderDoesNotMatter) {
  std::vector<Value> a{1, "one"}, b{2, "two"}, c{3, nullptr};
  EXPECT_EQ(checksum({"bigint", "text"}, {a, b, c}), checksum({"bigint", "text"}, {c, a, b}));
}

TEST(TableChecksumTest, CountsRows) {
  EXPECT_EQ(checksum({"bigint"}, {}).rows, 0u);
  EXPECT_EQ(checksum({"bigint"}, {{1}, {2}, {2}}).rows, 3u);
}

TEST(TableChecksumTest, DuplicateRowsDoNotCancel) {
  std::vector<Value> a{1}, b{2};
  // With xor, {a, a, b} would sum like {b}; a sum keeps both copies of a.
  EXPECT_NE(checksum({"bigint"}, {a, a, b}).sum, checksum({"bigint"}, {b}).sum);
  EXPECT_NE(checksum({"bigint"}, {a, a}).sum, checksum({"bigint"}, {b, b}).sum);
  EXPECT_NE(checksum({"bigint"}, {a, a}).sum, 0u);
}

TEST(TableChecksumTest, ValuesDoNotRunAcrossColumnBoundaries) {
  EXPECT_NE(checksum({"text", "text"}, {{"ab", "c"}}), checksum({"text", "text"}, {{"a", "bc"}}));
  EXPECT_NE(checksum({"blob", "blob"}, {{Blob{1, 2}, Blob{3}}}),
            checksum({"blob", "blob"}, {{Blob{1}, Blob{2, 3}}}));
}

TEST(TableChecksumTest, ValuesStayInTheirColumns) {
  EXPECT_NE(checksum({"bigint", "bigint"}, {{1, 2}}), checksum({"bigint", "bigint"}, {{2, 1}}));
}

TEST(TableChecksumTest, NullIsNeitherEmptyNorZero) {
  EXPECT_NE(one("text", nullptr), one("text", ""));
  EXPECT_NE(one("bigint", nullptr), one("bigint", 0));
  EXPECT_NE(one("blob", nullptr), one("blob", Blob{}));
}

TEST(TableChecksumTest, WrongColumnCountIsAUsageError) {
  TableChecksum sum(types_of({"bigint", "text"}));
  std::vector<Value> row{1};
  EXPECT_THROW(sum.add_row(row), UsageError);
}

TEST(TableChecksumTest, PrintsRowsAndSum) {
  Checksum c{3, 0xabc};
  EXPECT_EQ(transfer::to_string(c), "3 rows, 0000000000000abc");
}

// ---- canonical forms ------------------------------------------------------------

TEST(ChecksumCanonicalTest, IntegerByValue) {
  EXPECT_EQ(one("integer", 42), one("integer", std::int64_t{42}));
  EXPECT_NE(one("integer", 42), one("integer", 43));
  // Text in an integer column is not the number it spells: a mismatch to report.
  EXPECT_NE(one("integer", 42), one("integer", "42"));
}

TEST(ChecksumCanonicalTest, BooleanAsSqliteIntegerOrPostgresBool) {
  EXPECT_EQ(one("boolean", true), one("boolean", 1));
  EXPECT_EQ(one("boolean", false), one("boolean", 0));
  EXPECT_NE(one("boolean", true), one("boolean", false));
  EXPECT_NE(one("boolean", true), one("boolean", 2));
}

TEST(ChecksumCanonicalTest, RealByBitPattern) {
  EXPECT_EQ(one("real", 0.1), one("real", 0.1));
  EXPECT_NE(one("real", 0.1), one("real", std::nextafter(0.1, 1.0)));
  EXPECT_EQ(one("real", 7.0), one("real", 7));
}

TEST(ChecksumCanonicalTest, RealNegativeZeroIsZero) {
  // SQLite stores -0.0 as 0, so the two sides cannot be held to the sign.
  EXPECT_EQ(one("real", -0.0), one("real", 0.0));
}

TEST(ChecksumCanonicalTest, RealEveryNaNIsOne) {
  double payload_nan = std::bit_cast<double>(std::uint64_t{0x7ff8000000000123});
  EXPECT_EQ(one("real", std::nan("")), one("real", payload_nan));
  EXPECT_NE(one("real", std::nan("")), one("real", std::numeric_limits<double>::infinity()));
}

TEST(ChecksumCanonicalTest, NumericNormalised) {
  // numeric(12,4) gives '1.5000' back for '1.5'.
  Checksum c = one("numeric(12,4)", Decimal{"1.5"});
  EXPECT_EQ(c, one("numeric(12,4)", Decimal{"1.5000"}));
  EXPECT_EQ(c, one("numeric(12,4)", "01.50"));
  EXPECT_EQ(c, one("numeric(12,4)", "15e-1"));
  EXPECT_EQ(c, one("numeric(12,4)", 1.5));
  EXPECT_EQ(one("numeric", 5), one("numeric", Decimal{"5.00"}));
  EXPECT_EQ(one("numeric", Decimal{"-0.0"}), one("numeric", Decimal{"0"}));
  EXPECT_EQ(one("numeric", Decimal{"100"}), one("numeric", Decimal{"1e2"}));
  EXPECT_NE(c, one("numeric(12,4)", Decimal{"1.05"}));
  EXPECT_NE(c, one("numeric(12,4)", Decimal{"-1.5"}));
  EXPECT_NE(one("numeric", Decimal{"10"}), one("numeric", Decimal{"1"}));
}

TEST(ChecksumCanonicalTest, TimestampAsMicrosecondsSinceEpoch) {
  Timestamp t = at(2024, 1, 2, 3, 4, 5, 123456);
  Checksum c = one("timestamp", t);
  EXPECT_EQ(c, one("timestamp", format_timestamp(t)));  // SQLite's storage form
  EXPECT_EQ(c, one("timestamp", "2024-01-02 05:04:05.123456+02:00"));
  EXPECT_NE(c, one("timestamp", t + microseconds{1}));
}

TEST(ChecksumCanonicalTest, DateAsDays) {
  Date d = year{2024} / month{2} / day{29};
  EXPECT_EQ(one("date", d), one("date", "2024-02-29"));
  EXPECT_NE(one("date", d), one("date", "2024-02-28"));
}

TEST(ChecksumCanonicalTest, JsonAsJsonbGivesItBack) {
  // jsonb reorders keys, drops whitespace and prints 1e2 as 100; 1.50 keeps its zero.
  EXPECT_EQ(one("json", Json{R"({"b":1,"a":[1.50,1e2]})"}),
            one("json", Json{R"({"a": [1.50, 100], "b": 1})"}));
  EXPECT_EQ(one("json", R"({"b":1,"a":[1.50,1e2]})"),  // SQLite's TEXT
            one("json", Json{R"({"a": [1.50, 100], "b": 1})"}));
}

TEST(ChecksumCanonicalTest, JsonDuplicateKeyKeepsTheLast) {
  EXPECT_EQ(one("json", Json{R"({"a":1,"b":0,"a":2})"}), one("json", Json{R"({"a":2,"b":0})"}));
  EXPECT_NE(one("json", Json{R"({"a":1,"b":0,"a":2})"}), one("json", Json{R"({"a":1,"b":0})"}));
}

TEST(ChecksumCanonicalTest, JsonDifferencesThatMatterStay) {
  EXPECT_NE(one("json", Json{"[1.50]"}), one("json", Json{"[1.5]"}));
  EXPECT_NE(one("json", Json{R"({"a":1})"}), one("json", Json{R"({"A":1})"}));
  EXPECT_NE(one("json", Json{R"(["a b"])"}), one("json", Json{R"(["ab"])"}));
  EXPECT_NE(one("json", Json{"[1,2]"}), one("json", Json{"[2,1]"}));
  EXPECT_NE(one("json", Json{R"(["1"])"}), one("json", Json{"[1]"}));
}

TEST(ChecksumCanonicalTest, JsonSpelledAsJsonbPrintsIt) {
  using transfer::forms::jsonb_text;
  // Shorter keys first, then bytewise; ", " and ": " between items.
  EXPECT_EQ(jsonb_text(R"({"bb":1,"a":[1.50,1e2],"c":2})"), R"({"a": [1.50, 100], "c": 2, "bb": 1})");
  EXPECT_EQ(jsonb_text("[1E+2, 1.5e-3, -0, -0.0, 0.5e1, 1.50e1, 12345678901234567890123]"),
            "[100, 0.0015, 0, 0.0, 5, 15.0, 12345678901234567890123]");
  EXPECT_EQ(jsonb_text(R"(["\u00e9", "é", "tab\t", "\u0001"])"),
            R"(["é", "é", "tab\t", "\u0001"])");
  EXPECT_EQ(jsonb_text("{not json"), std::nullopt);
}

TEST(ChecksumCanonicalTest, JsonbSpellingRefusesWhatJsonOrJsonbRefuses) {
  using transfer::forms::jsonb_text;
  for (std::string_view bad :
       {"", " ", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "+1", "1e", "[1 2]",
        "{\"a\" 1}", "{a:1}", "'x'", "nul", "truex", "\"\\ud800\"", "\"\\udc00\"",
        "\"\\ud800\\u0041\"", "\"\\u0000\"", "\"\\x\"", "\"tab\there\"", "[1e400]",
        "[-1e400]", "\"\xff\"", "\"\xc3\"", "[1] [2]"})
    EXPECT_EQ(jsonb_text(bad), std::nullopt) << bad;
  EXPECT_EQ(jsonb_text("[1e308, 1e-400]"),
            "[1" + std::string(308, '0') + ", 0." + std::string(399, '0') + "1]");
  std::string deep = std::string(10001, '[') + std::string(10001, ']');
  EXPECT_FALSE(jsonb_text(deep).has_value());  // refused, never a crash
  std::string ok = std::string(10000, '[') + std::string(10000, ']');
  EXPECT_TRUE(jsonb_text(ok).has_value());
}

TEST(ChecksumCanonicalTest, JsonbOutputIsHashedAsItComes) {
  // The target side: PostgreSQL's text is already canonical and is not parsed again.
  schema::ColumnType json = *schema::parse_type("json");
  std::string from_source, from_target;
  transfer::append_canonical(from_source, Value(Json{R"({"bb":1,"a":2})"}), json);
  transfer::append_canonical(from_target, Value(Json{R"({"a": 2, "bb": 1})"}), json,
                             transfer::JsonSource::jsonb_output);
  EXPECT_EQ(from_source, from_target);
}

TEST(ChecksumCanonicalTest, UuidLowercase) {
  EXPECT_EQ(one("uuid", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
            one("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
  Blob b{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8,
         0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11};
  EXPECT_EQ(one("uuid", b), one("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
  EXPECT_NE(one("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12"),
            one("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
}

TEST(ChecksumCanonicalTest, TextAndBlobByTheirBytes) {
  EXPECT_EQ(one("text", "héllo"), one("string(5)", "héllo"));
  EXPECT_NE(one("text", "héllo"), one("text", "hello"));
  EXPECT_EQ(one("blob", Blob{0, 255}), one("blob", Blob{0, 255}));
  EXPECT_NE(one("blob", Blob{0, 255}), one("blob", Blob{0, 254}));
  // A blob column holding text is not what the application reads as a blob.
  EXPECT_NE(one("blob", "ab"), one("blob", Blob{'a', 'b'}));
}

TEST(ChecksumCanonicalTest, UnreadableValueNeverMatchesAReadableOne) {
  EXPECT_NE(one("timestamp", "not a time"), one("timestamp", at(2024, 1, 1)));
  EXPECT_NE(one("json", "{oops"), one("json", Json{"{}"}));
  EXPECT_EQ(one("json", "{oops"), one("json", "{oops"));  // deterministic all the same
}

}  // namespace
}  // namespace keel
