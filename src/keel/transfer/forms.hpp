// transfer/forms.hpp — the text forms coercion and checksums both read: UTF-8
// checks, decimal numbers, UUIDs, JSON. Internal to the transfer layer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "keel/value.hpp"

namespace keel::transfer::forms {

// ---- UTF-8 -------------------------------------------------------------------

struct Utf8Check {
  enum class Problem { none, nul, invalid };
  Problem problem = Problem::none;
  std::size_t offset = 0;      // byte offset of the problem
  std::size_t characters = 0;  // code points, when there is no problem
};
// Strict UTF-8 as PostgreSQL takes it (no overlong forms, surrogates or code
// points past U+10FFFF), and no NUL byte, which PostgreSQL text cannot hold.
Utf8Check check_utf8(std::string_view s) noexcept;

// ---- Decimals ----------------------------------------------------------------

// A decimal number reduced to its significant digits: the value is
// 0.<digits> × 10^point, with `digits` free of leading and trailing zeros (empty
// for zero, which is never negative). `scale` is the number of fraction digits
// PostgreSQL's numeric keeps for the spelling (its dscale: "1.50" has 2, "1e2" 0).
struct DecimalNumber {
  bool negative = false;
  std::string digits;
  std::int64_t point = 0;
  std::int64_t scale = 0;

  // Digits before the decimal point / significant digits after it.
  std::int64_t integer_digits() const noexcept { return point > 0 ? point : 0; }
  std::int64_t fraction_digits() const noexcept {
    std::int64_t n = static_cast<std::int64_t>(digits.size()) - point;
    return n > 0 ? n : 0;
  }
  friend bool operator==(const DecimalNumber&, const DecimalNumber&) = default;
};

// [+-] digits [. digits] [e [+-] digits], at least one mantissa digit; no spaces,
// no NaN or infinities. nullopt otherwise.
std::optional<DecimalNumber> parse_decimal(std::string_view s);

// The decimal's text without exponent and without trailing fraction zeros, e.g.
// "-12.5"; `with_scale` pads the fraction to `scale` digits as numeric prints it.
std::string plain_text(const DecimalNumber& d, bool with_scale = false);

// The shortest text that reads back as `d` (finite), in plain notation
// ("0.0000001", "100000000000000000000"): exact decimal text for a numeric.
std::string shortest_plain(double d);
// The shortest round-trip text of `d` (finite), as SQLite and Python print a
// real: always with a fraction or exponent ("3.0", "0.1", "1.0e+20").
std::string real_text(double d);

// ---- UUIDs -------------------------------------------------------------------

// True for 8-4-4-4-12 hex digits, any case. (The text of 16 bytes: value/uuid.hpp.)
bool is_uuid_text(std::string_view s) noexcept;

// ---- JSON --------------------------------------------------------------------

// Why `text` cannot be stored as jsonb (invalid JSON, or a \u0000 that jsonb
// refuses), or "" when it can. nlohmann::json also refuses a number past a
// double's range (1e400), which jsonb would take: refused, never changed.
std::string json_problem(std::string_view text);
// The document exactly as PostgreSQL prints it after storing it as jsonb (jsonb_out):
// keys ordered shorter first then bytewise, a duplicate key's last value kept,
// ", " and ": " between items, numbers as numeric prints them ("1e2" → 100, "1.50"
// stays 1.50), strings escaped as escape_json() does. nullopt for invalid JSON and
// for what jsonb refuses (json_problem() says why).
// Verification hashes this on the SQLite side and PostgreSQL's own text on the
// other, so the target's JSON is never parsed again.
std::optional<std::string> jsonb_text(std::string_view text);

// ---- Messages ----------------------------------------------------------------

// What a value held, for a refusal: "text \"4.2\"", "integer 7", "blob of 3 bytes";
// long text shortened and control characters escaped.
std::string describe(const Value& v);

}  // namespace keel::transfer::forms
