// PostgreSQL's bulk read: COPY (SELECT …) TO STDOUT (FORMAT binary), decoded
// field by field from the column's type OID into the very Values the text
// decoder (codec.cpp) makes of the same data. Beside a query in single-row mode
// it saves the server every value's text formatting (a timestamp's output costs
// more than its storage) and the client one PGresult and one text parse per row.
// A column of a type without a binary decoder here sends the whole read through
// query() instead.
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>

#include "driver/postgres/pg_connection.hpp"
#include "keel/error.hpp"
#include "value/uuid.hpp"

namespace keel::driver::pg {

namespace {

enum class Field : std::uint8_t {
  boolean, int2, int4, int8, float4, float8, numeric, bytea, date, timestamp, timestamptz,
  json, jsonb, uuid, text, oid,
  unsupported,
};

Field field_for(Oid oid) noexcept {
  switch (oid) {
    case 16: return Field::boolean;
    case 17: return Field::bytea;
    case 19:    // name
    case 25:    // text
    case 1042:  // bpchar
    case 1043:  // varchar
      return Field::text;
    case 20: return Field::int8;
    case 21: return Field::int2;
    case 23: return Field::int4;
    case 26: return Field::oid;
    case 114: return Field::json;
    case 700: return Field::float4;
    case 701: return Field::float8;
    case 1082: return Field::date;
    case 1114: return Field::timestamp;
    case 1184: return Field::timestamptz;
    case 1700: return Field::numeric;
    case 2950: return Field::uuid;
    case 3802: return Field::jsonb;
    default: return Field::unsupported;
  }
}

std::uint16_t be16(const char* p) {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return __builtin_bswap16(v);
}
std::uint32_t be32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
std::uint64_t be64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch for dates and timestamps.
constexpr std::int64_t kEpochDays = 10957;
constexpr std::int64_t kDayUs = 86'400'000'000;

// A date as datetime's text output spells it in the ISO style: a BC year counts
// back from 1 BC, which is year 0 of the proleptic calendar.
std::string date_text(std::chrono::year_month_day d) {
  int y = static_cast<int>(d.year());
  bool bc = y <= 0;
  return fmt::format("{:04}-{:02}-{:02}{}", bc ? 1 - y : y, static_cast<unsigned>(d.month()),
                     static_cast<unsigned>(d.day()), bc ? " BC" : "");
}

bool keel_year(std::chrono::year_month_day d) {
  int y = static_cast<int>(d.year());
  return y >= 1 && y <= 9999;
}

std::chrono::year_month_day civil(std::int64_t days_since_1970) {
  return std::chrono::year_month_day{
      std::chrono::sys_days{std::chrono::days{days_since_1970}}};
}

// The Value of a date field: a Date where keel has one, else the server's text.
Value date_value(std::int32_t pg_days) {
  if (pg_days == std::numeric_limits<std::int32_t>::max()) return Value(std::string("infinity"));
  if (pg_days == std::numeric_limits<std::int32_t>::min()) return Value(std::string("-infinity"));
  auto d = civil(pg_days + kEpochDays);
  if (keel_year(d)) return Value(Date{d});
  return Value(date_text(d));
}

// The Value of a timestamp field (the session's TimeZone is UTC, so both kinds read
// alike); outside keel's years, the server's ISO text, "+00" for timestamptz.
Value timestamp_value(std::int64_t pg_us, bool with_zone) {
  if (pg_us == std::numeric_limits<std::int64_t>::max()) return Value(std::string("infinity"));
  if (pg_us == std::numeric_limits<std::int64_t>::min()) return Value(std::string("-infinity"));
  std::int64_t us = pg_us + kEpochDays * kDayUs;
  std::int64_t days = us >= 0 ? us / kDayUs : -((-us + kDayUs - 1) / kDayUs);
  std::int64_t in_day = us - days * kDayUs;
  auto d = civil(days);
  if (keel_year(d)) return Value(Timestamp{std::chrono::microseconds{us}});
  std::string text = date_text(d);
  std::string bc;
  if (text.ends_with(" BC")) {
    bc = " BC";
    text.resize(text.size() - 3);
  }
  std::int64_t secs = in_day / 1'000'000, frac = in_day % 1'000'000;
  text += fmt::format(" {:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
  if (frac != 0) {
    std::string f = fmt::format("{:06}", frac);
    while (f.back() == '0') f.pop_back();
    text += "." + f;
  }
  if (with_zone) text += "+00";
  return Value(text + bc);
}

// numeric's binary form as numeric_out prints it: base-10000 digits with a weight,
// a sign and a display scale (1.50 keeps its zero).
std::string numeric_text(const char* p, std::size_t n) {
  if (n < 8) throw TypeError("bulk read: a numeric field shorter than its header");
  int ndigits = be16(p);
  int weight = static_cast<std::int16_t>(be16(p + 2));
  std::uint16_t sign = be16(p + 4);
  int dscale = be16(p + 6);
  if (sign == 0xC000) return "NaN";
  if (sign == 0xD000) return "Infinity";
  if (sign == 0xF000) return "-Infinity";
  if (n < 8 + 2 * static_cast<std::size_t>(ndigits))
    throw TypeError("bulk read: a numeric field shorter than its digits");
  auto digit = [&](int i) -> int { return i >= 0 && i < ndigits ? be16(p + 8 + 2 * i) : 0; };
  std::string out;
  if (sign == 0x4000) out += '-';
  if (weight < 0) {
    out += '0';
  } else {
    for (int i = 0; i <= weight; ++i) {
      int d = digit(i);
      if (i == 0)
        out += std::to_string(d);
      else
        out += fmt::format("{:04}", d);
    }
  }
  if (dscale > 0) {
    out += '.';
    std::string frac;
    for (int i = weight + 1; static_cast<int>(frac.size()) < dscale; ++i)
      frac += fmt::format("{:04}", digit(i));
    frac.resize(static_cast<std::size_t>(dscale));
    out += frac;
  }
  return out;
}

void decode(Field f, const char* p, std::size_t n, Value& out) {
  auto need = [&](std::size_t size) {
    if (n != size)
      throw TypeError(fmt::format("bulk read: a field of {} bytes where {} were expected", n,
                                  size));
  };
  switch (f) {
    case Field::boolean: need(1); out = Value(p[0] != 0); return;
    case Field::int2: need(2); out = Value(std::int64_t{static_cast<std::int16_t>(be16(p))}); return;
    case Field::int4: need(4); out = Value(std::int64_t{static_cast<std::int32_t>(be32(p))}); return;
    case Field::oid: need(4); out = Value(std::int64_t{be32(p)}); return;
    case Field::int8: need(8); out = Value(static_cast<std::int64_t>(be64(p))); return;
    case Field::float4: {
      need(4);
      float v = std::bit_cast<float>(be32(p));
      if (!std::isfinite(v)) {
        out = Value(static_cast<double>(v));
        return;
      }
      // float4 reads as the double of its shortest text, as the text decoder reads it.
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, v);
      double d = 0;
      std::from_chars(buf, r.ptr, d);
      out = Value(d);
      return;
    }
    case Field::float8: need(8); out = Value(std::bit_cast<double>(be64(p))); return;
    case Field::numeric: out = Value(Decimal{numeric_text(p, n)}); return;
    case Field::bytea: {
      auto* b = reinterpret_cast<const std::uint8_t*>(p);
      if (auto* blob = std::get_if<Blob>(&out.storage())) {
        blob->assign(b, b + n);
        return;
      }
      out = Value(Blob(b, b + n));
      return;
    }
    case Field::date: need(4); out = date_value(static_cast<std::int32_t>(be32(p))); return;
    case Field::timestamp:
    case Field::timestamptz:
      need(8);
      out = timestamp_value(static_cast<std::int64_t>(be64(p)), f == Field::timestamptz);
      return;
    case Field::json: assign_text<Json>(out, std::string_view(p, n)); return;
    case Field::jsonb:
      // A version byte, then the document as text.
      if (n < 1 || p[0] != 1) throw TypeError("bulk read: a jsonb field of an unknown version");
      assign_text<Json>(out, std::string_view(p + 1, n - 1));
      return;
    case Field::uuid:
      need(16);
      assign_text<std::string>(out, keel::detail::uuid_text(reinterpret_cast<const std::uint8_t*>(p)));
      return;
    case Field::text: assign_text<std::string>(out, std::string_view(p, n)); return;
    case Field::unsupported: break;
  }
  throw TypeError("bulk read: a column without a binary decoder");
}

}  // namespace

class PgCopyReader final : public detail::Cursor {
 public:
  PgCopyReader(PgConnection& conn, std::string sql, std::vector<Field> fields,
               std::shared_ptr<const std::vector<std::string>> names)
      : conn_(conn), sql_(std::move(sql)), fields_(std::move(fields)), names_(std::move(names)) {
    busy_ = fmt::format("a bulk read ({}; read its rows to the end or destroy them)", sql_);
    conn_.start_copy(sql_, PGRES_COPY_OUT, &busy_);
    open_ = true;
  }

