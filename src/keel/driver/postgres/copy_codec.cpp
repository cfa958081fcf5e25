#include "driver/postgres/copy_codec.hpp"

#include <fmt/format.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "keel/error.hpp"

namespace keel::driver::pg {

namespace {

// Days and microseconds from the Unix epoch to PostgreSQL's, 2000-01-01.
constexpr std::int64_t kPgEpochDays = 10957;
constexpr std::int64_t kPgEpochMicros = kPgEpochDays * 86400 * 1000000;

std::string excerpt(std::string_view text) {
  constexpr std::size_t kMax = 60;
  return text.size() <= kMax ? std::string(text) : std::string(text.substr(0, kMax)) + "…";
}

[[noreturn]] void refuse(const Value& v, CopyType type) {
  throw TypeError(fmt::format("a {} value cannot be written to a {} column", to_string(v.type()),
                              to_string(type)));
}

[[noreturn]] void unparsable(std::string_view text, CopyType type) {
  throw TypeError(fmt::format("'{}' is not a valid {}", excerpt(text), to_string(type)));
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

// The text of a Value that holds text of some kind, else nullptr.
const std::string* text_of(const Value& v) {
  if (auto* s = std::get_if<std::string>(&v.storage())) return s;
  if (auto* j = std::get_if<Json>(&v.storage())) return &j->text;
  if (auto* d = std::get_if<Decimal>(&v.storage())) return &d->text;
  return nullptr;
}

std::optional<double> parse_double(std::string_view t) {
  if (iequals(t, "nan")) return std::numeric_limits<double>::quiet_NaN();
  if (iequals(t, "infinity") || iequals(t, "inf")) return HUGE_VAL;
  if (iequals(t, "-infinity") || iequals(t, "-inf")) return -HUGE_VAL;
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  double d = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
  if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
  return d;
}

std::string format_double(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, end);
}

std::int64_t integer_of(const Value& v, CopyType type) {
  if (auto* i = std::get_if<std::int64_t>(&v.storage())) return *i;
  if (auto* d = std::get_if<double>(&v.storage())) {
    // 2^63 is the first double past INT64_MAX.
    if (std::trunc(*d) == *d && *d >= -9223372036854775808.0 && *d < 9223372036854775808.0)
      return static_cast<std::int64_t>(*d);
    throw TypeError(fmt::format("{} is not an integer that fits {}", format_double(*d),
                                to_string(type)));
  }
  if (const std::string* t = text_of(v)) {
    std::string_view s = *t;
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    std::int64_t i = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return i;
    unparsable(*t, type);
  }
  refuse(v, type);
}

double real_of(const Value& v, CopyType type) {
  if (auto* d = std::get_if<double>(&v.storage())) return *d;
  if (auto* i = std::get_if<std::int64_t>(&v.storage())) return static_cast<double>(*i);
  if (const std::string* t = text_of(v)) {
    if (auto d = parse_double(*t)) return *d;
    unparsable(*t, type);
  }
  refuse(v, type);
}

bool bool_of(const Value& v) {
  if (auto* b = std::get_if<bool>(&v.storage())) return *b;
  if (auto* i = std::get_if<std::int64_t>(&v.storage())) {
    if (*i == 0 || *i == 1) return *i == 1;
    throw TypeError(fmt::format("{} is not a boolean (0 or 1)", *i));
  }
  if (auto* s = std::get_if<std::string>(&v.storage())) {
    for (std::string_view yes : {"t", "true", "yes", "on", "1", "y"})
      if (iequals(*s, yes)) return true;
    for (std::string_view no : {"f", "false", "no", "off", "0", "n"})
      if (iequals(*s, no)) return false;
    unparsable(*s, CopyType::boolean);
  }
  refuse(v, CopyType::boolean);
}

void append_bytes(std::string& out, std::string_view bytes) {
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
    throw TypeError(fmt::format("a value of {} bytes exceeds PostgreSQL's 1 GB field limit",
                                bytes.size()));
  append_be32(out, static_cast<std::uint32_t>(bytes.size()));
  out.append(bytes);
}

void append_text_bytes(std::string& out, std::string_view text) {
  if (std::memchr(text.data(), '\0', text.size()) != nullptr)
    throw TypeError(
        "text contains a NUL byte, which PostgreSQL text cannot hold: write it as a Blob into a "
        "bytea column instead");
  append_bytes(out, text);
}

std::string text_form(const Value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate> || std::is_same_v<T, Blob>) {
          return {};
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return fmt::format("{}", x);
        } else if constexpr (std::is_same_v<T, double>) {
          return format_double(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return x;
        } else if constexpr (std::is_same_v<T, bool>) {
          return x ? "t" : "f";
        } else if constexpr (std::is_same_v<T, Date>) {
          return format_date(x);
        } else if constexpr (std::is_same_v<T, Timestamp>) {
          return format_timestamp(x);
        } else {
          return x.text;
        }
      },
      v.storage());
}

