// transfer/coerce.hpp — a SQLite value made into what its target column holds.
//
// SQLite stores what it is given; the target column's portable type decides what
// a value must become. A conversion is applied only when it is lossless — the
// value an application reads afterwards means exactly what it read before — and
// every conversion is named, so transfer can count it per table, column and kind.
// Anything else is refused with the reason; nothing is rounded, trimmed,
// truncated, decoded or guessed. Internal to the transfer layer.
//
// Rules where a choice had to be made:
//  - integer text is an optional sign and decimal digits ("+42", "007", "-7");
//    whitespace, a fraction ("4.0") or an exponent are refused;
//  - a real loads into an integer column only when it is a whole number in range;
//    an integer into a real column only when |i| ≤ 2^53 (exactly representable);
//  - text loads into a real column only when the double it reads as prints back as
//    the same number ("0.1" yes, "0.10000000000000001" no);
//  - NaN and ±Infinity load into a real column (double precision holds them) and
//    are refused everywhere else;
//  - a timestamp without offset is UTC; more than 6 fraction digits are refused
//    unless the extra ones are zeros; unix seconds are integer or real seconds
//    (real: at most 6 decimals as the shortest spelling of the double shows);
//  - a date column takes 'YYYY-MM-DD' and a timestamp text at exactly midnight UTC;
//  - a real in a text column becomes its shortest round-trip text with a fraction
//    or exponent, as SQLite and Python print it ("3.0", "0.1", "1.0e+20");
//  - string(n) counts characters (code points), as PostgreSQL's varchar(n) does;
//  - a uuid column takes 8-4-4-4-12 hex text (lowercased) or a 16-byte blob.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "keel/schema.hpp"
#include "keel/value.hpp"

namespace keel::transfer {

// A lossless conversion. "Storage form" kinds are the portable type's own SQLite
// representation (DESIGN.md's type table): every value of a keel-created database
// takes one, so a report may list them apart from the rest.
enum class CoercionKind : std::uint8_t {
  none,                              // loaded as it is
  integer_from_text,                 // "42" in an integer column
  integer_from_real,                 // 3.0 in an integer column
  real_from_integer,                 // 7 in a real column
  real_from_text,                    // "0.5" in a real column
  numeric_from_integer,              // 12 in a numeric column
  numeric_from_real,                 // 1.5 in a numeric column, as its shortest decimal
  numeric_from_text,                 // "12.50" (storage form)
  boolean_from_integer,              // 0 / 1 (storage form)
  boolean_from_text,                 // 'true', 'F', 'yes', 'off', '1'…
  timestamp_from_text,               // ISO-8601 with Z or an offset (storage form)
  timestamp_from_text_as_utc,        // ISO-8601 without offset, taken as UTC
  timestamp_from_date_text,          // 'YYYY-MM-DD' as midnight UTC
  timestamp_from_unix_seconds,       // integer seconds since 1970 UTC
  timestamp_from_unix_seconds_real,  // real seconds, at most microsecond digits
  date_from_text,                    // 'YYYY-MM-DD' (storage form)
  date_from_midnight_timestamp,      // '2024-01-02 00:00:00' / '…T00:00:00Z'
  json_from_text,                    // valid JSON text (storage form)
  json_from_number,                  // 42 or 1.5 in a json column
  uuid_lowercased,                   // 'A0EEBC99-…' → 'a0eebc99-…'
  uuid_from_blob,                    // 16 bytes
  text_from_integer,                 // 42 in a text column → "42"
  text_from_real,                    // 1.5 in a text column → "1.5"
  text_from_blob,                    // a blob of UTF-8 without NUL in a text column
  blob_from_text,                    // text in a blob column, as its exact bytes
};

// The kind's stable name, e.g. "integer_from_text".
const char* to_string(CoercionKind kind) noexcept;
// True for the portable types' own SQLite representations (see CoercionKind).
bool is_storage_form(CoercionKind kind) noexcept;

// Why a value cannot be carried exactly.
enum class RefusalKind : std::uint8_t {
  incompatible,      // a value of this kind has no meaning in the column (blob in integer)
  not_an_integer,    // text or real that is not a whole number
  not_a_number,      // text that is not a decimal number
  not_a_boolean,     // 2, 'maybe'
  not_finite,        // NaN or ±Infinity outside a real column
  out_of_range,      // past smallint/integer/bigint, 2^53 for a real, years 0001-9999
  inexact,           // would round: numeric scale, sub-microsecond digits, a real's text
  numeric_overflow,  // more integer digits than numeric(p,s) allows
  invalid_datetime,  // not an ISO-8601 date or timestamp (or a date with a time of day)
  invalid_json,      // not JSON, or a \u0000 jsonb refuses
  invalid_uuid,      // not 8-4-4-4-12 hex, or a blob not 16 bytes long
  nul_byte,          // text with a NUL byte, which PostgreSQL text cannot hold
  invalid_utf8,      // text that is not UTF-8
  too_long,          // more characters than string(n)
  null_in_not_null,  // NULL where the target column is NOT NULL (transfer checks it, not coerce)
};

// The kind's stable name, e.g. "invalid_datetime".
const char* to_string(RefusalKind kind) noexcept;

struct Refusal {
  RefusalKind kind = RefusalKind::incompatible;
  // What the value held and why it cannot load, e.g. `text "4.2" is not an
  // integer (integer column)`; the caller adds table, key and column.
  std::string reason;
};

// The outcome of coercing one value: the kind applied and the converted value,
// or a refusal.
struct Coerced {
  CoercionKind kind = CoercionKind::none;
  Value value;  // the converted value; unused (NULL) when kind is none
  std::optional<Refusal> refusal;
  // For a JSON target coerced with `spell_jsonb`: the document as jsonb prints it
  // (forms::jsonb_text), found while validating it; verification hashes it.
  std::string jsonb;

  bool ok() const noexcept { return !refusal; }
  // The value to load: `source` itself when nothing was converted.
  const Value& value_or(const Value& source) const noexcept {
    return kind == CoercionKind::none ? source : value;
  }
};

// What `source` must become to load into a `target` column, as the Value kind the
// PostgreSQL driver binds for it (bool, Timestamp, Date, Json, Decimal, text for
// uuid…). A value that loads as it is (kind none) is never copied: value_or()
// hands back the source. NULL is always none: nullability is the target's to enforce.
// `spell_jsonb`: also fill Coerced::jsonb for a JSON target, at no second parse.
Coerced coerce(const Value& source, const schema::ColumnType& target, bool spell_jsonb = false);

}  // namespace keel::transfer
