// Coercion of SQLite values to their target column's type (rules in coerce.hpp).
#include "transfer/coerce.hpp"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <string_view>

#include "transfer/forms.hpp"
#include "value/uuid.hpp"

namespace keel::transfer {

const char* to_string(CoercionKind kind) noexcept {
  switch (kind) {
    case CoercionKind::none: return "none";
    case CoercionKind::integer_from_text: return "integer_from_text";
    case CoercionKind::integer_from_real: return "integer_from_real";
    case CoercionKind::real_from_integer: return "real_from_integer";
    case CoercionKind::real_from_text: return "real_from_text";
    case CoercionKind::numeric_from_integer: return "numeric_from_integer";
    case CoercionKind::numeric_from_real: return "numeric_from_real";
    case CoercionKind::numeric_from_text: return "numeric_from_text";
    case CoercionKind::boolean_from_integer: return "boolean_from_integer";
    case CoercionKind::boolean_from_text: return "boolean_from_text";
    case CoercionKind::timestamp_from_text: return "timestamp_from_text";
    case CoercionKind::timestamp_from_text_as_utc: return "timestamp_from_text_as_utc";
    case CoercionKind::timestamp_from_date_text: return "timestamp_from_date_text";
    case CoercionKind::timestamp_from_unix_seconds: return "timestamp_from_unix_seconds";
    case CoercionKind::timestamp_from_unix_seconds_real: return "timestamp_from_unix_seconds_real";
    case CoercionKind::date_from_text: return "date_from_text";
    case CoercionKind::date_from_midnight_timestamp: return "date_from_midnight_timestamp";
    case CoercionKind::json_from_text: return "json_from_text";
    case CoercionKind::json_from_number: return "json_from_number";
    case CoercionKind::uuid_lowercased: return "uuid_lowercased";
    case CoercionKind::uuid_from_blob: return "uuid_from_blob";
    case CoercionKind::text_from_integer: return "text_from_integer";
    case CoercionKind::text_from_real: return "text_from_real";
    case CoercionKind::text_from_blob: return "text_from_blob";
    case CoercionKind::blob_from_text: return "blob_from_text";
  }
  return "none";
}

bool is_storage_form(CoercionKind kind) noexcept {
  switch (kind) {
    case CoercionKind::numeric_from_text:
    case CoercionKind::boolean_from_integer:
    case CoercionKind::timestamp_from_text:
    case CoercionKind::date_from_text:
    case CoercionKind::json_from_text: return true;
    default: return false;
  }
}

const char* to_string(RefusalKind kind) noexcept {
  switch (kind) {
    case RefusalKind::incompatible: return "incompatible";
    case RefusalKind::not_an_integer: return "not_an_integer";
    case RefusalKind::not_a_number: return "not_a_number";
    case RefusalKind::not_a_boolean: return "not_a_boolean";
    case RefusalKind::not_finite: return "not_finite";
    case RefusalKind::out_of_range: return "out_of_range";
    case RefusalKind::inexact: return "inexact";
    case RefusalKind::numeric_overflow: return "numeric_overflow";
    case RefusalKind::invalid_datetime: return "invalid_datetime";
    case RefusalKind::invalid_json: return "invalid_json";
    case RefusalKind::invalid_uuid: return "invalid_uuid";
    case RefusalKind::nul_byte: return "nul_byte";
    case RefusalKind::invalid_utf8: return "invalid_utf8";
    case RefusalKind::too_long: return "too_long";
    case RefusalKind::null_in_not_null: return "null_in_not_null";
  }
  return "incompatible";
}

namespace {

using namespace std::chrono;
using schema::ColumnType;
using schema::TypeKind;

// Unix seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: keel's timestamp range.
constexpr std::int64_t kMinUnix = -62135596800;
constexpr std::int64_t kMaxUnix = 253402300799;
constexpr std::int64_t kMaxExactInteger = std::int64_t{1} << 53;
// PostgreSQL's limits for an unconstrained numeric.
constexpr std::int64_t kNumericIntegerDigits = 131072;
constexpr std::int64_t kNumericFractionDigits = 16383;

Coerced converted(CoercionKind kind, Value value) {
  Coerced c;
  c.kind = kind;
  c.value = std::move(value);
  return c;
}

Coerced refused(RefusalKind kind, const Value& v, const ColumnType& t, std::string_view why) {
  Coerced c;
  c.refusal = Refusal{
      kind, fmt::format("{} {} ({} column)", forms::describe(v), why, schema::to_string(t))};
  return c;
}

Coerced incompatible(const Value& v, const ColumnType& t) {
  return refused(RefusalKind::incompatible, v, t, "has no exact meaning in this column");
}

// NUL, UTF-8 and string(n) length: what every text bound for a text column must pass.
std::optional<Coerced> text_problem(std::string_view s, const Value& v, const ColumnType& t) {
  forms::Utf8Check check = forms::check_utf8(s);
  if (check.problem == forms::Utf8Check::Problem::nul)
    return refused(RefusalKind::nul_byte, v, t,
                   fmt::format("holds a NUL byte at byte {}, which PostgreSQL text cannot hold",
                               check.offset));
  if (check.problem == forms::Utf8Check::Problem::invalid)
    return refused(RefusalKind::invalid_utf8, v, t,
                   fmt::format("is not valid UTF-8 (at byte {})", check.offset));
  if (t.kind == TypeKind::string && check.characters > static_cast<std::size_t>(t.length))
    return refused(RefusalKind::too_long, v, t,
                   fmt::format("has {} characters, more than {}", check.characters, t.length));
  return std::nullopt;
}

// ---- integers --------------------------------------------------------------

// An integer literal: optional sign, decimal digits, nothing else.
enum class IntegerText { ok, not_integer, out_of_range };
IntegerText parse_integer_text(std::string_view s, std::int64_t& out) {
  std::string_view digits = s;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) digits.remove_prefix(1);
  if (digits.empty()) return IntegerText::not_integer;
  for (char c : digits)
    if (c < '0' || c > '9') return IntegerText::not_integer;
  // from_chars takes '-' but not '+'.
  std::string_view number = s.front() == '+' ? digits : s;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), out);
  if (ec == std::errc::result_out_of_range) return IntegerText::out_of_range;
  return ec == std::errc() && end == number.data() + number.size() ? IntegerText::ok
                                                                   : IntegerText::not_integer;
}