std::int32_t days_of(Date d) {
  if (!d.ok()) throw TypeError("the date is not a valid calendar date");
  return static_cast<std::int32_t>(std::chrono::sys_days(d).time_since_epoch().count() -
                                   kPgEpochDays);
}

std::int64_t micros_of(Timestamp t) { return t.time_since_epoch().count() - kPgEpochMicros; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int floor_div4(int a) { return a >= 0 ? a / 4 : -((-a + 3) / 4); }

}  // namespace

CopyType copy_type(std::uint32_t oid) noexcept {
  switch (oid) {
    case 16: return CopyType::boolean;
    case 17: return CopyType::bytea;
    case 19:    // name
    case 25:    // text
    case 1042:  // bpchar
    case 1043:  // varchar
      return CopyType::text;
    case 20: return CopyType::int8;
    case 21: return CopyType::int2;
    case 23: return CopyType::int4;
    case 114: return CopyType::json;
    case 700: return CopyType::float4;
    case 701: return CopyType::float8;
    case 1082: return CopyType::date;
    case 1114:  // timestamp: the session is UTC, so the instant's UTC wall time
    case 1184: return CopyType::timestamp;
    case 1700: return CopyType::numeric;
    case 2950: return CopyType::uuid;
    case 3802: return CopyType::jsonb;
    default: return CopyType::unsupported;
  }
}

const char* to_string(CopyType type) noexcept {
  switch (type) {
    case CopyType::int2: return "smallint";
    case CopyType::int4: return "integer";
    case CopyType::int8: return "bigint";
    case CopyType::float4: return "real";
    case CopyType::float8: return "double precision";
    case CopyType::boolean: return "boolean";
    case CopyType::text: return "text";
    case CopyType::bytea: return "bytea";
    case CopyType::numeric: return "numeric";
    case CopyType::date: return "date";
    case CopyType::timestamp: return "timestamp";
    case CopyType::json: return "json";
    case CopyType::jsonb: return "jsonb";
    case CopyType::uuid: return "uuid";
    case CopyType::unsupported: break;
  }
  return "unsupported";
}

void append_copy_header(std::string& out) {
  out.append("PGCOPY\n\377\r\n\0", 11);
  append_be32(out, 0);  // flags: no OIDs
  append_be32(out, 0);  // no header extension
}

void append_copy_trailer(std::string& out) { append_be16(out, 0xFFFF); }