  ~PgCopyReader() override {
    if (!open_) return;
    // Abandoned before the end: outside a transaction the rest is cancelled; inside
    // one it is read out, as a cancellation would abort the transaction.
    try {
      if (conn_.status_before_ == PQTRANS_IDLE) conn_.cancel();
      while (read_message() != nullptr) {
      }
      end();
    } catch (...) {
      // Only a lost connection (or the cancellation's error) gets here.
    }
  }

  bool next(Row& row) override {
    if (!open_) return false;
    const char* p = read_message();
    if (p == nullptr) {
      end_and_check();
      return false;
    }
    const char* limit = p + length_;
    if (!header_seen_) {
      // Signature (11 bytes), flags, then a header extension of the length given.
      if (length_ < 19 || std::memcmp(p, "PGCOPY\n\377\r\n\0", 11) != 0)
        throw_bad("a binary COPY stream without its signature");
      std::uint32_t extension = be32(p + 15);
      p += 19 + extension;
      header_seen_ = true;
    }
    if (limit - p < 2) throw_bad("a truncated row");
    auto count = static_cast<std::int16_t>(be16(p));
    p += 2;
    if (count == -1) {  // the trailer; the end of data follows
      while (read_message() != nullptr) {
      }
      end_and_check();
      return false;
    }
    if (static_cast<std::size_t>(count) != fields_.size()) throw_bad("a row of the wrong width");
    std::vector<Value> values = std::move(row.values());
    values.resize(fields_.size());
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      if (limit - p < 4) throw_bad("a truncated field");
      auto size = static_cast<std::int32_t>(be32(p));
      p += 4;
      if (size < 0) {
        values[i] = Value();
        continue;
      }
      if (limit - p < size) throw_bad("a truncated field");
      try {
        decode(fields_[i], p, static_cast<std::size_t>(size), values[i]);
      } catch (const TypeError& e) {
        throw_bad(fmt::format("column {}: {}", (*names_)[i], e.what()));
      }
      p += size;
    }
    if (row.names() != names_)
      row = Row(names_, std::move(values));
    else
      row.values() = std::move(values);
    return true;
  }