Coerced to_integer(const Value& v, const ColumnType& t) {
  std::int64_t lo = std::numeric_limits<std::int64_t>::min();
  std::int64_t hi = std::numeric_limits<std::int64_t>::max();
  if (t.kind == TypeKind::integer) {
    lo = std::numeric_limits<std::int32_t>::min();
    hi = std::numeric_limits<std::int32_t>::max();
  } else if (t.kind == TypeKind::smallint) {
    lo = std::numeric_limits<std::int16_t>::min();
    hi = std::numeric_limits<std::int16_t>::max();
  }
  auto out_of_range = [&] {
    return refused(RefusalKind::out_of_range, v, t,
                   fmt::format("is out of range ({}..{})", lo, hi));
  };
  switch (v.type()) {
    case ValueType::integer: {
      std::int64_t i = std::get<std::int64_t>(v.storage());
      if (i < lo || i > hi) return out_of_range();
      return {};
    }
    case ValueType::real: {
      double d = std::get<double>(v.storage());
      if (!std::isfinite(d)) return refused(RefusalKind::not_finite, v, t, "is not a number");
      if (d != std::trunc(d))
        return refused(RefusalKind::not_an_integer, v, t, "is not a whole number");
      // 2^63 is exact as a double; the int64 range is [-2^63, 2^63).
      if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) return out_of_range();
      auto i = static_cast<std::int64_t>(d);
      if (i < lo || i > hi) return out_of_range();
      return converted(CoercionKind::integer_from_real, Value(i));
    }
    case ValueType::text: {
      std::int64_t i = 0;
      switch (parse_integer_text(std::get<std::string>(v.storage()), i)) {
        case IntegerText::not_integer:
          return refused(RefusalKind::not_an_integer, v, t, "is not an integer literal");
        case IntegerText::out_of_range: return out_of_range();
        case IntegerText::ok: break;
      }
      if (i < lo || i > hi) return out_of_range();
      return converted(CoercionKind::integer_from_text, Value(i));
    }
    default: return incompatible(v, t);
  }
}

