// The property transfer's verification relies on: values coerced from awkward
// SQLite spellings, loaded into a table of every portable type and read back,
// checksum exactly as the coerced values did — on SQLite and on PostgreSQL — and a
// value changed by one microsecond or one JSON key does not.
#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "keel/connection.hpp"
#include "keel/schema.hpp"
#include "keel/transfer/checksum.hpp"
#include "keel/transfer/coerce.hpp"
#include "keel/transfer/forms.hpp"
#include "support/backend_test.hpp"

namespace keel {
namespace {

using namespace std::chrono;

class TransferChecksumTest : public testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    schema::TableBuilder(meta_, "everything")
        .column("id", "bigint", {.nullable = false})
        .column("i", "integer")
        .column("s", "smallint")
        .column("flag", "boolean")
        .column("r", "real")
        .column("n", "numeric(12,4)")
        .column("u", "numeric")
        .column("t", "text")
        .column("str", "string(10)")
        .column("bl", "blob")
        .column("d", "date")
        .column("ts", "timestamp")
        .column("j", "json")
        .column("uid", "uuid")
        .primary_key({"id"});
    schema::validate(meta_);
    conn_ = connect();
    schema::create_all(*conn_, meta_);
    for (const auto& c : table().columns) {
      names_.push_back(c.name);
      types_.push_back(c.type);
    }
  }

  const schema::Table& table() const { return *meta_.table("everything"); }

  // Rows as a SQLite application leaves them: numbers as text, reals where
  // integers belong, booleans spelled out, datetimes in every ISO-8601 spelling and
  // as unix seconds, JSON as written, UUIDs in capitals or as bytes.
  static std::vector<std::vector<Value>> sqlite_rows() {
    Blob uuid{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8,
              0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11};
    return {
        {1, "42", 3.0, "yes", 7, "1.5", 0.1, 42, "héllo wö", "ab\xff", "2024-01-02 00:00:00",
         "2024-01-02 05:04:05.123456+02:00", R"({"b":1,"a":[1.50,1e2],"c":"\u00e9"})",
         "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"},
        {2, -7, "-32768", 0, 0.30000000000000004, 12, "-0.0", 3.0, "", std::string("a\0b", 3),
         "2024-02-29", 1700000000, R"({"a":1, "a":2})", uuid},
        {3, "+2147483647", 32767, "OFF", -0.0, 99999999.9999, "123456789012345678901234567890.5",
         1e20, "ten chars!", Blob{}, "2024-03-10T00:00:00Z", "2024-01-02T03:04:05",
         "[1E+2, -0, 0.5e1, null, true]", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
        {4, nullptr, nullptr, nullptr, std::numeric_limits<double>::infinity(), nullptr, nullptr,
         nullptr, nullptr, nullptr, nullptr, 1700000000.25, "\"just text\"", nullptr},
        {5, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
         nullptr, "1969-12-31", 42, nullptr},
    };
  }

  // Each value coerced for its column; every one must be carried.
  std::vector<std::vector<Value>> coerced(const std::vector<std::vector<Value>>& rows) const {
    std::vector<std::vector<Value>> out;
    for (const auto& row : rows) {
      std::vector<Value> loaded;
      for (std::size_t i = 0; i < row.size(); ++i) {
        transfer::Coerced c = transfer::coerce(row[i], types_[i]);
        EXPECT_TRUE(c.ok()) << names_[i] << ": " << c.refusal->reason;
        loaded.push_back(c.value_or(row[i]));
      }
      out.push_back(std::move(loaded));
    }
    return out;
  }

  transfer::Checksum checksum_of(const std::vector<std::vector<Value>>& rows) const {
    transfer::TableChecksum sum(types_);
    for (const auto& row : rows) sum.add_row(row);
    return sum.result();
  }

  void insert(const std::vector<std::vector<Value>>& rows) {
    std::string sql =
        fmt::format("INSERT INTO everything ({}) VALUES ({})", fmt::join(names_, ", "),
                    fmt::join(std::vector<std::string>(names_.size(), "?"), ", "));
    for (const auto& row : rows) EXPECT_EQ(conn_->execute(sql, Params(row)), 1);
  }

  // The checksum of the table as transfer reads it back: bulk_read, and on
  // PostgreSQL jsonb's output hashed as it comes.
  transfer::Checksum read_back() {
    transfer::TableChecksum sum(types_, is_postgresql() ? transfer::JsonSource::jsonb_output
                                                        : transfer::JsonSource::any_text);
    for (const Row& row :
         conn_->bulk_read(fmt::format("SELECT {} FROM everything", fmt::join(names_, ", "))))
      sum.add_row(row.values());
    return sum.result();
  }

  schema::MetaData meta_;
  std::unique_ptr<Connection> conn_;
  std::vector<std::string> names_;
  std::vector<schema::ColumnType> types_;
};

TEST_P(TransferChecksumTest, ReadBackValuesChecksumAsTheCoercedOnes) {
  auto rows = coerced(sqlite_rows());
  insert(rows);
  transfer::Checksum expected = checksum_of(rows);
  EXPECT_EQ(expected.rows, 5u);
  EXPECT_EQ(read_back(), expected)
      << transfer::to_string(read_back()) << " vs " << transfer::to_string(expected);
}

// The source side spells each document as jsonb prints it, so the target's JSON is
// hashed unparsed: key order by length then bytes, duplicates, escapes, numbers.
TEST_P(TransferChecksumTest, JsonSpelledAsJsonbPrintsItChecksumsAsTheReadBack) {
  const std::vector<std::string> docs = {
      R"({"bb":1,"a":2,"c":{"zz":[],"y":{}},"ab":null})",
      R"({"k":1,"k":{"x":2},"kk":3})",
      "[\"tab\\t nl\\n cr\\r bs\\b ff\\f q\\\" sl\\\\ \\/ ctl\\u0001 del\\u007f\"]",
      R"(["\u00e9\ud83d\ude00", "\u2028", "é"])",
      R"([0, -0, -0.0, 1.50, 1e2, 1E-3, 2.5e+3, 12345678901234567890123, -1.0e-10, 0.000])",
      R"({"":1, "é":2, "e":3, "ée":4})",
      R"(  true  )",
      R"("scalar")",
      R"(null)",
      R"(12.50)",
      "\t{ \"a\" : [ { \"b\":{\"b\":1,\"b\":[2,{\"x\":\"y\",\"x\":\"z\"}]} } ] }\r\n",
      R"([1e-7, 123456789012345678, 1234567890123456789, -9223372036854775808, 0.1e1, 1E+0])",
      R"({"\u0041\u00df\u6771\ud834\udd1e": "\u001f\u007f", "a b": "", "\"": "\\"})",
      std::string(200, '[') + std::string(200, ']'),
  };
  std::vector<std::vector<Value>> rows;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    std::vector<Value> row(names_.size());
    row[0] = Value(static_cast<std::int64_t>(i + 1));
    row[12] = Value(Json{docs[i]});
    rows.push_back(std::move(row));
  }
  insert(rows);
  EXPECT_EQ(read_back(), checksum_of(rows));
  if (is_postgresql()) {
    for (const auto& doc : docs) {
      EXPECT_EQ(conn_->query_one("SELECT CAST(? AS jsonb)::text", {doc})->get<std::string>(0),
                transfer::forms::jsonb_text(doc).value_or("(invalid)"))
          << doc;
    }
  }
}