 private:
  // The next CopyData message (valid until the next call), or nullptr at the end of
  // the COPY.
  const char* read_message() {
    if (buffer_ != nullptr) {
      libpq().PQfreemem(buffer_);
      buffer_ = nullptr;
    }
    while (true) {
      int n = libpq().PQgetCopyData(conn_.conn_, &buffer_, 1);
      if (n > 0) {
        length_ = n;
        return buffer_;
      }
      if (n == -1) return nullptr;
      if (n == -2) conn_.throw_connection_lost(sql_);
      conn_.wait_readable();  // 0: nothing complete has arrived yet
    }
  }

  // The COPY has ended: frees the connection and returns its final result.
  Result end() {
    open_ = false;
    conn_.copying_ = nullptr;
    if (buffer_ != nullptr) {
      libpq().PQfreemem(buffer_);
      buffer_ = nullptr;
    }
    Result failed, last;
    while (Result r = conn_.next_result()) {
      if (libpq().PQresultStatus(r.get()) == PGRES_FATAL_ERROR && !failed)
        failed = std::move(r);
      else
        last = std::move(r);
    }
    return failed ? std::move(failed) : std::move(last);
  }

  void end_and_check() {
    Result r = end();
    if (!r) conn_.throw_connection_lost(sql_);
    if (libpq().PQresultStatus(r.get()) == PGRES_FATAL_ERROR)
      conn_.throw_result_error(r.get(), sql_);
  }

  [[noreturn]] void throw_bad(const std::string& what) {
    std::string message = fmt::format("bulk read ({}): {}", sql_, what);
    try {
      conn_.cancel();
      while (read_message() != nullptr) {
      }
      end();
    } catch (...) {
    }
    throw TypeError(message);
  }

  PgConnection& conn_;
  std::string sql_;
  std::string busy_;  // the refusal's words while the COPY is open
  std::vector<Field> fields_;
  std::shared_ptr<const std::vector<std::string>> names_;
  char* buffer_ = nullptr;
  int length_ = 0;
  bool open_ = false;
  bool header_seen_ = false;
};

Rows PgConnection::bulk_read(std::string_view select_sql) {
  check_not_copying(select_sql);
  finish_active();
  // The columns' types decide each field's decoding.
  Result shape = simple(fmt::format("SELECT * FROM ({}) AS keel_bulk_read LIMIT 0", select_sql));
  if (!shape) throw_connection_lost(select_sql);
  std::vector<Field> fields;
  auto names = std::make_shared<std::vector<std::string>>();
  for (int i = 0, n = libpq().PQnfields(shape.get()); i < n; ++i) {
    fields.push_back(field_for(libpq().PQftype(shape.get(), i)));
    names->push_back(libpq().PQfname(shape.get(), i));
    if (fields.back() == Field::unsupported) return query(select_sql);
  }
  std::string sql = fmt::format("COPY ({}) TO STDOUT (FORMAT binary)", select_sql);
  return Rows(std::make_unique<PgCopyReader>(*this, std::move(sql), std::move(fields),
                                             std::move(names)));
}

}  // namespace keel::driver::pg