void append_binary_field(std::string& out, CopyType type, const Value& value) {
  if (value.is_null()) {
    append_be32(out, 0xFFFFFFFF);
    return;
  }
  switch (type) {
    case CopyType::int2:
    case CopyType::int4: {
      std::int64_t i = integer_of(value, type);
      std::int64_t lo = type == CopyType::int2 ? std::numeric_limits<std::int16_t>::min()
                                               : std::numeric_limits<std::int32_t>::min();
      std::int64_t hi = type == CopyType::int2 ? std::numeric_limits<std::int16_t>::max()
                                               : std::numeric_limits<std::int32_t>::max();
      if (i < lo || i > hi)
        throw TypeError(fmt::format("{} does not fit {} ({} to {})", i, to_string(type), lo, hi));
      if (type == CopyType::int2) {
        append_be32(out, 2);
        append_be16(out, static_cast<std::uint16_t>(i));
      } else {
        append_be32(out, 4);
        append_be32(out, static_cast<std::uint32_t>(i));
      }
      return;
    }
    case CopyType::int8:
      append_be32(out, 8);
      append_be64(out, static_cast<std::uint64_t>(integer_of(value, type)));
      return;
    case CopyType::float4: {
      double d = real_of(value, type);
      if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max())
        throw TypeError(fmt::format("{} does not fit real", format_double(d)));
      append_be32(out, 4);
      append_be32(out, std::bit_cast<std::uint32_t>(static_cast<float>(d)));
      return;
    }
    case CopyType::float8:
      append_be32(out, 8);
      append_be64(out, std::bit_cast<std::uint64_t>(real_of(value, type)));
      return;
    case CopyType::boolean:
      append_be32(out, 1);
      out.push_back(bool_of(value) ? 1 : 0);
      return;
    case CopyType::text:
      if (auto* s = std::get_if<std::string>(&value.storage())) {
        append_text_bytes(out, *s);
      } else if (value.type() == ValueType::blob) {
        refuse(value, type);
      } else {
        append_text_bytes(out, text_form(value));
      }
      return;
    case CopyType::bytea:
      if (auto* b = std::get_if<Blob>(&value.storage())) {
        append_bytes(out, std::string_view(reinterpret_cast<const char*>(b->data()), b->size()));
      } else if (auto* s = std::get_if<std::string>(&value.storage())) {
        append_bytes(out, *s);  // text's own bytes, never decoded as an escape format
      } else {
        refuse(value, type);
      }
      return;
    case CopyType::numeric:
      if (const std::string* t = text_of(value)) {
        append_numeric(out, *t);
      } else if (auto* i = std::get_if<std::int64_t>(&value.storage())) {
        append_numeric(out, fmt::format("{}", *i));
      } else if (auto* d = std::get_if<double>(&value.storage())) {
        append_numeric(out, format_double(*d));
      } else {
        refuse(value, type);
      }
      return;
    case CopyType::date: {
      std::int32_t days;
      if (auto* d = std::get_if<Date>(&value.storage())) {
        days = days_of(*d);
      } else if (auto* s = std::get_if<std::string>(&value.storage())) {
        auto parsed = parse_date(*s);
        if (!parsed) unparsable(*s, type);
        days = days_of(*parsed);
      } else {
        refuse(value, type);
      }
      append_be32(out, 4);
      append_be32(out, static_cast<std::uint32_t>(days));
      return;
    }
    case CopyType::timestamp: {
      std::int64_t micros;
      if (auto* t = std::get_if<Timestamp>(&value.storage())) {
        micros = micros_of(*t);
      } else if (auto* d = std::get_if<Date>(&value.storage())) {
        micros = static_cast<std::int64_t>(days_of(*d)) * 86400 * 1000000;
      } else if (auto* s = std::get_if<std::string>(&value.storage())) {
        auto parsed = parse_timestamp(*s);
        if (!parsed) unparsable(*s, type);
        micros = micros_of(*parsed);
      } else {
        refuse(value, type);
      }
      append_be32(out, 8);
      append_be64(out, static_cast<std::uint64_t>(micros));
      return;
    }
    case CopyType::json:
    case CopyType::jsonb: {
      const std::string* t = nullptr;
      if (auto* j = std::get_if<Json>(&value.storage())) t = &j->text;
      if (auto* s = std::get_if<std::string>(&value.storage())) t = s;
      if (t == nullptr) refuse(value, type);
      if (std::memchr(t->data(), '\0', t->size()) != nullptr)
        throw TypeError("JSON text contains a NUL byte, which PostgreSQL cannot hold");
      if (type == CopyType::json) {
        append_bytes(out, *t);
      } else {
        append_be32(out, static_cast<std::uint32_t>(t->size() + 1));
        out.push_back(1);  // jsonb's binary format version
        out.append(*t);
      }
      return;
    }
    case CopyType::uuid: {
      std::uint8_t bytes[16];
      if (auto* s = std::get_if<std::string>(&value.storage())) {
        if (!parse_uuid(*s, bytes)) unparsable(*s, type);
      } else if (auto* b = std::get_if<Blob>(&value.storage()); b && b->size() == 16) {
        std::memcpy(bytes, b->data(), 16);
      } else {
        refuse(value, type);
      }
      append_be32(out, 16);
      out.append(reinterpret_cast<const char*>(bytes), 16);
      return;
    }
    case CopyType::unsupported: break;
  }
  throw TypeError("no binary COPY encoder for this column's type");
}

void append_text_field(std::string& out, const Value& value) {
  if (value.is_null()) {
    out.append("\\N");
    return;
  }
  if (auto* b = std::get_if<Blob>(&value.storage())) {
    // COPY's text format un-escapes "\\x…" to bytea's hex input "\x…".
    static constexpr char kHex[] = "0123456789abcdef";
    out.append("\\\\x");
    for (std::uint8_t byte : *b) {
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 15]);
    }
    return;
  }
  const std::string* t = text_of(value);
  std::string scratch;
  if (t == nullptr) {
    scratch = text_form(value);
    t = &scratch;
  }
  for (char c : *t) {
    switch (c) {
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\0':
        throw TypeError(
            "text contains a NUL byte, which PostgreSQL text cannot hold: write it as a Blob into "
            "a bytea column instead");
      default: out.push_back(c);
    }
  }
}

