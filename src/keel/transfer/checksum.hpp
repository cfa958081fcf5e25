// transfer/checksum.hpp — an order-independent checksum of a table's values as
// the application will read them.
//
// Verification computes it on both sides independently: on the SQLite side from
// the coerced values, on the PostgreSQL side from the values keel reads back. Each
// row is hashed (XXH3, 64 bits) over a canonical encoding of its values, chosen by
// the column's portable type so that a value and its other backend's spelling
// encode alike (integer 1 and true in a boolean column; the text
// "2024-01-02T03:04:05.000000Z" and the Timestamp; '1.50' and numeric(12,4)'s
// '1.5000'; a JSON text and jsonb's reordering of it). Row hashes are added mod
// 2^64 — no sort needed, and unlike xor two equal rows do not cancel — and the
// row count is kept beside the sum. Internal to the transfer layer.
//
// Canonical forms: integers by value; a real by its bit pattern, with every NaN
// one NaN and -0.0 as 0.0 (SQLite does not keep the sign of a zero it stores);
// a numeric by its normalised decimal (no leading or trailing zeros); a date as
// its day number and a timestamp as microseconds since 1970 UTC; JSON as jsonb
// gives it back (keys sorted, a duplicate key's last value, numbers as numeric
// prints them: 1e2 is 100, 1.50 stays 1.50 — jsonb's own output text, so that the
// target's JSON is hashed as PostgreSQL gives it); a uuid in lowercase; text and blobs
// as their bytes. Every value is type-tagged and length-prefixed, so ("ab", "c")
// and ("a", "bc") differ. A value the column's type cannot read (text in an
// integer column, an unparseable timestamp) is encoded as its own kind and
// display text, so it never matches a well-typed value on the other side.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "keel/schema.hpp"
#include "keel/value.hpp"

namespace keel::transfer {

// A table's checksum: the row count and the sum of the rows' hashes.
struct Checksum {
  std::uint64_t rows = 0;
  std::uint64_t sum = 0;
  friend bool operator==(const Checksum&, const Checksum&) = default;
};

// "1234 rows, 0123456789abcdef", for reports and mismatch messages.
std::string to_string(const Checksum& checksum);

// Where a table's JSON values come from: text in any spelling (SQLite), or
// PostgreSQL's jsonb output, which is the canonical spelling already.
enum class JsonSource { any_text, jsonb_output };

// Accumulates the checksum of one table's rows, in any order.
class TableChecksum {
 public:
  // `types`: the portable type of each column, in the order rows give values.
  explicit TableChecksum(std::vector<schema::ColumnType> types,
                         JsonSource json = JsonSource::any_text);

  // Adds one row, one value per column; throws UsageError on a column count mismatch.
  void add_row(std::span<const Value> row);
  // Adds one row whose JSON values come with their jsonb spelling already:
  // `jsonb[i]` for each JSON column i whose value is not NULL (coerce() gives it
  // while validating), so that no document is parsed twice.
  void add_row(std::span<const Value> row, std::span<const std::string> jsonb);
  // The checksum of the rows added so far.
  Checksum result() const noexcept { return total_; }

 private:
  std::vector<schema::ColumnType> types_;
  JsonSource json_;
  std::string buffer_;  // one row's encoding, reused
  Checksum total_;
};

// Appends the canonical encoding of `value` read as a `type` column's value.
void append_canonical(std::string& out, const Value& value, const schema::ColumnType& type,
                      JsonSource json = JsonSource::any_text);

}  // namespace keel::transfer