// ---- reals -------------------------------------------------------------------

Coerced to_real(const Value& v, const ColumnType& t) {
  switch (v.type()) {
    case ValueType::real: return {};
    case ValueType::integer: {
      std::int64_t i = std::get<std::int64_t>(v.storage());
      if (i < -kMaxExactInteger || i > kMaxExactInteger)
        return refused(RefusalKind::out_of_range, v, t,
                       "is beyond 2^53, where a double can no longer hold every integer");
      return converted(CoercionKind::real_from_integer, Value(static_cast<double>(i)));
    }
    case ValueType::text: {
      const std::string& s = std::get<std::string>(v.storage());
      auto written = forms::parse_decimal(s);
      if (!written) return refused(RefusalKind::not_a_number, v, t, "is not a decimal number");
      std::string_view number = s.front() == '+' ? std::string_view(s).substr(1) : s;
      double d = 0;
      auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), d);
      if (ec == std::errc::result_out_of_range)
        return refused(RefusalKind::out_of_range, v, t, "is beyond what a double can hold");
      if (ec != std::errc() || end != number.data() + number.size())
        return refused(RefusalKind::not_a_number, v, t, "is not a decimal number");
      auto read = forms::parse_decimal(forms::shortest_plain(d));
      if (!read || read->digits != written->digits || read->point != written->point ||
          read->negative != written->negative)
        return refused(RefusalKind::inexact, v, t,
                       fmt::format("would read back as {}", forms::real_text(d)));
      return converted(CoercionKind::real_from_text, Value(d));
    }
    default: return incompatible(v, t);
  }
}

// ---- numeric -----------------------------------------------------------------

// Refuses what numeric(p,s) would round or reject.
std::optional<Coerced> numeric_problem(const forms::DecimalNumber& d, const Value& v,
                                       const ColumnType& t) {
  std::int64_t max_integer = t.precision > 0 ? t.precision - t.scale : kNumericIntegerDigits;
  std::int64_t max_fraction = t.precision > 0 ? t.scale : kNumericFractionDigits;
  if (d.integer_digits() > max_integer)
    return refused(
        RefusalKind::numeric_overflow, v, t,
        fmt::format("has {} integer digits, more than {}", d.integer_digits(), max_integer));
  if (d.fraction_digits() > max_fraction)
    return refused(RefusalKind::inexact, v, t,
                   fmt::format("has {} significant fraction digits, more than {} (it would be "
                               "rounded)",
                               d.fraction_digits(), max_fraction));
  return std::nullopt;
}

Coerced to_numeric(const Value& v, const ColumnType& t) {
  switch (v.type()) {
    case ValueType::decimal: {
      auto d = forms::parse_decimal(std::get<Decimal>(v.storage()).text);
      if (!d) return refused(RefusalKind::not_a_number, v, t, "is not a decimal number");
      if (auto problem = numeric_problem(*d, v, t)) return std::move(*problem);
      return {};
    }
    case ValueType::integer: {
      std::string text = std::to_string(std::get<std::int64_t>(v.storage()));
      if (auto problem = numeric_problem(*forms::parse_decimal(text), v, t))
        return std::move(*problem);
      return converted(CoercionKind::numeric_from_integer, Value(Decimal{std::move(text)}));
    }
    case ValueType::real: {
      double r = std::get<double>(v.storage());
      if (!std::isfinite(r))
        return refused(RefusalKind::not_finite, v, t, "is not a finite number");
      std::string text = forms::shortest_plain(r);
      if (auto problem = numeric_problem(*forms::parse_decimal(text), v, t))
        return std::move(*problem);
      return converted(CoercionKind::numeric_from_real, Value(Decimal{std::move(text)}));
    }
    case ValueType::text: {
      const std::string& s = std::get<std::string>(v.storage());
      auto d = forms::parse_decimal(s);
      if (!d) return refused(RefusalKind::not_a_number, v, t, "is not a decimal number");
      if (auto problem = numeric_problem(*d, v, t)) return std::move(*problem);
      // Carried as written: numeric takes every spelling parse_decimal does.
      return converted(CoercionKind::numeric_from_text, Value(Decimal{s}));
    }
    default: return incompatible(v, t);
  }
}

