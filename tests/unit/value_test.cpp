#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "keel/error.hpp"
#include "keel/value.hpp"

using namespace keel;
using namespace std::chrono;

namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

// The TypeError message of reading `v` as T, or "" when it converts.
template <class T>
std::string type_error(const Value& v, std::string_view what = "column 'x' (#0)") {
  try {
    (void)v.as<T>(what);
  } catch (const TypeError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::type_mismatch);
    return e.what();
  }
  ADD_FAILURE() << "converted " << v.to_display();
  return {};
}

Date ymd(int y, unsigned m, unsigned d) { return year{y} / month{m} / day{d}; }

Timestamp at(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0,
             long long us = 0) {
  return sys_days{ymd(y, m, d)} + hours{hh} + minutes{mm} + seconds{ss} + microseconds{us};
}

Row make_row(std::vector<std::string> names, std::vector<Value> values) {
  return Row(std::make_shared<const std::vector<std::string>>(std::move(names)),
             std::move(values));
}

}  // namespace

TEST(ValueTest, TypeNames) {
  EXPECT_STREQ(to_string(ValueType::null), "null");
  EXPECT_STREQ(to_string(ValueType::integer), "integer");
  EXPECT_STREQ(to_string(ValueType::real), "real");
  EXPECT_STREQ(to_string(ValueType::text), "text");
  EXPECT_STREQ(to_string(ValueType::blob), "blob");
  EXPECT_STREQ(to_string(ValueType::boolean), "boolean");
  EXPECT_STREQ(to_string(ValueType::date), "date");
  EXPECT_STREQ(to_string(ValueType::timestamp), "timestamp");
  EXPECT_STREQ(to_string(ValueType::json), "json");
  EXPECT_STREQ(to_string(ValueType::decimal), "decimal");
}

TEST(ValueTest, ConstructorsPickTheType) {
  EXPECT_EQ(Value().type(), ValueType::null);
  EXPECT_EQ(Value(nullptr).type(), ValueType::null);
  EXPECT_EQ(Value(std::optional<int>{}).type(), ValueType::null);
  EXPECT_EQ(Value(std::optional<int>{3}).type(), ValueType::integer);
  EXPECT_EQ(Value(true).type(), ValueType::boolean);
  EXPECT_EQ(Value(3).type(), ValueType::integer);
  EXPECT_EQ(Value(3u).type(), ValueType::integer);
  EXPECT_EQ(Value(3.5).type(), ValueType::real);
  EXPECT_EQ(Value("x").type(), ValueType::text);
  EXPECT_EQ(Value(Blob{1, 2}).type(), ValueType::blob);
  EXPECT_EQ(Value(ymd(2024, 1, 2)).type(), ValueType::date);
  EXPECT_EQ(Value(at(2024, 1, 2)).type(), ValueType::timestamp);
  EXPECT_EQ(Value(Json{"{}"}).type(), ValueType::json);
  EXPECT_EQ(Value(Decimal{"1.5"}).type(), ValueType::decimal);
}

TEST(ValueTest, UnsignedBeyondInt64IsATypeError) {
  EXPECT_EQ(Value(static_cast<unsigned long>(kMax)).as<std::int64_t>(), kMax);
  EXPECT_EQ(Value(static_cast<unsigned long long>(kMax)).as<std::int64_t>(), kMax);
  EXPECT_THROW(Value(static_cast<unsigned long>(kMax) + 1), TypeError);
  EXPECT_THROW(Value(std::numeric_limits<unsigned long long>::max()), TypeError);
}

TEST(ValueTest, Int64Extremes) {
  EXPECT_EQ(Value(kMax).as<std::int64_t>(), kMax);
  EXPECT_EQ(Value(kMin).as<std::int64_t>(), kMin);
  EXPECT_EQ(Value("9223372036854775807").as<std::int64_t>(), kMax);
  EXPECT_EQ(Value("-9223372036854775808").as<std::int64_t>(), kMin);
  EXPECT_NE(type_error<std::int64_t>(Value("9223372036854775808")).find("expected integer"),
            std::string::npos);
  EXPECT_EQ(Value(-9223372036854775808.0).as<std::int64_t>(), kMin);
  EXPECT_THROW(Value(9223372036854775808.0).as<std::int64_t>(), TypeError);
}

