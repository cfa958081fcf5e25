// Value conversions.
//
// Every conversion is exact or throws: a TypeError naming the column and saying
// what it held. SQLite stores whatever it is given, so text that spells an
// integer reads as one; but nothing is rounded, truncated, decoded or guessed.
#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>

#include "keel/error.hpp"
#include "keel/value.hpp"
#include "value/uuid.hpp"

namespace keel {

const char* to_string(ValueType type) noexcept {
  switch (type) {
    case ValueType::null: return "null";
    case ValueType::integer: return "integer";
    case ValueType::real: return "real";
    case ValueType::text: return "text";
    case ValueType::blob: return "blob";
    case ValueType::boolean: return "boolean";
    case ValueType::date: return "date";
    case ValueType::timestamp: return "timestamp";
    case ValueType::json: return "json";
    case ValueType::decimal: return "decimal";
  }
  return "null";
}

namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

// Text quoted for a message: long values shortened, control characters escaped,
// so one bad row cannot flood a log.
std::string quoted(std::string_view s) {
  constexpr std::size_t kMax = 60;
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (s.size() > kMax) out += fmt::format("… ({} bytes)", s.size());
  return out;
}

// "text \"abc\"", "integer 7", "blob of 3 bytes": what a value held, for errors.
std::string describe(const Value& v) {
  return std::visit(
      overloaded{
          [](std::monostate) -> std::string { return "NULL"; },
          [](std::int64_t i) { return fmt::format("integer {}", i); },
          [](double d) { return fmt::format("real {}", d); },
          [](const std::string& s) { return "text " + quoted(s); },
          [](const Blob& b) { return fmt::format("blob of {} bytes", b.size()); },
          [](bool b) { return fmt::format("boolean {}", b); },
          [](Date d) { return "date " + format_date(d); },
          [](Timestamp t) { return "timestamp " + format_timestamp(t); },
          [](const Json& j) { return "json " + quoted(j.text); },
          [](const Decimal& d) { return "decimal " + quoted(d.text); },
      },
      v.storage());
}

[[noreturn]] void mismatch(const Value& v, const detail::Label& what, std::string_view expected,
                           std::string_view why = {}) {
  throw TypeError(
      fmt::format("{}: expected {}, got {}{}", what.str(), expected, describe(v), why));
}

// The whole text as an int64: optional '-', digits, nothing else.
std::optional<std::int64_t> parse_int64(std::string_view s) {
  std::int64_t out = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return out;
}

// A decimal literal as PostgreSQL's numeric input takes it, minus NaN and the
// infinities: [+-] digits [. digits] [e [+-] digits], at least one digit before
// the exponent.
bool is_decimal(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::size_t mantissa = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++mantissa;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++mantissa;
  }
  if (mantissa == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t exponent = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++exponent;
    if (exponent == 0) return false;
  }
  return i == s.size();
}

// A decimal's text as int64 when its value is a whole number: numeric(10,2) comes
// back from PostgreSQL as "5.00", which is exactly 5.
std::optional<std::int64_t> decimal_to_int64(std::string_view s) {
  if (auto i = parse_int64(s)) return i;
  std::size_t dot = s.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  std::string_view fraction = s.substr(dot + 1);
  if (fraction.find_first_not_of('0') != std::string_view::npos) return std::nullopt;
  return parse_int64(s.substr(0, dot));
}

std::optional<double> parse_double(std::string_view s) {
  // from_chars also takes "inf", "nan" and hex floats with chars_format::hex; only
  // decimal spellings are numbers here.
  if (!is_decimal(s)) return std::nullopt;
  double out = 0;
  std::string_view digits = s.front() == '+' ? s.substr(1) : s;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || !std::isfinite(out))
    return std::nullopt;
  return out;
}

}  // namespace

Value::Value(unsigned long v) : Value(static_cast<unsigned long long>(v)) {}

Value::Value(unsigned long long v) {
  if (v > static_cast<unsigned long long>(kInt64Max)) {
    throw TypeError(fmt::format("{} does not fit a database integer (at most {})", v, kInt64Max));
  }
  v_ = static_cast<std::int64_t>(v);
}

std::string Value::to_display() const {
  return std::visit(
      overloaded{
          [](std::monostate) -> std::string { return "NULL"; },
          [](std::int64_t i) { return fmt::format("{}", i); },
          // fmt's shortest form round-trips: 0.1 prints as 0.1, not 0.1000000000000000055.
          [](double d) { return fmt::format("{}", d); },
          [](const std::string& s) { return s; },
          [](const Blob& b) {
            // PostgreSQL's bytea hex output, so both backends display alike.
            std::string out = "\\x";
            for (std::uint8_t c : b) out += fmt::format("{:02x}", c);
            return out;
          },
          [](bool b) { return std::string(b ? "true" : "false"); },
          [](Date d) { return format_date(d); },
          [](Timestamp t) { return format_timestamp(t); },
          [](const Json& j) { return j.text; },
          [](const Decimal& d) { return d.text; },
      },
      v_);
}