// ---- booleans ----------------------------------------------------------------

bool equals_lower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

Coerced to_boolean(const Value& v, const ColumnType& t) {
  switch (v.type()) {
    case ValueType::boolean: return {};
    case ValueType::integer: {
      std::int64_t i = std::get<std::int64_t>(v.storage());
      if (i != 0 && i != 1) return refused(RefusalKind::not_a_boolean, v, t, "is not 0 or 1");
      return converted(CoercionKind::boolean_from_integer, Value(i == 1));
    }
    case ValueType::text: {
      const std::string& s = std::get<std::string>(v.storage());
      for (std::string_view yes : {"1", "true", "t", "yes", "y", "on"})
        if (equals_lower(s, yes)) return converted(CoercionKind::boolean_from_text, Value(true));
      for (std::string_view no : {"0", "false", "f", "no", "n", "off"})
        if (equals_lower(s, no)) return converted(CoercionKind::boolean_from_text, Value(false));
      return refused(RefusalKind::not_a_boolean, v, t,
                     "is not a boolean spelling (0/1, true/false, t/f, yes/no, y/n, on/off)");
    }
    default: return incompatible(v, t);
  }
}

// ---- dates and timestamps ----------------------------------------------------

struct ParsedTimestamp {
  std::optional<Timestamp> value;
  bool date_only = false;
  bool has_offset = false;
  bool too_precise = false;  // non-zero digits past microseconds
};

// parse_timestamp, minus what it would round: it truncates past microseconds.
ParsedTimestamp read_timestamp(std::string_view s) {
  ParsedTimestamp out;
  out.date_only = s.size() == 10;
  // YYYY-MM-DD?HH:MM:SS.f…: the fraction starts at 20.
  if (s.size() > 20 && s[19] == '.') {
    std::size_t end = 20;
    while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
    for (std::size_t i = 26; i < end; ++i)
      if (s[i] != '0') out.too_precise = true;
    if (out.too_precise) return out;
  }
  out.value = parse_timestamp(s);
  if (!out.value || out.date_only) return out;
  char last = s.back();
  out.has_offset =
      last == 'Z' || last == 'z' || s.find_first_of("+-", 11) != std::string_view::npos;
  return out;
}