TEST_P(TransferChecksumTest, OneMicrosecondLaterIsADifferentChecksum) {
  auto rows = coerced(sqlite_rows());
  insert(rows);
  transfer::Checksum expected = checksum_of(rows);
  Timestamp ts = rows[0][11].as<Timestamp>() + microseconds{1};
  EXPECT_EQ(conn_->execute("UPDATE everything SET ts = ? WHERE id = 1", {ts}), 1);
  EXPECT_NE(read_back(), expected);
  EXPECT_EQ(read_back().rows, expected.rows);
}

TEST_P(TransferChecksumTest, OneRenamedJsonKeyIsADifferentChecksum) {
  auto rows = coerced(sqlite_rows());
  insert(rows);
  transfer::Checksum expected = checksum_of(rows);
  EXPECT_EQ(conn_->execute("UPDATE everything SET j = ? WHERE id = 2", {Json{R"({"b":2})"}}), 1);
  EXPECT_NE(read_back(), expected);
}

TEST_P(TransferChecksumTest, MissingRowIsADifferentChecksum) {
  auto rows = coerced(sqlite_rows());
  insert(rows);
  transfer::Checksum expected = checksum_of(rows);
  EXPECT_EQ(conn_->execute("DELETE FROM everything WHERE id = 5"), 1);
  transfer::Checksum now = read_back();
  EXPECT_EQ(now.rows, expected.rows - 1);
  EXPECT_NE(now.sum, expected.sum);
}

KEEL_BACKEND_TEST_SUITE(TransferChecksumTest);

}  // namespace
}  // namespace keel