namespace detail {

void throw_null(const Label& what) {
  throw TypeError(fmt::format("{}: is NULL; read it as std::optional<T> where NULL is allowed",
                              what.str()));
}

void throw_range(const Label& what, std::int64_t v, std::int64_t min, std::uint64_t max) {
  throw TypeError(fmt::format("{}: integer {} is out of range for the requested type ({}..{})",
                              what.str(), v, min, max));
}

std::int64_t to_int64(const Value& v, const Label& what) {
  switch (v.type()) {
    case ValueType::integer: return std::get<std::int64_t>(v.storage());
    case ValueType::boolean: return std::get<bool>(v.storage()) ? 1 : 0;
    case ValueType::real: {
      double d = std::get<double>(v.storage());
      // 2^63 is exact as a double; the range is [-2^63, 2^63).
      if (std::isfinite(d) && d == std::trunc(d) && d >= -9223372036854775808.0 &&
          d < 9223372036854775808.0)
        return static_cast<std::int64_t>(d);
      mismatch(v, what, "integer", " (not a whole number in the 64-bit range)");
    }
    case ValueType::text:
      if (auto i = parse_int64(std::get<std::string>(v.storage()))) return *i;
      break;
    case ValueType::decimal:
      if (auto i = decimal_to_int64(std::get<Decimal>(v.storage()).text)) return *i;
      break;
    default: break;
  }
  mismatch(v, what, "integer");
}

double to_double(const Value& v, const Label& what) {
  switch (v.type()) {
    case ValueType::real: return std::get<double>(v.storage());
    // Integers beyond 2^53 round to the nearest double, as in every SQL engine.
    case ValueType::integer: return static_cast<double>(std::get<std::int64_t>(v.storage()));
    case ValueType::text:
      if (auto d = parse_double(std::get<std::string>(v.storage()))) return *d;
      break;
    case ValueType::decimal:
      if (auto d = parse_double(std::get<Decimal>(v.storage()).text)) return *d;
      break;
    default: break;
  }
  mismatch(v, what, "real");
}

bool to_bool(const Value& v, const Label& what) {
  switch (v.type()) {
    case ValueType::boolean: return std::get<bool>(v.storage());
    case ValueType::integer: {
      std::int64_t i = std::get<std::int64_t>(v.storage());
      if (i == 0 || i == 1) return i == 1;
      mismatch(v, what, "boolean", " (only 0 and 1 are booleans)");
    }
    case ValueType::text: {
      std::string s = std::get<std::string>(v.storage());
      for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (s == "1" || s == "true" || s == "t") return true;
      if (s == "0" || s == "false" || s == "f") return false;
      mismatch(v, what, "boolean", " (text must be 0, 1, true, false, t or f)");
    }
    default: break;
  }
  mismatch(v, what, "boolean");
}

std::string to_text(const Value& v, const Label& what) {
  switch (v.type()) {
    case ValueType::text: return std::get<std::string>(v.storage());
    case ValueType::json: return std::get<Json>(v.storage()).text;
    case ValueType::decimal: return std::get<Decimal>(v.storage()).text;
    case ValueType::date: return format_date(std::get<Date>(v.storage()));
    case ValueType::timestamp: return format_timestamp(std::get<Timestamp>(v.storage()));
    default: break;
  }
  // Numbers are not silently stringified: a column that should be text but holds
  // 42 is a schema problem worth seeing. Use to_display() to print anything.
  mismatch(v, what, "text");
}

Blob to_blob(const Value& v, const Label& what) {
  if (v.type() == ValueType::blob) return std::get<Blob>(v.storage());
  mismatch(v, what, "blob");
}

Date to_date(const Value& v, const Label& what) {
  if (v.type() == ValueType::date) return std::get<Date>(v.storage());
  if (v.type() == ValueType::text) {
    if (auto d = parse_date(std::get<std::string>(v.storage()))) return *d;
    mismatch(v, what, "date", " (text must be YYYY-MM-DD)");
  }
  // A timestamp is not a date: which day it falls on depends on a time zone.
  mismatch(v, what, "date");
}

Timestamp to_timestamp(const Value& v, const Label& what) {
  switch (v.type()) {
    case ValueType::timestamp: return std::get<Timestamp>(v.storage());
    case ValueType::date: return std::chrono::sys_days{std::get<Date>(v.storage())};
    case ValueType::text:
      if (auto t = parse_timestamp(std::get<std::string>(v.storage()))) return *t;
      mismatch(v, what, "timestamp", " (text must be ISO-8601, e.g. 2024-01-02T03:04:05Z)");
    case ValueType::integer: {
      // Unix epoch seconds: what SQLite's unixepoch() and strftime('%s') store.
      // Limited to years 0001-9999 like every other timestamp.
      std::int64_t s = std::get<std::int64_t>(v.storage());
      constexpr std::int64_t kMin = -62135596800;  // 0001-01-01T00:00:00Z
      constexpr std::int64_t kMax = 253402300799;  // 9999-12-31T23:59:59Z
      if (s >= kMin && s <= kMax) return Timestamp{std::chrono::seconds{s}};
      mismatch(v, what, "timestamp", " (as Unix seconds, outside years 0001-9999)");
    }
    default: break;
  }
  mismatch(v, what, "timestamp");
}

Json to_json(const Value& v, const Label& what) {
  if (v.type() == ValueType::json) return std::get<Json>(v.storage());
  // Not validated: SQLite's TEXT holds what the application wrote, and reading it
  // back must not fail where writing it succeeded.
  if (v.type() == ValueType::text) return Json{std::get<std::string>(v.storage())};
  mismatch(v, what, "json");
}

Decimal to_decimal(const Value& v, const Label& what) {
  switch (v.type()) {
    case ValueType::decimal: return std::get<Decimal>(v.storage());
    case ValueType::integer: return Decimal{std::to_string(std::get<std::int64_t>(v.storage()))};
    case ValueType::text: {
      const std::string& s = std::get<std::string>(v.storage());
      if (is_decimal(s)) return Decimal{s};
      mismatch(v, what, "decimal", " (text must be a decimal number such as -12.50)");
    }
    default: break;
  }
  // A real is refused: its decimal expansion is not the number that was meant.
  mismatch(v, what, "decimal");
}

std::string uuid_text(const std::uint8_t* bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xF];
  }
  return out;
}

}  // namespace detail

}  // namespace keel