TEST(ValueTest, NarrowIntegersAreRangeChecked) {
  EXPECT_EQ(Value(127).as<std::int8_t>(), 127);
  EXPECT_EQ(Value(-128).as<std::int8_t>(), -128);
  std::string msg = type_error<std::int8_t>(Value(300), "column 'n' (#3)");
  EXPECT_EQ(msg, "column 'n' (#3): integer 300 is out of range for the requested type (-128..127)");
  EXPECT_THROW(Value(-1).as<std::uint32_t>(), TypeError);
  EXPECT_EQ(Value(kMax).as<std::uint64_t>(), static_cast<std::uint64_t>(kMax));
  EXPECT_THROW(Value(kMax).as<int>(), TypeError);
}

TEST(ValueTest, IntegerFromOtherTypes) {
  EXPECT_EQ(Value(true).as<int>(), 1);
  EXPECT_EQ(Value(false).as<int>(), 0);
  EXPECT_EQ(Value(42.0).as<int>(), 42);
  EXPECT_EQ(Value(-0.0).as<int>(), 0);
  EXPECT_EQ(Value("-17").as<int>(), -17);
  EXPECT_EQ(Value(Decimal{"12"}).as<int>(), 12);
  EXPECT_EQ(Value(Decimal{"12.000"}).as<int>(), 12);
  EXPECT_EQ(type_error<int>(Value(1.5), "column 'age' (#1)"),
            "column 'age' (#1): expected integer, got real 1.5 (not a whole number in the 64-bit "
            "range)");
  EXPECT_THROW(Value(std::nan("")).as<int>(), TypeError);
  EXPECT_THROW(Value(INFINITY).as<int>(), TypeError);
  EXPECT_THROW(Value(Decimal{"12.5"}).as<int>(), TypeError);
  EXPECT_THROW(Value(Blob{1}).as<int>(), TypeError);
  EXPECT_THROW(Value(ymd(2024, 1, 1)).as<int>(), TypeError);
}

TEST(ValueTest, IntegerFromTextMustBeTheWholeText) {
  EXPECT_EQ(type_error<int>(Value("abc"), "column 'age' (#1)"),
            "column 'age' (#1): expected integer, got text \"abc\"");
  for (const char* s : {"", " 1", "1 ", "1.0", "+1", "0x10", "1e3", "12abc", "--1"})
    EXPECT_THROW(Value(s).as<std::int64_t>(), TypeError) << s;
}

TEST(ValueTest, NullNeedsOptional) {
  Value null;
  EXPECT_EQ(type_error<int>(null, "column 'age' (#1)"),
            "column 'age' (#1): is NULL; read it as std::optional<T> where NULL is allowed");
  EXPECT_THROW(null.as<std::string>(), TypeError);
  EXPECT_EQ(null.as<std::optional<int>>(), std::nullopt);
  EXPECT_EQ(null.as<std::optional<std::string>>(), std::nullopt);
  EXPECT_EQ(Value(5).as<std::optional<int>>(), 5);
  EXPECT_THROW(null.as<Value>(), TypeError) << "even a Value: NULL is read through optional";
  EXPECT_EQ(null.as<std::optional<Value>>(), std::nullopt);
}

TEST(ValueTest, DoubleConversions) {
  EXPECT_EQ(Value(2.5).as<double>(), 2.5);
  EXPECT_EQ(Value(3).as<double>(), 3.0);
  EXPECT_EQ(Value(3).as<float>(), 3.0f);
  EXPECT_EQ(Value(Decimal{"0.1"}).as<double>(), 0.1);
  EXPECT_EQ(Value(Decimal{"-1.25e2"}).as<double>(), -125.0);
  EXPECT_EQ(Value("6.02e23").as<double>(), 6.02e23);
  EXPECT_EQ(Value("+1.5").as<double>(), 1.5);
  EXPECT_EQ(Value(".5").as<double>(), 0.5);
  EXPECT_TRUE(std::isnan(Value(std::nan("")).as<double>()));
  for (const char* s : {"", "abc", "inf", "nan", "0x1p3", "1e", "1.5x", " 1"})
    EXPECT_THROW(Value(s).as<double>(), TypeError) << s;
  EXPECT_THROW(Value("1e999").as<double>(), TypeError);
  EXPECT_THROW(Value(true).as<double>(), TypeError);
  EXPECT_EQ(type_error<double>(Value("abc")), "column 'x' (#0): expected real, got text \"abc\"");
}

