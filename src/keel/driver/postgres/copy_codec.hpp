// driver/postgres/copy_codec.hpp — Values in COPY's binary and text formats.
//
// Binary COPY is chosen per column from its type OID, once per load; a Value is
// converted to the column's type only where the conversion is exact (an integer
// that fits, text that parses completely…), otherwise TypeError says why, and the
// bulk writer adds table, row and column. Pure functions, no libpq. Internal.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "keel/value.hpp"

namespace keel::driver::pg {

// How a column is written in binary COPY.
enum class CopyType : std::uint8_t {
  int2, int4, int8, float4, float8, boolean, text, bytea, numeric, date, timestamp,
  json, jsonb, uuid,
  unsupported,  // no binary encoder here: the whole load goes in text format
};

// The encoder for a column of type `oid` (domains arrive as their base type).
CopyType copy_type(std::uint32_t oid) noexcept;
// The SQL type name, for messages.
const char* to_string(CopyType type) noexcept;

// The signature, flags and header extension that open a binary COPY stream.
void append_copy_header(std::string& out);
// The end-of-data marker of a binary COPY stream.
void append_copy_trailer(std::string& out);

inline void append_be16(std::string& out, std::uint16_t v) {
  char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 2);
}
inline void append_be32(std::string& out, std::uint32_t v) {
  v = __builtin_bswap32(v);
  out.append(reinterpret_cast<const char*>(&v), 4);
}
inline void append_be64(std::string& out, std::uint64_t v) {
  v = __builtin_bswap64(v);
  out.append(reinterpret_cast<const char*>(&v), 8);
}

// One field of a binary COPY row: its length (-1 for NULL) and bytes. Throws
// TypeError (no location) when `value` cannot be carried exactly as `type`.
void append_binary_field(std::string& out, CopyType type, const Value& value);

// One field in COPY's text format: \N for NULL, backslash escapes, bytea as \\x…
// Throws TypeError for text holding a NUL byte.
void append_text_field(std::string& out, const Value& value);

// numeric's binary form (ndigits, weight, sign, dscale, base-10000 digits) of a
// decimal number written as text: [+-]digits[.digits][e[+-]exp], NaN, [+-]Infinity.
// The scale is kept (1.50 stays 1.50). Throws TypeError for anything else.
void append_numeric(std::string& out, std::string_view decimal);

// The 16 bytes of a UUID written as 32 hex digits, hyphens optional between the
// canonical groups, braces optional; false when it is not one.
bool parse_uuid(std::string_view text, std::uint8_t (&out)[16]);

}  // namespace keel::driver::pg
