// Coercion of SQLite values into their target column's type: every lossless kind
// and every refusal, one named case each.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "keel/schema.hpp"
#include "keel/transfer/coerce.hpp"

namespace keel {
namespace {

using namespace std::chrono;
using transfer::CoercionKind;
using transfer::RefusalKind;

schema::ColumnType type_of(std::string_view text) {
  auto t = schema::parse_type(text);
  EXPECT_TRUE(t) << text;
  return t.value_or(schema::ColumnType{});
}

Timestamp at(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0, long long us = 0) {
  return sys_days{year{y} / month{m} / day{d}} + hours{hh} + minutes{mm} + seconds{ss} +
         microseconds{us};
}

Date ymd(int y, unsigned m, unsigned d) { return year{y} / month{m} / day{d}; }

Blob bytes(std::string_view s) { return Blob(s.begin(), s.end()); }

Blob uuid_bytes() {
  return {0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8,
          0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11};
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// ---- conversions ---------------------------------------------------------------

struct Conversion {
  std::string name;
  Value source;
  std::string type;
  CoercionKind kind;
  Value expected;  // for kind none: the source itself
};

const std::vector<Conversion>& conversions() {
  static const std::vector<Conversion> all = {
      // integers
      {"IntegerInIntegerColumnLoadsAsIs", 42, "integer", CoercionKind::none, 42},
      {"SmallintAtItsMaximumLoadsAsIs", 32767, "smallint", CoercionKind::none, 32767},
      {"IntegerTextBecomesInteger", "42", "integer", CoercionKind::integer_from_text, 42},
      {"NegativeIntegerText", "-7", "bigint", CoercionKind::integer_from_text, -7},
      {"IntegerTextWithPlusSign", "+5", "integer", CoercionKind::integer_from_text, 5},
      {"IntegerTextWithLeadingZeros", "007", "smallint", CoercionKind::integer_from_text, 7},
      {"BigintMaximumAsText", "9223372036854775807", "bigint", CoercionKind::integer_from_text,
       std::numeric_limits<std::int64_t>::max()},
      {"WholeRealBecomesInteger", 3.0, "integer", CoercionKind::integer_from_real, 3},
      {"NegativeWholeRealBecomesInteger", -12.0, "bigint", CoercionKind::integer_from_real, -12},
      // reals
      {"RealInRealColumnLoadsAsIs", 1.5, "real", CoercionKind::none, 1.5},
      {"NaNLoadsIntoDoublePrecision", kNaN, "real", CoercionKind::none, kNaN},
      {"InfinityLoadsIntoDoublePrecision", -kInf, "real", CoercionKind::none, -kInf},
      {"IntegerBecomesReal", 7, "real", CoercionKind::real_from_integer, 7.0},
      {"IntegerAt2Pow53BecomesReal", std::int64_t{1} << 53, "real", CoercionKind::real_from_integer,
       9007199254740992.0},
      {"DecimalTextBecomesReal", "0.1", "real", CoercionKind::real_from_text, 0.1},
      {"ExponentTextBecomesReal", "1e3", "real", CoercionKind::real_from_text, 1000.0},
      // numeric
      {"IntegerBecomesNumeric", 12, "numeric(10,2)", CoercionKind::numeric_from_integer,
       Decimal{"12"}},
      {"RealBecomesItsShortestDecimal", 1.5, "numeric(10,2)", CoercionKind::numeric_from_real,
       Decimal{"1.5"}},
      {"TinyRealBecomesPlainDecimal", 0.1, "numeric", CoercionKind::numeric_from_real,
       Decimal{"0.1"}},
      {"LargeRealBecomesPlainDecimal", 1e20, "numeric", CoercionKind::numeric_from_real,
       Decimal{"100000000000000000000"}},
      {"DecimalTextBecomesNumeric", "12.50", "numeric(10,2)", CoercionKind::numeric_from_text,
       Decimal{"12.50"}},
      {"TrailingZerosPastScaleAreNotRounding", "12.500", "numeric(10,2)",
       CoercionKind::numeric_from_text, Decimal{"12.500"}},
      {"ExponentTextIsCarriedAsWritten", "1.5e3", "numeric(10,2)", CoercionKind::numeric_from_text,
       Decimal{"1.5e3"}},
      {"DecimalValueLoadsAsIs", Decimal{"99999999.99"}, "numeric(10,2)", CoercionKind::none,
       Decimal{"99999999.99"}},
      // booleans
      {"ZeroBecomesFalse", 0, "boolean", CoercionKind::boolean_from_integer, false},
      {"OneBecomesTrue", 1, "boolean", CoercionKind::boolean_from_integer, true},
      {"TextTrueUpperCase", "TRUE", "boolean", CoercionKind::boolean_from_text, true},
      {"TextT", "t", "boolean", CoercionKind::boolean_from_text, true},
      {"TextYes", "Yes", "boolean", CoercionKind::boolean_from_text, true},
      {"TextY", "y", "boolean", CoercionKind::boolean_from_text, true},
      {"TextOn", "ON", "boolean", CoercionKind::boolean_from_text, true},
      {"TextOne", "1", "boolean", CoercionKind::boolean_from_text, true},
      {"TextFalse", "False", "boolean", CoercionKind::boolean_from_text, false},
      {"TextF", "F", "boolean", CoercionKind::boolean_from_text, false},
      {"TextNo", "no", "boolean", CoercionKind::boolean_from_text, false},
      {"TextN", "N", "boolean", CoercionKind::boolean_from_text, false},
      {"TextOff", "off", "boolean", CoercionKind::boolean_from_text, false},
      {"TextZero", "0", "boolean", CoercionKind::boolean_from_text, false},
      {"BooleanLoadsAsIs", true, "boolean", CoercionKind::none, true},
      // timestamps
      {"IsoTextWithZ", "2024-01-02T03:04:05Z", "timestamp", CoercionKind::timestamp_from_text,
       at(2024, 1, 2, 3, 4, 5)},
      {"KeelStorageForm", "2024-01-02T03:04:05.123456Z", "timestamp",
       CoercionKind::timestamp_from_text, at(2024, 1, 2, 3, 4, 5, 123456)},
      {"SpaceAndColonOffset", "2024-01-02 05:04:05+02:00", "timestamp",
       CoercionKind::timestamp_from_text, at(2024, 1, 2, 3, 4, 5)},
      {"CompactNegativeOffset", "2024-01-02T01:34:05.5-0130", "timestamp",
       CoercionKind::timestamp_from_text, at(2024, 1, 2, 3, 4, 5, 500000)},
      {"LowerCaseTAndZ", "2024-01-02t03:04:05z", "timestamp", CoercionKind::timestamp_from_text,
       at(2024, 1, 2, 3, 4, 5)},
      {"ZerosPastMicrosecondsAreNotRounding", "2024-01-02T03:04:05.123456000Z", "timestamp",
       CoercionKind::timestamp_from_text, at(2024, 1, 2, 3, 4, 5, 123456)},
      {"NoOffsetMeansUtc", "2024-01-02 03:04:05", "timestamp",
       CoercionKind::timestamp_from_text_as_utc, at(2024, 1, 2, 3, 4, 5)},
      {"NoOffsetWithFraction", "2024-01-02T03:04:05.25", "timestamp",
       CoercionKind::timestamp_from_text_as_utc, at(2024, 1, 2, 3, 4, 5, 250000)},
      {"DateOnlyIsMidnightUtc", "2024-01-02", "timestamp", CoercionKind::timestamp_from_date_text,
       at(2024, 1, 2)},
      {"UnixSeconds", 1700000000, "timestamp", CoercionKind::timestamp_from_unix_seconds,
       Timestamp{seconds{1700000000}}},
      {"UnixSecondsBefore1970", -1, "timestamp", CoercionKind::timestamp_from_unix_seconds,
       at(1969, 12, 31, 23, 59, 59)},
      {"UnixRealSeconds", 1700000000.5, "timestamp", CoercionKind::timestamp_from_unix_seconds_real,
       Timestamp{seconds{1700000000}} + microseconds{500000}},
      {"UnixRealSecondsToTheMicrosecond", 1700000000.123456, "timestamp",
       CoercionKind::timestamp_from_unix_seconds_real,
       Timestamp{seconds{1700000000}} + microseconds{123456}},
      {"NegativeUnixRealSeconds", -1.5, "timestamp", CoercionKind::timestamp_from_unix_seconds_real,
       Timestamp{microseconds{-1500000}}},
      {"TimestampLoadsAsIs", at(2024, 1, 2), "timestamp", CoercionKind::none, at(2024, 1, 2)},
      // dates
      {"DateText", "2024-02-29", "date", CoercionKind::date_from_text, ymd(2024, 2, 29)},
      {"MidnightWithoutOffset", "2024-01-02 00:00:00", "date",
       CoercionKind::date_from_midnight_timestamp, ymd(2024, 1, 2)},
      {"MidnightZ", "2024-01-02T00:00:00.000Z", "date", CoercionKind::date_from_midnight_timestamp,
       ymd(2024, 1, 2)},
      {"MidnightUtcSpelledWithOffset", "2024-01-02T02:00:00+02:00", "date",
       CoercionKind::date_from_midnight_timestamp, ymd(2024, 1, 2)},
      {"DateLoadsAsIs", ymd(2024, 1, 2), "date", CoercionKind::none, ymd(2024, 1, 2)},
      // json
      {"JsonObjectText", R"({"b": 1, "a": [1.50, 1e2]})", "json", CoercionKind::json_from_text,
       Json{R"({"b": 1, "a": [1.50, 1e2]})"}},
      {"JsonScalarText", R"("x")", "json", CoercionKind::json_from_text, Json{R"("x")"}},
      {"JsonNullText", "null", "json", CoercionKind::json_from_text, Json{"null"}},
      {"IntegerBecomesJsonNumber", 42, "json", CoercionKind::json_from_number, Json{"42"}},
      {"RealBecomesJsonNumber", 3.0, "json", CoercionKind::json_from_number, Json{"3.0"}},
      {"JsonLoadsAsIs", Json{"[1]"}, "json", CoercionKind::none, Json{"[1]"}},
      // uuid
      {"CanonicalUuidLoadsAsIs", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "uuid", CoercionKind::none,
       "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
      {"UpperCaseUuidIsLowercased", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "uuid",
       CoercionKind::uuid_lowercased, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
      {"SixteenByteBlobBecomesUuid", uuid_bytes(), "uuid", CoercionKind::uuid_from_blob,
       "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
      // text
      {"TextLoadsAsIs", "héllo", "text", CoercionKind::none, "héllo"},
      {"StringLimitCountsCharactersNotBytes", "héllo", "string(5)", CoercionKind::none, "héllo"},
      {"IntegerBecomesText", 42, "text", CoercionKind::text_from_integer, "42"},
      {"WholeRealBecomesTextWithFraction", 3.0, "text", CoercionKind::text_from_real, "3.0"},
      {"RealBecomesShortestText", 0.1, "text", CoercionKind::text_from_real, "0.1"},
      {"LargeRealBecomesExponentText", 1e20, "string(10)", CoercionKind::text_from_real, "1.0e+20"},
      {"SmallRealBecomesExponentText", 1.5e-7, "text", CoercionKind::text_from_real, "1.5e-07"},
      {"Utf8BlobBecomesText", bytes("h\xc3\xa9"), "text", CoercionKind::text_from_blob,
       "h\xc3\xa9"},
      // blob
      {"BlobLoadsAsIs", bytes(std::string_view("\x00\xff", 2)), "blob", CoercionKind::none,
       bytes(std::string_view("\x00\xff", 2))},
      {"TextInBlobColumnIsItsExactBytes", "ab\xff", "blob", CoercionKind::blob_from_text,
       bytes("ab\xff")},
      {"TextWithNulInBlobColumnIsItsExactBytes", std::string("a\0b", 3), "blob",
       CoercionKind::blob_from_text, bytes(std::string_view("a\0b", 3))},
      // NULL
      {"NullInIntegerColumn", nullptr, "integer", CoercionKind::none, nullptr},
      {"NullInTimestampColumn", nullptr, "timestamp", CoercionKind::none, nullptr},
      {"NullInJsonColumn", nullptr, "json", CoercionKind::none, nullptr},
  };
  return all;
}

bool same_value(const Value& a, const Value& b) {
  // NaN is not equal to itself; the test means "the same value".
  if (a.type() == ValueType::real && b.type() == ValueType::real &&
      std::isnan(std::get<double>(a.storage())) && std::isnan(std::get<double>(b.storage())))
    return true;
  return a == b;
}

class CoerceConversionTest : public ::testing::TestWithParam<std::size_t> {};

TEST_P(CoerceConversionTest, LoadsTheExactValueAndNamesTheKind) {
  const Conversion& c = conversions()[GetParam()];
  transfer::Coerced out = transfer::coerce(c.source, type_of(c.type));
  ASSERT_TRUE(out.ok()) << out.refusal->reason;
  EXPECT_EQ(out.kind, c.kind) << transfer::to_string(out.kind);
  const Value& loaded = out.value_or(c.source);
  EXPECT_TRUE(same_value(loaded, c.expected))
      << loaded.to_display() << " (" << to_string(loaded.type()) << ") vs "
      << c.expected.to_display() << " (" << to_string(c.expected.type()) << ")";
  if (c.kind == CoercionKind::none) {
    EXPECT_EQ(&loaded, &c.source) << "not the source itself";
  }
}

INSTANTIATE_TEST_SUITE_P(, CoerceConversionTest,
                         ::testing::Range<std::size_t>(0, conversions().size()),
                         [](const ::testing::TestParamInfo<std::size_t>& p) {
                           return conversions()[p.param].name;
                         });

// ---- refusals ------------------------------------------------------------------

struct Refused {
  std::string name;
  Value source;
  std::string type;
  RefusalKind kind;
  std::string says;  // part of the reason
};

const std::vector<Refused>& refusals() {
  static const std::vector<Refused> all = {
      // integer columns
      {"DecimalTextInIntegerColumn", "4.2", "integer", RefusalKind::not_an_integer,
       R"(text "4.2" is not an integer literal (integer column))"},
      {"WholeDecimalTextInIntegerColumn", "4.0", "integer", RefusalKind::not_an_integer,
       "not an integer literal"},
      {"PaddedIntegerText", " 42", "integer", RefusalKind::not_an_integer, "not an integer"},
      {"EmptyTextInIntegerColumn", "", "bigint", RefusalKind::not_an_integer, "not an integer"},
      {"WordInIntegerColumn", "abc", "integer", RefusalKind::not_an_integer, "not an integer"},
      {"FractionalRealInIntegerColumn", 3.5, "integer", RefusalKind::not_an_integer,
       "not a whole number"},
      {"NaNInIntegerColumn", kNaN, "bigint", RefusalKind::not_finite, "not a number"},
      {"IntegerPastSmallint", 40000, "smallint", RefusalKind::out_of_range,
       "out of range (-32768..32767)"},
      {"IntegerPastInteger", std::int64_t{1} << 31, "integer", RefusalKind::out_of_range,
       "out of range"},
      {"IntegerTextPastBigint", "99999999999999999999", "bigint", RefusalKind::out_of_range,
       "out of range"},
      {"IntegerTextPastSmallint", "-32769", "smallint", RefusalKind::out_of_range, "out of range"},
      {"RealPastBigint", 1e19, "bigint", RefusalKind::out_of_range, "out of range"},
      {"BlobInIntegerColumn", bytes("1"), "integer", RefusalKind::incompatible,
       "blob of 1 bytes has no exact meaning"},
      // real columns
      {"IntegerPast2Pow53InRealColumn", (std::int64_t{1} << 53) + 1, "real",
       RefusalKind::out_of_range, "2^53"},
      {"WordInRealColumn", "abc", "real", RefusalKind::not_a_number, "not a decimal number"},
      {"PaddedNumberInRealColumn", " 1.5", "real", RefusalKind::not_a_number, "not a decimal"},
      {"InfinityTextInRealColumn", "Infinity", "real", RefusalKind::not_a_number, "not a decimal"},
      {"TooManyDigitsForADouble", "0.10000000000000001", "real", RefusalKind::inexact,
       "would read back as 0.1"},
      {"TextPastDoubleRange", "1e400", "real", RefusalKind::out_of_range, "double"},
      // numeric columns
      {"TooManyIntegerDigits", "1234.5", "numeric(5,2)", RefusalKind::numeric_overflow,
       "4 integer digits, more than 3"},
      {"IntegerTooLargeForNumeric", 123456, "numeric(5,2)", RefusalKind::numeric_overflow,
       "integer digits"},
      {"TooManyFractionDigits", "1.234", "numeric(5,2)", RefusalKind::inexact, "rounded"},
      {"RealThatWouldRound", 1.125, "numeric(5,2)", RefusalKind::inexact, "rounded"},
      {"NaNInNumericColumn", kNaN, "numeric", RefusalKind::not_finite, "not a finite number"},
      {"InfinityInNumericColumn", kInf, "numeric(10,2)", RefusalKind::not_finite, "finite"},
      {"NaNTextInNumericColumn", "NaN", "numeric", RefusalKind::not_a_number,
       "not a decimal number"},
      {"WordInNumericColumn", "twelve", "numeric", RefusalKind::not_a_number, "not a decimal"},
      // boolean columns
      {"TwoInBooleanColumn", 2, "boolean", RefusalKind::not_a_boolean, "not 0 or 1"},
      {"UnknownSpelling", "maybe", "boolean", RefusalKind::not_a_boolean, "boolean spelling"},
      {"PaddedSpelling", " true", "boolean", RefusalKind::not_a_boolean, "boolean spelling"},
      {"RealInBooleanColumn", 1.0, "boolean", RefusalKind::incompatible, "no exact meaning"},
      // timestamp columns
      {"ImpossibleMonth", "2024-13-01", "timestamp", RefusalKind::invalid_datetime,
       "not an ISO-8601 timestamp"},
      {"WordInTimestampColumn", "yesterday", "timestamp", RefusalKind::invalid_datetime,
       "ISO-8601"},
      {"HourTwentyFour", "2024-01-02T24:00:00", "timestamp", RefusalKind::invalid_datetime,
       "ISO-8601"},
      {"NanosecondsWouldRound", "2024-01-02T03:04:05.1234567Z", "timestamp", RefusalKind::inexact,
       "past microseconds"},
      {"UnixMillisecondsAreNotSeconds", std::int64_t{1700000000000}, "timestamp",
       RefusalKind::out_of_range, "years 0001-9999"},
      {"RealSecondsPastMicroseconds", 1e-7, "timestamp", RefusalKind::inexact, "past microseconds"},
      {"InfinityInTimestampColumn", kInf, "timestamp", RefusalKind::not_finite, "not a time"},
      {"BlobInTimestampColumn", bytes("x"), "timestamp", RefusalKind::incompatible,
       "no exact meaning"},
      // date columns
      {"TimeOfDayInDateColumn", "2024-01-02 03:04:05", "date", RefusalKind::invalid_datetime,
       "time of day"},
      {"NotADay", "2024-02-30", "date", RefusalKind::invalid_datetime, "not a date"},
      {"IntegerInDateColumn", 20240102, "date", RefusalKind::incompatible, "no exact meaning"},
      // json columns
      {"UnquotedKeys", "{a:1}", "json", RefusalKind::invalid_json, "is not JSON: parse error"},
      {"EmptyTextInJsonColumn", "", "json", RefusalKind::invalid_json, "is not JSON"},
      {"EscapedNulInJsonString", R"({"a":"x\u0000y"})", "json", RefusalKind::invalid_json,
       "jsonb cannot store"},
      // nlohmann::json cannot parse it (jsonb could): refused rather than changed.
      {"JsonNumberPastDoubleRange", "[1e400]", "json", RefusalKind::invalid_json,
       "number overflow"},
      {"NaNInJsonColumn", kNaN, "json", RefusalKind::not_finite, "not a JSON number"},
      {"BlobInJsonColumn", bytes("{}"), "json", RefusalKind::incompatible, "no exact meaning"},
      // uuid columns
      {"WordInUuidColumn", "not-a-uuid", "uuid", RefusalKind::invalid_uuid, "not a UUID"},
      {"BracedUuid", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "uuid", RefusalKind::invalid_uuid,
       "not a UUID"},
      {"FifteenByteBlobInUuidColumn", Blob(15, 0), "uuid", RefusalKind::invalid_uuid, "16 bytes"},
      {"IntegerInUuidColumn", 7, "uuid", RefusalKind::incompatible, "no exact meaning"},
      // text columns
      {"NulByteInText", std::string("a\0b", 3), "text", RefusalKind::nul_byte,
       "NUL byte at byte 1"},
      {"InvalidUtf8Byte", "ab\xff", "text", RefusalKind::invalid_utf8,
       R"(text "ab\xff" is not valid UTF-8 (at byte 2))"},
      {"Utf16SurrogateInUtf8", "\xed\xa0\x80", "text", RefusalKind::invalid_utf8, "UTF-8"},
      {"OverlongUtf8", "\xc0\xaf", "text", RefusalKind::invalid_utf8, "UTF-8"},
      {"TruncatedUtf8", "h\xc3", "string(10)", RefusalKind::invalid_utf8, "at byte 1"},
      {"LongerThanString", "abcd", "string(3)", RefusalKind::too_long,
       "has 4 characters, more than 3"},
      {"IntegerTextLongerThanString", 123, "string(2)", RefusalKind::too_long, "more than 2"},
      {"BlobWithNulInTextColumn", bytes(std::string_view("a\0", 2)), "text", RefusalKind::nul_byte,
       "NUL"},
      {"NonUtf8BlobInTextColumn", bytes("\xfe"), "text", RefusalKind::invalid_utf8, "UTF-8"},
      {"InfinityInTextColumn", kInf, "text", RefusalKind::not_finite, "no text"},
      // blob columns
      {"IntegerInBlobColumn", 7, "blob", RefusalKind::incompatible, "no exact meaning"},
  };
  return all;
}

class CoerceRefusalTest : public ::testing::TestWithParam<std::size_t> {};

TEST_P(CoerceRefusalTest, RefusesAndSaysWhy) {
  const Refused& c = refusals()[GetParam()];
  transfer::Coerced out = transfer::coerce(c.source, type_of(c.type));
  ASSERT_FALSE(out.ok()) << "coerced as " << transfer::to_string(out.kind) << " to "
                         << out.value_or(c.source).to_display();
  EXPECT_EQ(out.refusal->kind, c.kind) << transfer::to_string(out.refusal->kind);
  EXPECT_NE(out.refusal->reason.find(c.says), std::string::npos) << out.refusal->reason;
  EXPECT_NE(out.refusal->reason.find(schema::to_string(type_of(c.type)) + " column"),
            std::string::npos)
      << out.refusal->reason;
}

INSTANTIATE_TEST_SUITE_P(, CoerceRefusalTest, ::testing::Range<std::size_t>(0, refusals().size()),
                         [](const ::testing::TestParamInfo<std::size_t>& p) {
                           return refusals()[p.param].name;
                         });

// ---- the kinds themselves ---------------------------------------------------------

TEST(CoerceKindsTest, EveryKindAndRefusalHasADistinctName) {
  std::set<std::string> names;
  for (int k = 0; k <= static_cast<int>(CoercionKind::blob_from_text); ++k)
    names.insert(transfer::to_string(static_cast<CoercionKind>(k)));
  EXPECT_EQ(names.size(), static_cast<std::size_t>(CoercionKind::blob_from_text) + 1);
  std::set<std::string> refusal_names;
  for (int k = 0; k <= static_cast<int>(RefusalKind::too_long); ++k)
    refusal_names.insert(transfer::to_string(static_cast<RefusalKind>(k)));
  EXPECT_EQ(refusal_names.size(), static_cast<std::size_t>(RefusalKind::too_long) + 1);
}

TEST(CoerceKindsTest, StorageFormsAreThePortableTypesSqliteSpellings) {
  EXPECT_TRUE(transfer::is_storage_form(CoercionKind::boolean_from_integer));
  EXPECT_TRUE(transfer::is_storage_form(CoercionKind::timestamp_from_text));
  EXPECT_TRUE(transfer::is_storage_form(CoercionKind::json_from_text));
  EXPECT_FALSE(transfer::is_storage_form(CoercionKind::none));
  EXPECT_FALSE(transfer::is_storage_form(CoercionKind::timestamp_from_text_as_utc));
  EXPECT_FALSE(transfer::is_storage_form(CoercionKind::integer_from_text));
}

TEST(CoerceKindsTest, EveryCoercedValueIsAlreadyExactForItsColumn) {
  // What coerce() produces loads as it is: coercing it again converts nothing.
  for (const Conversion& c : conversions()) {
    SCOPED_TRACE(c.name);
    schema::ColumnType t = type_of(c.type);
    transfer::Coerced once = transfer::coerce(c.source, t);
    ASSERT_TRUE(once.ok());
    transfer::Coerced twice = transfer::coerce(once.value_or(c.source), t);
    ASSERT_TRUE(twice.ok()) << twice.refusal->reason;
    EXPECT_EQ(twice.kind, CoercionKind::none) << transfer::to_string(twice.kind);
  }
}

// Verification asks coerce() for the jsonb spelling while it validates, so each
// document is parsed once; the refusals stay the same, with the same reasons.
TEST(CoerceJsonSpellingTest, ValidDocumentComesWithItsJsonbSpelling) {
  auto c = transfer::coerce(Value(R"({"bb": 1,"a":[1.50,1e2]})"), type_of("json"), true);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.jsonb, R"({"a": [1.50, 100], "bb": 1})");
  EXPECT_EQ(transfer::coerce(Value(7), type_of("json"), true).jsonb, "7");
  EXPECT_EQ(transfer::coerce(Value(Json{"[ ]"}), type_of("json"), true).jsonb, "[]");
  EXPECT_EQ(transfer::coerce(Value("[1]"), type_of("json")).jsonb, "");  // not asked
}

TEST(CoerceJsonSpellingTest, RefusalsKeepTheirReasonsWhenSpellingIsAsked) {
  auto nul = transfer::coerce(Value(R"({"a":"x\u0000y"})"), type_of("json"), true);
  ASSERT_FALSE(nul.ok());
  EXPECT_NE(nul.refusal->reason.find("jsonb cannot store"), std::string::npos);
  auto bad = transfer::coerce(Value("{a:1}"), type_of("json"), true);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.refusal->reason.find("parse error"), std::string::npos);
}

}  // namespace
}  // namespace keel