TEST(ValueTest, BoolSpellings) {
  EXPECT_TRUE(Value(true).as<bool>());
  EXPECT_FALSE(Value(false).as<bool>());
  EXPECT_TRUE(Value(1).as<bool>());
  EXPECT_FALSE(Value(0).as<bool>());
  for (const char* s : {"1", "true", "TRUE", "True", "t", "T"})
    EXPECT_TRUE(Value(s).as<bool>()) << s;
  for (const char* s : {"0", "false", "FALSE", "f", "F"}) EXPECT_FALSE(Value(s).as<bool>()) << s;
  for (const char* s : {"yes", "no", "2", "", "tru", " t"})
    EXPECT_THROW(Value(s).as<bool>(), TypeError) << s;
  EXPECT_EQ(type_error<bool>(Value(2), "column 'ok' (#4)"),
            "column 'ok' (#4): expected boolean, got integer 2 (only 0 and 1 are booleans)");
  EXPECT_THROW(Value(-1).as<bool>(), TypeError);
  EXPECT_THROW(Value(1.0).as<bool>(), TypeError);
}

TEST(ValueTest, TextConversions) {
  EXPECT_EQ(Value("h\xC3\xA9llo \xE2\x82\xAC").as<std::string>(), "h\xC3\xA9llo \xE2\x82\xAC");
  EXPECT_EQ(Value(std::string("a\0b", 3)).as<std::string>(), std::string("a\0b", 3));
  EXPECT_EQ(Value(Json{"{\"a\":1}"}).as<std::string>(), "{\"a\":1}");
  EXPECT_EQ(Value(Decimal{"1.50"}).as<std::string>(), "1.50");
  EXPECT_EQ(Value(ymd(2024, 2, 29)).as<std::string>(), "2024-02-29");
  EXPECT_EQ(Value(at(2024, 1, 2, 3, 4, 5, 6)).as<std::string>(), "2024-01-02T03:04:05.000006Z");
  EXPECT_EQ(type_error<std::string>(Value(42), "column 'name' (#1)"),
            "column 'name' (#1): expected text, got integer 42");
  EXPECT_THROW(Value(1.5).as<std::string>(), TypeError);
  EXPECT_THROW(Value(true).as<std::string>(), TypeError);
  EXPECT_EQ(type_error<std::string>(Value(Blob{'h', 'i'})),
            "column 'x' (#0): expected text, got blob of 2 bytes");
}

TEST(ValueTest, BlobKeepsNulBytesAndIsNeverDecodedFromText) {
  Blob b{0, 1, 0, 255, 0};
  EXPECT_EQ(Value(b).as<Blob>(), b);
  EXPECT_EQ(Value(Blob{}).as<Blob>(), Blob{});
  EXPECT_EQ(type_error<Blob>(Value("\\x0001")),
            "column 'x' (#0): expected blob, got text \"\\\\x0001\"");
}

TEST(ValueTest, LongAndControlTextIsShortenedInMessages) {
  std::string msg = type_error<int>(Value(std::string(1000, 'a')));
  EXPECT_LT(msg.size(), 150u);
  EXPECT_NE(msg.find("(1000 bytes)"), std::string::npos);
  EXPECT_NE(type_error<int>(Value("a\nb")).find("\"a\\x0ab\""), std::string::npos);
}

TEST(ValueTest, JsonAndDecimal) {
  EXPECT_EQ(Value(Json{"[1]"}).as<Json>(), Json{"[1]"});
  EXPECT_EQ(Value("not json").as<Json>(), Json{"not json"}) << "text is not validated";
  EXPECT_THROW(Value(1).as<Json>(), TypeError);
  EXPECT_EQ(Value(Decimal{"3.14"}).as<Decimal>(), Decimal{"3.14"});
  EXPECT_EQ(Value(kMin).as<Decimal>(), Decimal{"-9223372036854775808"});
  EXPECT_EQ(Value("-12.50").as<Decimal>(), Decimal{"-12.50"});
  EXPECT_EQ(Value("1e-3").as<Decimal>(), Decimal{"1e-3"});
  for (const char* s : {"", "abc", "1.2.3", "NaN", "Infinity", "-", ".", "1e"})
    EXPECT_THROW(Value(s).as<Decimal>(), TypeError) << s;
  EXPECT_THROW(Value(0.1).as<Decimal>(), TypeError) << "a real is not an exact decimal";
}

