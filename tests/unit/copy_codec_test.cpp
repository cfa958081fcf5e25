// The binary and text COPY encoders of the PostgreSQL bulk writer, byte by byte.
#include <gmock/gmock.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "keel/driver/postgres/copy_codec.hpp"
#include "keel/error.hpp"

namespace keel::driver::pg {
namespace {

using namespace std::chrono;
using ::testing::HasSubstr;

std::string field(CopyType type, const Value& v) {
  std::string out;
  append_binary_field(out, type, v);
  return out;
}

std::string bytes(std::initializer_list<int> b) {
  std::string out;
  for (int x : b) out.push_back(static_cast<char>(x));
  return out;
}

std::string numeric(std::string_view text) {
  std::string out;
  append_numeric(out, text);
  return out;
}

std::string text(const Value& v) {
  std::string out;
  append_text_field(out, v);
  return out;
}

TEST(CopyCodecTest, HeaderIsTheBinaryCopySignature) {
  std::string out;
  append_copy_header(out);
  EXPECT_EQ(out, std::string("PGCOPY\n\377\r\n\0", 11) + std::string(8, '\0'));
}

TEST(CopyCodecTest, NullIsLengthMinusOne) {
  EXPECT_EQ(field(CopyType::int8, Value()), bytes({0xFF, 0xFF, 0xFF, 0xFF}));
}

TEST(CopyCodecTest, IntegersAreBigEndianAtTheirWidth) {
  EXPECT_EQ(field(CopyType::int2, -2), bytes({0, 0, 0, 2, 0xFF, 0xFE}));
  EXPECT_EQ(field(CopyType::int4, 258), bytes({0, 0, 0, 4, 0, 0, 1, 2}));
  EXPECT_EQ(field(CopyType::int8, 1), bytes({0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1}));
}

TEST(CopyCodecTest, IntegerOutsideTheColumnRangeSaysSo) {
  EXPECT_NO_THROW(field(CopyType::int2, 32767));
  try {
    field(CopyType::int2, 40000);
    ADD_FAILURE();
  } catch (const TypeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("40000 does not fit smallint"));
  }
  EXPECT_THROW(field(CopyType::int4, std::int64_t{1} << 31), TypeError);
}

TEST(CopyCodecTest, IntegerFromTextOrWholeDoubleOnlyWhenExact) {
  EXPECT_EQ(field(CopyType::int4, "258"), field(CopyType::int4, 258));
  EXPECT_EQ(field(CopyType::int4, 258.0), field(CopyType::int4, 258));
  EXPECT_THROW(field(CopyType::int4, "25x"), TypeError);
  EXPECT_THROW(field(CopyType::int4, 2.5), TypeError);
  EXPECT_THROW(field(CopyType::int8, Blob{1}), TypeError);
}

TEST(CopyCodecTest, DoublesKeepEveryBit) {
  EXPECT_EQ(field(CopyType::float8, -0.0), bytes({0, 0, 0, 8, 0x80, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(field(CopyType::float8, 1.0), bytes({0, 0, 0, 8, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0}));
  EXPECT_THROW(field(CopyType::float4, 1e300), TypeError);
}

TEST(CopyCodecTest, TextWithNulByteIsRefused) {
  try {
    field(CopyType::text, std::string("a\0b", 3));
    ADD_FAILURE();
  } catch (const TypeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("NUL byte"));
  }
  EXPECT_EQ(field(CopyType::text, ""), bytes({0, 0, 0, 0}));
  EXPECT_EQ(field(CopyType::bytea, Blob{0}), bytes({0, 0, 0, 1, 0}));
}

TEST(CopyCodecTest, DateAndTimestampCountFrom2000) {
  EXPECT_EQ(field(CopyType::date, Date{2000y / January / 2}), bytes({0, 0, 0, 4, 0, 0, 0, 1}));
  EXPECT_EQ(field(CopyType::date, Date{1999y / December / 31}),
            bytes({0, 0, 0, 4, 0xFF, 0xFF, 0xFF, 0xFF}));
  Timestamp t = sys_days{2000y / January / 1} + 1us;
  EXPECT_EQ(field(CopyType::timestamp, t), bytes({0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(field(CopyType::timestamp, "2000-01-01T00:00:00.000001Z"),
            field(CopyType::timestamp, t));
}

TEST(CopyCodecTest, NumericIsBase10000AlignedOnThePoint) {
  // 123.45: ndigits 2, weight 0, positive, dscale 2, digits 123 4500.
  EXPECT_EQ(numeric("123.45"),
            bytes({0, 0, 0, 12, 0, 2, 0, 0, 0, 0, 0, 2, 0, 123, 0x11, 0x94}));
  // -0.001: one digit 10 at weight -1, negative, dscale 3.
  EXPECT_EQ(numeric("-0.001"), bytes({0, 0, 0, 10, 0, 1, 0xFF, 0xFF, 0x40, 0, 0, 3, 0, 10}));
  // 10000: one digit 1 at weight 1.
  EXPECT_EQ(numeric("10000"), bytes({0, 0, 0, 10, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(numeric("1e4"), numeric("10000"));
  // Zero keeps its scale; it has no digits.
  EXPECT_EQ(numeric("0.00"), bytes({0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 2}));
  EXPECT_EQ(numeric("NaN"), bytes({0, 0, 0, 8, 0, 0, 0, 0, 0xC0, 0, 0, 0}));
  EXPECT_EQ(numeric("-Infinity"), bytes({0, 0, 0, 8, 0, 0, 0, 0, 0xF0, 0, 0, 0}));
  for (std::string_view bad : {"", "-", "1.2.3", "12a", "1e", "e5", " 1"})
    EXPECT_THROW(numeric(bad), TypeError) << bad;
}

TEST(CopyCodecTest, UuidFromTextOrSixteenBytes) {
  std::string want = bytes({0, 0, 0, 16, 0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb,
                            0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11});
  EXPECT_EQ(field(CopyType::uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), want);
  EXPECT_EQ(field(CopyType::uuid, "{A0EEBC999C0B4EF8BB6D6BB9BD380A11}"), want);
  EXPECT_EQ(field(CopyType::uuid, Blob(want.begin() + 4, want.end())), want);
  EXPECT_THROW(field(CopyType::uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"), TypeError);
  EXPECT_THROW(field(CopyType::uuid, "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11"), TypeError);
}

TEST(CopyCodecTest, JsonbStartsWithItsVersionByte) {
  EXPECT_EQ(field(CopyType::jsonb, Json{"[]"}), bytes({0, 0, 0, 3, 1, '[', ']'}));
  EXPECT_EQ(field(CopyType::json, Json{"[]"}), bytes({0, 0, 0, 2, '[', ']'}));
}

TEST(CopyCodecTest, TextFormatEscapesAndMarksNull) {
  EXPECT_EQ(text(Value()), "\\N");
  EXPECT_EQ(text("a\tb\nc\\d\re"), "a\\tb\\nc\\\\d\\re");
  EXPECT_EQ(text(Blob{0, 0xAB}), "\\\\x00ab");
  EXPECT_EQ(text(true), "t");
  EXPECT_THROW(text(std::string("a\0b", 3)), TypeError);
}

}  // namespace
}  // namespace keel::driver::pg
