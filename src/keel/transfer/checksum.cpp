// The order-independent table checksum (canonical forms in checksum.hpp).
#include "transfer/checksum.hpp"

#include <fmt/format.h>
#include <xxhash.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <limits>

#include "keel/error.hpp"
#include "transfer/forms.hpp"
#include "value/uuid.hpp"

namespace keel::transfer {

namespace {

using schema::ColumnType;
using schema::TypeKind;

// One byte per canonical form; distinct so that no two forms can collide.
enum Tag : char {
  kNull = 'N',
  kInteger = 'I',
  kBoolean = 'B',
  kReal = 'R',
  kNumeric = 'D',
  kText = 'T',
  kBlob = 'X',
  kDate = 'd',
  kTimestamp = 't',
  kJson = 'J',
  kUuid = 'U',
  kForeign = '?',
};

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

void put_fixed(std::string& out, Tag tag, std::uint64_t v) {
  out += tag;
  put_u64(out, v);
}

void put_bytes(std::string& out, Tag tag, std::string_view bytes) {
  out += tag;
  put_u64(out, bytes.size());
  out += bytes;
}

void put_real(std::string& out, double d) {
  if (std::isnan(d)) d = std::numeric_limits<double>::quiet_NaN();
  if (d == 0) d = 0.0;  // -0.0 too
  put_fixed(out, kReal, std::bit_cast<std::uint64_t>(d));
}

// A value the column's type cannot read: its own kind and display text.
void put_foreign(std::string& out, const Value& v) {
  out += kForeign;
  out += static_cast<char>(v.type());
  std::string display = v.to_display();
  put_u64(out, display.size());
  out += display;
}

// "[-]digits e point": one spelling per number, of any size.
void put_decimal(std::string& out, const forms::DecimalNumber& d) {
  std::string text = fmt::format("{}{}e{}", d.negative ? "-" : "", d.digits, d.point);
  put_bytes(out, kNumeric, text);
}

const std::string* text_of(const Value& v) { return std::get_if<std::string>(&v.storage()); }

}  // namespace

std::string to_string(const Checksum& checksum) {
  return fmt::format("{} rows, {:016x}", checksum.rows, checksum.sum);
}

void append_canonical(std::string& out, const Value& v, const ColumnType& type,
                      JsonSource json) {
  if (v.is_null()) {
    out += kNull;
    return;
  }
  const Value::Storage& s = v.storage();
  switch (type.kind) {
    case TypeKind::integer:
    case TypeKind::bigint:
    case TypeKind::smallint:
      if (auto* i = std::get_if<std::int64_t>(&s))
        return put_fixed(out, kInteger, static_cast<std::uint64_t>(*i));
      break;
    case TypeKind::boolean:
      if (auto* b = std::get_if<bool>(&s)) return put_fixed(out, kBoolean, *b ? 1 : 0);
      if (auto* i = std::get_if<std::int64_t>(&s); i && (*i == 0 || *i == 1))
        return put_fixed(out, kBoolean, static_cast<std::uint64_t>(*i));
      break;
    case TypeKind::real:
      if (auto* d = std::get_if<double>(&s)) return put_real(out, *d);
      if (auto* i = std::get_if<std::int64_t>(&s);
          i && *i >= -(std::int64_t{1} << 53) && *i <= (std::int64_t{1} << 53))
        return put_real(out, static_cast<double>(*i));
      break;
    case TypeKind::numeric: {
      std::optional<forms::DecimalNumber> d;
      if (auto* dec = std::get_if<Decimal>(&s))
        d = forms::parse_decimal(dec->text);
      else if (auto* text = text_of(v))
        d = forms::parse_decimal(*text);
      else if (auto* i = std::get_if<std::int64_t>(&s))
        d = forms::parse_decimal(std::to_string(*i));
      else if (auto* r = std::get_if<double>(&s); r && std::isfinite(*r))
        d = forms::parse_decimal(forms::shortest_plain(*r));
      if (d) return put_decimal(out, *d);
      break;
    }
    case TypeKind::text:
    case TypeKind::string:
      if (auto* text = text_of(v)) return put_bytes(out, kText, *text);
      break;
    case TypeKind::blob:
      if (auto* b = std::get_if<Blob>(&s))
        return put_bytes(out, kBlob,
                         std::string_view(reinterpret_cast<const char*>(b->data()), b->size()));
      break;
    case TypeKind::date: {
      std::optional<Date> d;
      if (auto* date = std::get_if<Date>(&s))
        d = *date;
      else if (auto* text = text_of(v))
        d = parse_date(*text);
      if (d)
        return put_fixed(
            out, kDate,
            static_cast<std::uint64_t>(std::chrono::sys_days{*d}.time_since_epoch().count()));
      break;
    }
    case TypeKind::timestamp: {
      std::optional<Timestamp> t;
      if (auto* ts = std::get_if<Timestamp>(&s))
        t = *ts;
      else if (auto* text = text_of(v))
        t = parse_timestamp(*text);
      if (t)
        return put_fixed(out, kTimestamp,
                         static_cast<std::uint64_t>(t->time_since_epoch().count()));
      break;
    }
    case TypeKind::json: {
      const std::string* text = text_of(v);
      if (auto* j = std::get_if<Json>(&s)) text = &j->text;
      if (text == nullptr) break;
      if (json == JsonSource::jsonb_output) return put_bytes(out, kJson, *text);
      if (auto canonical = forms::jsonb_text(*text)) return put_bytes(out, kJson, *canonical);
      break;
    }
    case TypeKind::uuid:
      if (auto* text = text_of(v); text && forms::is_uuid_text(*text)) {
        char lower[36];
        for (std::size_t i = 0; i < 36; ++i) {
          char c = (*text)[i];
          lower[i] = c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c;
        }
        return put_bytes(out, kUuid, std::string_view(lower, 36));
      }
      if (auto* b = std::get_if<Blob>(&s); b && b->size() == 16)
        return put_bytes(out, kUuid, keel::detail::uuid_text(b->data()));
      break;
  }
  put_foreign(out, v);
}

TableChecksum::TableChecksum(std::vector<ColumnType> types, JsonSource json)
    : types_(std::move(types)), json_(json) {}

void TableChecksum::add_row(std::span<const Value> row) {
  if (row.size() != types_.size())
    throw UsageError(fmt::format("checksum: a row of {} values for a table of {} columns",
                                 row.size(), types_.size()));
  buffer_.clear();
  for (std::size_t i = 0; i < row.size(); ++i) append_canonical(buffer_, row[i], types_[i], json_);
  total_.sum += XXH3_64bits(buffer_.data(), buffer_.size());
  ++total_.rows;
}

void TableChecksum::add_row(std::span<const Value> row, std::span<const std::string> jsonb) {
  if (row.size() != types_.size() || jsonb.size() != types_.size())
    throw UsageError(fmt::format("checksum: a row of {} values for a table of {} columns",
                                 row.size(), types_.size()));
  buffer_.clear();
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (types_[i].kind == TypeKind::json && !row[i].is_null())
      put_bytes(buffer_, kJson, jsonb[i]);
    else
      append_canonical(buffer_, row[i], types_[i], json_);
  }
  total_.sum += XXH3_64bits(buffer_.data(), buffer_.size());
  ++total_.rows;
}

}  // namespace keel::transfer
