#include "driver/postgres/codec.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "keel/error.hpp"

namespace keel::driver::pg {

namespace {

// Type OIDs from the server's catalog (pg_type_d.h is not part of libpq's headers);
// they are fixed by PostgreSQL and have never changed.
enum : Oid {
  kBool = 16,
  kBytea = 17,
  kName = 19,
  kInt8 = 20,
  kInt2 = 21,
  kInt4 = 23,
  kOid = 26,
  kJson = 114,
  kFloat4 = 700,
  kFloat8 = 701,
  kDate = 1082,
  kTimestamp = 1114,
  kTimestampTz = 1184,
  kNumeric = 1700,
  kJsonb = 3802,
};

std::string format_real(double d) {
  // PostgreSQL's own spellings; std::to_chars would write "inf" and "nan".
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);  // shortest round-trip form
  return std::string(buf, end);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Value decode_bytea(std::string_view text) {
  Blob out;
  if (text.size() >= 2 && text[0] == '\\' && text[1] == 'x') {
    out.reserve((text.size() - 2) / 2);
    for (std::size_t i = 2; i + 1 < text.size(); i += 2) {
      int hi = hex_digit(text[i]);
      int lo = hex_digit(text[i + 1]);
      if (hi < 0 || lo < 0) break;
      out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
    }
    return Value(std::move(out));
  }
  // The pre-9.0 "escape" output, should a server be configured for it anyway.
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '\\') {
      out.push_back('\\');
      ++i;
    } else if (text[i] == '\\' && i + 3 < text.size()) {
      out.push_back(static_cast<std::uint8_t>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                                              (text[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(static_cast<std::uint8_t>(text[i]));
    }
  }
  return Value(std::move(out));
}

}  // namespace

std::string to_pg_text(const Value& value) {
  std::string out;
  assign_pg_text(value, out);
  return out;
}

void assign_pg_text(const Value& value, std::string& out) {
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate> || std::is_same_v<T, Blob>) {
          out.clear();
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          char buf[24];
          auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
          out.assign(buf, end);
        } else if constexpr (std::is_same_v<T, double>) {
          out = format_real(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          out.assign(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          out.assign(v ? "t" : "f");
        } else if constexpr (std::is_same_v<T, Date>) {
          out = format_date(v);
        } else if constexpr (std::is_same_v<T, Timestamp>) {
          out = format_timestamp(v);
        } else {  // Json, Decimal
          out.assign(v.text);
        }
      },
      value.storage());
}

void encode_params(const std::vector<const Value*>& values, const Placeholders& placeholders,
                   std::string_view sql, EncodedParams& out) {
  std::size_t n = values.size();
  // resize, not assign: the strings keep their capacity from the last statement.
  out.text.resize(n);
  out.values.assign(n, nullptr);
  out.lengths.assign(n, 0);
  out.formats.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const Value& v = *values[i];
    if (v.is_null()) continue;
    if (const Blob* blob = std::get_if<Blob>(&v.storage())) {
      // A null pointer would mean SQL NULL, so an empty blob points at "".
      out.values[i] = blob->empty() ? "" : reinterpret_cast<const char*>(blob->data());
      out.lengths[i] = static_cast<int>(blob->size());
      out.formats[i] = 1;
      continue;
    }
    assign_pg_text(v, out.text[i]);
    if (out.text[i].find('\0') != std::string::npos) {
      std::string which = placeholders.style == Placeholders::Style::named
                              ? ":" + placeholders.names[i]
                              : fmt::format("${}", i + 1);
      throw TypeError(fmt::format(
          "parameter {} is {} containing a NUL byte, which PostgreSQL text cannot hold: bind "
          "it as a Blob (bytea) instead: {}",
          which, to_string(v.type()), sql_excerpt(sql)));
    }
    out.values[i] = out.text[i].c_str();
    out.lengths[i] = static_cast<int>(out.text[i].size());
  }
}

void decode_value(Oid type, const char* data, int length, Value& out) {
  std::string_view text(data, static_cast<std::size_t>(length));
  switch (type) {
    case kNumeric:
      assign_text<Decimal>(out, text);
      return;
    case kJson:
    case kJsonb:
      assign_text<Json>(out, text);
      return;
    case kInt2:
    case kInt4:
    case kInt8:
    case kOid: {
      // Parsed in place: no temporary Value per field on the hot path of a scan.
      std::int64_t i = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
      if (ec == std::errc() && end == text.data() + text.size()) {
        out.storage().emplace<std::int64_t>(i);
        return;
      }
      out = decode_value(type, data, length);
      return;
    }
    case kFloat4:
    case kFloat8: {
      double d = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
      if (ec == std::errc() && end == text.data() + text.size()) {
        out.storage().emplace<double>(d);
        return;
      }
      out = decode_value(type, data, length);
      return;
    }
    case kBool:
    case kBytea:
    case kDate:
    case kTimestamp:
    case kTimestampTz:
      out = decode_value(type, data, length);
      return;
    default:
      assign_text<std::string>(out, text);
      return;
  }
}

Value decode_value(Oid type, const char* data, int length) {
  std::string_view text(data, static_cast<std::size_t>(length));
  switch (type) {
    case kBool:
      return Value(text == "t");
    case kInt2:
    case kInt4:
    case kInt8:
    case kOid: {
      std::int64_t i = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
      if (ec == std::errc() && end == text.data() + text.size()) return Value(i);
      break;
    }
    case kFloat4:
    case kFloat8: {
      if (text == "NaN") return Value(std::nan(""));
      if (text == "Infinity") return Value(HUGE_VAL);
      if (text == "-Infinity") return Value(-HUGE_VAL);
      double d = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
      if (ec == std::errc() && end == text.data() + text.size()) return Value(d);
      break;
    }
    case kNumeric:
      return Value(Decimal{std::string(text)});
    case kBytea:
      return decode_bytea(text);
    case kDate:
      if (auto d = parse_date(text)) return Value(*d);
      break;
    case kTimestamp:
    case kTimestampTz:
      // The session is UTC, so a timestamp without time zone is read as UTC too.
      if (auto t = parse_timestamp(text)) return Value(*t);
      break;
    case kJson:
    case kJsonb:
      return Value(Json{std::string(text)});
    default:
      break;
  }
  return Value(std::string(text));
}

}  // namespace keel::driver::pg