TEST(ValueTest, FormatDateAndTimestamp) {
  EXPECT_EQ(format_date(ymd(2024, 1, 2)), "2024-01-02");
  EXPECT_EQ(format_date(ymd(1, 1, 1)), "0001-01-01");
  EXPECT_EQ(format_timestamp(at(2024, 1, 2, 3, 4, 5, 123456)), "2024-01-02T03:04:05.123456Z");
  EXPECT_EQ(format_timestamp(Timestamp{}), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(Timestamp{microseconds{-1}}), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(format_timestamp(at(9999, 12, 31, 23, 59, 59, 999999)),
            "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(format_timestamp(at(1, 1, 1)), "0001-01-01T00:00:00.000000Z");
}

TEST(ValueTest, ParseDate) {
  EXPECT_EQ(parse_date("2024-02-29"), ymd(2024, 2, 29));
  EXPECT_EQ(parse_date("0001-01-01"), ymd(1, 1, 1));
  EXPECT_EQ(parse_date("9999-12-31"), ymd(9999, 12, 31));
  for (const char* s : {"", "2024-13-01", "2024-00-10", "2023-02-29", "2024-02-30", "2024-04-31",
                        "0000-01-01", "2024-1-2", "24-01-02", "2024/01/02", "2024-01-02T00:00",
                        "2024-01-02 ", "20240102", "+2024-01-02", "abcd-ef-gh"})
    EXPECT_EQ(parse_date(s), std::nullopt) << s;
}

TEST(ValueTest, ParseTimestampSpellings) {
  Timestamp t = at(2024, 1, 2, 3, 4, 5);
  EXPECT_EQ(parse_timestamp("2024-01-02"), at(2024, 1, 2));
  EXPECT_EQ(parse_timestamp("2024-01-02 03:04"), at(2024, 1, 2, 3, 4));
  EXPECT_EQ(parse_timestamp("2024-01-02T03:04:05"), t);
  EXPECT_EQ(parse_timestamp("2024-01-02t03:04:05z"), t);
  EXPECT_EQ(parse_timestamp("2024-01-02 03:04:05"), t);
  EXPECT_EQ(parse_timestamp("2024-01-02T03:04:05Z"), t);
  EXPECT_EQ(parse_timestamp("2024-01-02T03:04:05+00"), t);
  EXPECT_EQ(parse_timestamp("2024-01-02T03:04:05+00:00"), t);
  EXPECT_EQ(parse_timestamp("2024-01-02T03:04:05-0000"), t);
  EXPECT_EQ(parse_timestamp("2024-01-02T05:04:05+02"), t);
  EXPECT_EQ(parse_timestamp("2024-01-02T08:34:05+05:30"), t);
  EXPECT_EQ(parse_timestamp("2024-01-02T08:34:05+0530"), t);
  EXPECT_EQ(parse_timestamp("2024-01-01T22:04:05-05"), t);
  EXPECT_EQ(parse_timestamp("2024-01-02T03:04Z"), at(2024, 1, 2, 3, 4));
  EXPECT_EQ(parse_timestamp("2024-01-02T03:04+01:00"), at(2024, 1, 2, 2, 4));
  EXPECT_EQ(parse_timestamp("2024-01-02T08:57:33+05:53:28"), t);
}

TEST(ValueTest, ParseTimestampPostgresTextOutput) {
  EXPECT_EQ(parse_timestamp("2024-01-02 03:04:05.123456+00"), at(2024, 1, 2, 3, 4, 5, 123456));
  EXPECT_EQ(parse_timestamp("2024-01-02 08:34:05.5+05:30"), at(2024, 1, 2, 3, 4, 5, 500000));
  EXPECT_EQ(parse_timestamp("1999-12-31 23:59:59+00"), at(1999, 12, 31, 23, 59, 59));
}

TEST(ValueTest, ParseTimestampFractionsAreTruncatedToMicroseconds) {
  EXPECT_EQ(parse_timestamp("2024-01-02T03:04:05.1Z"), at(2024, 1, 2, 3, 4, 5, 100000));
  EXPECT_EQ(parse_timestamp("2024-01-02T03:04:05.000001Z"), at(2024, 1, 2, 3, 4, 5, 1));
  EXPECT_EQ(parse_timestamp("2024-01-02T03:04:05.123456789Z"), at(2024, 1, 2, 3, 4, 5, 123456));
  EXPECT_EQ(parse_timestamp("2024-12-31T23:59:59.999999999Z"),
            at(2024, 12, 31, 23, 59, 59, 999999))
      << "truncation never carries into the next year";
  EXPECT_EQ(parse_timestamp("2024-01-02T03:04:05.1234567890Z"), std::nullopt) << "10 digits";
  EXPECT_EQ(parse_timestamp("2024-01-02T03:04:05.Z"), std::nullopt);
}

TEST(ValueTest, ParseTimestampOffsetsCrossDayAndYearBoundaries) {
  EXPECT_EQ(parse_timestamp("2024-01-01T01:00:00+02:00"), at(2023, 12, 31, 23));
  EXPECT_EQ(parse_timestamp("2023-12-31T23:00:00-02:00"), at(2024, 1, 1, 1));
  EXPECT_EQ(parse_timestamp("2024-02-28T23:00:00-02"), at(2024, 2, 29, 1));
}

TEST(ValueTest, ParseTimestampRejectsGarbage) {
  for (const char* s :
       {"", "now", "2024-13-01T00:00:00Z", "2023-02-29 00:00", "2024-02-30", "2024-01-02T24:00",
        "2024-01-02T23:60", "2024-01-02T23:59:60", "2024-01-02T3:04", "2024-01-02T03",
        "2024-01-02T03:04:5", "2024-01-02X03:04", "2024-01-02T03:04:05ZZ", "2024-01-02T03:04:05+",
        "2024-01-02T03:04:05+5", "2024-01-02T03:04:05+05:3", "2024-01-02T03:04:05+24",
        "2024-01-02T03:04:05+05:60", "2024-01-02T03:04:05 +00", "2024-01-02T03:04:05 Z",
        "2024-01-02Z", "2024-01-02T", "infinity", "0000-01-01", "10000-01-01",
        "2024-01-02 03:04:05+00 BC", "2024-01-02T03:04:05.12a"})
    EXPECT_EQ(parse_timestamp(s), std::nullopt) << s;
}

TEST(ValueTest, TimestampRoundTripsThroughText) {
  for (Timestamp t : {at(2024, 1, 2, 3, 4, 5, 6), at(1, 1, 1), at(9999, 12, 31, 23, 59, 59, 999999),
                      at(1969, 12, 31, 23, 59, 59, 999999), Timestamp{}}) {
    std::string text = format_timestamp(t);
    EXPECT_EQ(parse_timestamp(text), t) << text;
    EXPECT_EQ(Value(text).as<Timestamp>(), t);
  }
  for (Date d : {ymd(2024, 2, 29), ymd(1, 1, 1), ymd(9999, 12, 31)})
    EXPECT_EQ(parse_date(format_date(d)), d);
}

TEST(ValueTest, FormattedTimestampsSortAsText) {
  std::vector<Timestamp> ts = {at(999, 1, 1), at(2024, 1, 2, 3, 4, 5, 999999),
                               at(2024, 1, 2, 3, 4, 6), at(2024, 10, 1)};
  for (std::size_t i = 1; i < ts.size(); ++i)
    EXPECT_LT(format_timestamp(ts[i - 1]), format_timestamp(ts[i]));
}

TEST(ValueTest, DateAndTimestampConversions) {
  EXPECT_EQ(Value("2024-02-29").as<Date>(), ymd(2024, 2, 29));
  EXPECT_EQ(Value(ymd(2024, 2, 29)).as<Date>(), ymd(2024, 2, 29));
  EXPECT_EQ(type_error<Date>(Value("2024-02-30"), "column 'born' (#2)"),
            "column 'born' (#2): expected date, got text \"2024-02-30\" (text must be YYYY-MM-DD)");
  EXPECT_THROW(Value(at(2024, 1, 1)).as<Date>(), TypeError);
  EXPECT_THROW(Value(20240101).as<Date>(), TypeError);

  EXPECT_EQ(Value("2024-01-02T03:04:05Z").as<Timestamp>(), at(2024, 1, 2, 3, 4, 5));
  EXPECT_EQ(Value(ymd(2024, 1, 2)).as<Timestamp>(), at(2024, 1, 2));
  EXPECT_EQ(Value(0).as<Timestamp>(), Timestamp{});
  EXPECT_EQ(Value(1704164645).as<Timestamp>(), at(2024, 1, 2, 3, 4, 5));
  EXPECT_EQ(Value(-62135596800).as<Timestamp>(), at(1, 1, 1));
  EXPECT_THROW(Value(-62135596801).as<Timestamp>(), TypeError);
  EXPECT_THROW(Value(kMax).as<Timestamp>(), TypeError);
  EXPECT_THROW(Value(1.5).as<Timestamp>(), TypeError);
  EXPECT_NE(type_error<Timestamp>(Value("yesterday")).find("expected timestamp, got text"),
            std::string::npos);
}

TEST(ValueTest, ToDisplay) {
  EXPECT_EQ(Value().to_display(), "NULL");
  EXPECT_EQ(Value(kMin).to_display(), "-9223372036854775808");
  EXPECT_EQ(Value(0.1).to_display(), "0.1");
  EXPECT_EQ(Value(1e100).to_display(), "1e+100");
  EXPECT_EQ(Value("plain").to_display(), "plain");
  EXPECT_EQ(Value(Blob{0, 0xab, 0x10}).to_display(), "\\x00ab10");
  EXPECT_EQ(Value(true).to_display(), "true");
  EXPECT_EQ(Value(ymd(2024, 1, 2)).to_display(), "2024-01-02");
  EXPECT_EQ(Value(at(2024, 1, 2)).to_display(), "2024-01-02T00:00:00.000000Z");
  EXPECT_EQ(Value(Json{"{}"}).to_display(), "{}");
  EXPECT_EQ(Value(Decimal{"1.10"}).to_display(), "1.10");
}

TEST(ValueTest, Equality) {
  EXPECT_EQ(Value(1), Value(1L));
  EXPECT_NE(Value(1), Value(1.0)) << "different types are different values";
  EXPECT_NE(Value(1), Value(true));
  EXPECT_EQ(Value(), Value(nullptr));
}

TEST(RowTest, TypedAccessByNameAndIndex) {
  Row row =
      make_row({"id", "name", "score", "note"}, {Value(7), Value("ann"), Value(2.5), Value()});
  EXPECT_EQ(row.size(), 4u);
  EXPECT_EQ(row.get<std::int64_t>("id"), 7);
  EXPECT_EQ(row.get<std::string>(1), "ann");
  EXPECT_EQ(row.get<double>("score"), 2.5);
  EXPECT_EQ(row.get<std::optional<std::string>>("note"), std::nullopt);
  EXPECT_EQ(row["name"], Value("ann"));
  EXPECT_EQ(row[0], Value(7));
  EXPECT_EQ(row.name(2), "score");
  EXPECT_EQ(row.index("note"), 3u);
}

TEST(RowTest, TypeErrorsNameTheColumn) {
  Row row = make_row({"id", "age"}, {Value(1), Value("abc")});
  try {
    row.get<int>("age");
    FAIL();
  } catch (const TypeError& e) {
    EXPECT_STREQ(e.what(), "column 'age' (#1): expected integer, got text \"abc\"");
  }
  Row nulls = make_row({"id", "age"}, {Value(1), Value()});
  try {
    nulls.get<int>(1);
    FAIL();
  } catch (const TypeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("column 'age' (#1): is NULL", 0), 0u) << e.what();
  }
}

TEST(RowTest, UnknownColumnListsTheColumns) {
  Row row = make_row({"id", "Name"}, {Value(1), Value("x")});
  try {
    row.index("email");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "no column 'email' in the row; its columns are: 'id', 'Name'");
  }
  try {
    row.get<std::string>("name");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(),
                 "no column 'name' in the row (names are case-sensitive: did you mean 'Name'?); "
                 "its columns are: 'id', 'Name'");
  }
  EXPECT_THROW(row["nope"], UsageError);
}

TEST(RowTest, OutOfRangeIndexIsAUsageError) {
  Row row = make_row({"a"}, {Value(1)});
  EXPECT_THROW(row[1], UsageError);
  EXPECT_THROW(row.name(1), UsageError);
  EXPECT_THROW(row.get<int>(5), UsageError);
  try {
    row[3];
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "column #3 is out of range: the row has 1 columns");
  }
  EXPECT_THROW(Row().index("a"), UsageError);
}

TEST(RowTest, DuplicateNamesResolveToTheFirst) {
  Row row = make_row({"id", "id"}, {Value(1), Value(2)});
  EXPECT_EQ(row.get<int>("id"), 1);
  EXPECT_EQ(row.get<int>(1), 2);
}