Coerced to_timestamp(const Value& v, const ColumnType& t) {
  auto out_of_range = [&] {
    return refused(RefusalKind::out_of_range, v, t, "is outside years 0001-9999 as unix seconds");
  };
  switch (v.type()) {
    case ValueType::timestamp: return {};
    case ValueType::text: {
      ParsedTimestamp p = read_timestamp(std::get<std::string>(v.storage()));
      if (p.too_precise)
        return refused(RefusalKind::inexact, v, t,
                       "has digits past microseconds, which timestamptz would round");
      if (!p.value)
        return refused(RefusalKind::invalid_datetime, v, t,
                       "is not an ISO-8601 timestamp (e.g. 2024-01-02T03:04:05Z)");
      CoercionKind kind = p.date_only    ? CoercionKind::timestamp_from_date_text
                          : p.has_offset ? CoercionKind::timestamp_from_text
                                         : CoercionKind::timestamp_from_text_as_utc;
      return converted(kind, Value(*p.value));
    }
    case ValueType::integer: {
      std::int64_t s = std::get<std::int64_t>(v.storage());
      if (s < kMinUnix || s > kMaxUnix) return out_of_range();
      return converted(CoercionKind::timestamp_from_unix_seconds, Value(Timestamp{seconds{s}}));
    }
    case ValueType::real: {
      double d = std::get<double>(v.storage());
      if (!std::isfinite(d)) return refused(RefusalKind::not_finite, v, t, "is not a time");
      if (d < static_cast<double>(kMinUnix) || d >= static_cast<double>(kMaxUnix + 1))
        return out_of_range();
      // The digits the double spells are the ones the application wrote.
      std::string text = forms::shortest_plain(d);
      std::string_view whole = text;
      std::string_view fraction;
      if (std::size_t dot = whole.find('.'); dot != std::string_view::npos) {
        fraction = whole.substr(dot + 1);
        whole = whole.substr(0, dot);
      }
      if (fraction.size() > 6)
        return refused(RefusalKind::inexact, v, t,
                       "has digits past microseconds, which timestamptz would round");
      bool negative = whole.front() == '-';
      if (negative) whole.remove_prefix(1);
      std::int64_t secs = 0, micros = 0;
      std::from_chars(whole.data(), whole.data() + whole.size(), secs);
      for (std::size_t i = 0; i < 6; ++i)
        micros = micros * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
      std::int64_t total = secs * 1'000'000 + micros;
      return converted(CoercionKind::timestamp_from_unix_seconds_real,
                       Value(Timestamp{microseconds{negative ? -total : total}}));
    }
    default: return incompatible(v, t);
  }
}

Coerced to_date(const Value& v, const ColumnType& t) {
  switch (v.type()) {
    case ValueType::date: return {};
    case ValueType::text: {
      const std::string& s = std::get<std::string>(v.storage());
      if (auto d = parse_date(s)) return converted(CoercionKind::date_from_text, Value(*d));
      ParsedTimestamp p = read_timestamp(s);
      if (p.value) {
        auto day = floor<days>(*p.value);
        if (*p.value == day)
          return converted(CoercionKind::date_from_midnight_timestamp,
                           Value(Date{year_month_day{day}}));
        return refused(RefusalKind::invalid_datetime, v, t,
                       "has a time of day other than midnight UTC; a date column takes "
                       "YYYY-MM-DD");
      }
      return refused(RefusalKind::invalid_datetime, v, t, "is not a date (YYYY-MM-DD)");
    }
    default: return incompatible(v, t);
  }
}

// ---- json, uuid, text, blob ------------------------------------------------------

// Whether `text` can be stored as jsonb; with `spell`, its jsonb spelling in `out`
// from the same parse (the reason for a refusal costs a second one, rarely).
std::string json_check(const std::string& text, bool spell, std::string& out) {
  if (!spell) return forms::json_problem(text);
  if (auto jsonb = forms::jsonb_text(text)) {
    out = std::move(*jsonb);
    return {};
  }
  std::string problem = forms::json_problem(text);
  return problem.empty() ? std::string("not storable as jsonb") : problem;
}

Coerced to_json(const Value& v, const ColumnType& t, bool spell) {
  std::string jsonb;
  switch (v.type()) {
    case ValueType::json: {
      std::string problem = json_check(std::get<Json>(v.storage()).text, spell, jsonb);
      if (!problem.empty())
        return refused(RefusalKind::invalid_json, v, t, "is not JSON: " + problem);
      Coerced c;
      c.jsonb = std::move(jsonb);
      return c;
    }
    case ValueType::text: {
      const std::string& s = std::get<std::string>(v.storage());
      std::string problem = json_check(s, spell, jsonb);
      if (!problem.empty())
        return refused(RefusalKind::invalid_json, v, t, "is not JSON: " + problem);
      Coerced c = converted(CoercionKind::json_from_text, Value(Json{s}));
      c.jsonb = std::move(jsonb);
      return c;
    }
    case ValueType::integer: {
      std::string text = std::to_string(std::get<std::int64_t>(v.storage()));
      Coerced c = converted(CoercionKind::json_from_number, Value(Json{text}));
      if (spell) c.jsonb = std::move(text);
      return c;
    }
    case ValueType::real: {
      double d = std::get<double>(v.storage());
      if (!std::isfinite(d)) return refused(RefusalKind::not_finite, v, t, "is not a JSON number");
      std::string text = forms::real_text(d);
      Coerced c = converted(CoercionKind::json_from_number, Value(Json{text}));
      if (spell) c.jsonb = forms::jsonb_text(text).value_or(text);
      return c;
    }
    default: return incompatible(v, t);
  }
}