void append_numeric(std::string& out, std::string_view text) {
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  std::string_view rest = text.substr(i);
  std::uint16_t special = 0;
  if (i == 0 && iequals(rest, "nan")) special = 0xC000;
  if (iequals(rest, "infinity") || iequals(rest, "inf")) special = negative ? 0xF000 : 0xD000;
  if (special != 0) {
    append_be32(out, 8);
    append_be16(out, 0);
    append_be16(out, 0);
    append_be16(out, special);
    append_be16(out, 0);
    return;
  }

  std::string digits;
  int integer_digits = 0, fraction_digits = 0;
  bool point = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      digits += c;
      ++(point ? fraction_digits : integer_digits);
    } else if (c == '.' && !point) {
      point = true;
    } else {
      break;
    }
  }
  if (digits.empty()) unparsable(text, CopyType::numeric);
  long exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    std::string_view e = text.substr(i + 1);
    if (!e.empty() && e.front() == '+') e.remove_prefix(1);
    auto [end, ec] = std::from_chars(e.data(), e.data() + e.size(), exponent);
    if (ec != std::errc() || end != e.data() + e.size() || e.empty())
      unparsable(text, CopyType::numeric);
    i = text.size();
  }
  if (i != text.size()) unparsable(text, CopyType::numeric);
  // numeric's own limits: 1000 is what the server's input accepts for an exponent.
  if (exponent > 1000 || exponent < -1000) unparsable(text, CopyType::numeric);

  int dscale = std::max(0, fraction_digits - static_cast<int>(exponent));
  // The value is 0.<digits> × 10^decimal_point.
  int decimal_point = integer_digits + static_cast<int>(exponent);
  std::size_t lead = digits.find_first_not_of('0');
  if (lead == std::string::npos) digits.clear();
  digits.erase(0, std::min(lead, digits.size()));
  decimal_point -= static_cast<int>(lead == std::string::npos ? 0 : lead);
  while (!digits.empty() && digits.back() == '0') digits.pop_back();

  if (dscale > 0x3FFF)
    throw TypeError(fmt::format("'{}' has more fraction digits than numeric can hold",
                                excerpt(text)));
  if (digits.empty()) {
    append_be32(out, 8);
    append_be16(out, 0);
    append_be16(out, 0);
    append_be16(out, 0);
    append_be16(out, static_cast<std::uint16_t>(dscale));
    return;
  }
  // Base-10000 digits aligned on the decimal point: the first decimal digit has
  // exponent decimal_point - 1 and lands in the group of that exponent's weight.
  int weight = floor_div4(decimal_point - 1);
  std::size_t pad = static_cast<std::size_t>(4 * weight + 3 - (decimal_point - 1));
  digits.insert(0, pad, '0');
  digits.resize((digits.size() + 3) / 4 * 4, '0');
  std::size_t ndigits = digits.size() / 4;
  if (weight > std::numeric_limits<std::int16_t>::max() ||
      weight < std::numeric_limits<std::int16_t>::min() || ndigits > 0xFFFF)
    throw TypeError(fmt::format("'{}' is out of numeric's range", excerpt(text)));
  append_be32(out, static_cast<std::uint32_t>(8 + 2 * ndigits));
  append_be16(out, static_cast<std::uint16_t>(ndigits));
  append_be16(out, static_cast<std::uint16_t>(static_cast<std::int16_t>(weight)));
  append_be16(out, negative ? 0x4000 : 0x0000);
  append_be16(out, static_cast<std::uint16_t>(dscale));
  for (std::size_t g = 0; g < ndigits; ++g) {
    const char* d = digits.data() + 4 * g;
    append_be16(out, static_cast<std::uint16_t>((d[0] - '0') * 1000 + (d[1] - '0') * 100 +
                                                (d[2] - '0') * 10 + (d[3] - '0')));
  }
}

bool parse_uuid(std::string_view text, std::uint8_t (&out)[16]) {
  if (text.size() >= 2 && text.front() == '{' && text.back() == '}')
    text = text.substr(1, text.size() - 2);
  int nibbles = 0;
  bool after_hyphen = false;
  for (char c : text) {
    if (c == '-') {
      // PostgreSQL takes a hyphen after any group of four digits.
      if (after_hyphen || nibbles == 0 || nibbles % 4 != 0 || nibbles == 32) return false;
      after_hyphen = true;
      continue;
    }
    int v = hex_value(c);
    if (v < 0 || nibbles == 32) return false;
    if (nibbles % 2 == 0) {
      out[nibbles / 2] = static_cast<std::uint8_t>(v << 4);
    } else {
      out[nibbles / 2] |= static_cast<std::uint8_t>(v);
    }
    ++nibbles;
    after_hyphen = false;
  }
  return nibbles == 32 && !after_hyphen;
}

}  // namespace keel::driver::pg