Coerced to_uuid(const Value& v, const ColumnType& t) {
  switch (v.type()) {
    case ValueType::text: {
      const std::string& s = std::get<std::string>(v.storage());
      if (!forms::is_uuid_text(s))
        return refused(RefusalKind::invalid_uuid, v, t, "is not a UUID (8-4-4-4-12 hex digits)");
      if (s.find_first_of("ABCDEF") == std::string::npos) return {};
      std::string lower = s;
      for (char& c : lower)
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
      return converted(CoercionKind::uuid_lowercased, Value(std::move(lower)));
    }
    case ValueType::blob: {
      const Blob& b = std::get<Blob>(v.storage());
      if (b.size() != 16)
        return refused(RefusalKind::invalid_uuid, v, t, "is not a UUID (16 bytes)");
      return converted(CoercionKind::uuid_from_blob, Value(keel::detail::uuid_text(b.data())));
    }
    default: return incompatible(v, t);
  }
}

Coerced to_text(const Value& v, const ColumnType& t) {
  switch (v.type()) {
    case ValueType::text: {
      if (auto problem = text_problem(std::get<std::string>(v.storage()), v, t))
        return std::move(*problem);
      return {};
    }
    case ValueType::integer: {
      std::string s = std::to_string(std::get<std::int64_t>(v.storage()));
      if (auto problem = text_problem(s, v, t)) return std::move(*problem);
      return converted(CoercionKind::text_from_integer, Value(std::move(s)));
    }
    case ValueType::real: {
      double d = std::get<double>(v.storage());
      if (!std::isfinite(d))
        return refused(RefusalKind::not_finite, v, t, "has no text an application could parse");
      std::string s = forms::real_text(d);
      if (auto problem = text_problem(s, v, t)) return std::move(*problem);
      return converted(CoercionKind::text_from_real, Value(std::move(s)));
    }
    case ValueType::blob: {
      const Blob& b = std::get<Blob>(v.storage());
      std::string_view bytes(reinterpret_cast<const char*>(b.data()), b.size());
      if (auto problem = text_problem(bytes, v, t)) return std::move(*problem);
      return converted(CoercionKind::text_from_blob, Value(std::string(bytes)));
    }
    default: return incompatible(v, t);
  }
}

Coerced to_blob(const Value& v, const ColumnType& t) {
  switch (v.type()) {
    case ValueType::blob: return {};
    case ValueType::text: {
      const std::string& s = std::get<std::string>(v.storage());
      return converted(CoercionKind::blob_from_text, Value(Blob(s.begin(), s.end())));
    }
    default: return incompatible(v, t);
  }
}

}  // namespace

Coerced coerce(const Value& source, const ColumnType& target, bool spell_jsonb) {
  if (source.is_null()) return {};
  switch (target.kind) {
    case TypeKind::integer:
    case TypeKind::bigint:
    case TypeKind::smallint: return to_integer(source, target);
    case TypeKind::boolean: return to_boolean(source, target);
    case TypeKind::real: return to_real(source, target);
    case TypeKind::numeric: return to_numeric(source, target);
    case TypeKind::text:
    case TypeKind::string: return to_text(source, target);
    case TypeKind::blob: return to_blob(source, target);
    case TypeKind::date: return to_date(source, target);
    case TypeKind::timestamp: return to_timestamp(source, target);
    case TypeKind::json: return to_json(source, target, spell_jsonb);
    case TypeKind::uuid: return to_uuid(source, target);
  }
  return incompatible(source, target);
}

}  // namespace keel::transfer
