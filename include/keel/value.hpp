// keel/value.hpp — one value type for both backends, and typed row access.
//
// SQLite hands back its five storage classes; PostgreSQL hands back typed
// columns. Both become a Value, and `Row::get<T>` converts where the conversion is
// exact (integer 0/1 to bool, ISO-8601 text to Timestamp…) and throws a TypeError
// naming the column where it is not. NULL is never silently a default: read it
// with `get<std::optional<T>>`.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace keel {

// Binary data; may contain NUL bytes.
using Blob = std::vector<std::uint8_t>;
// A calendar date without time zone.
using Date = std::chrono::year_month_day;
// A UTC instant with microsecond precision (PostgreSQL's timestamptz resolution).
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// JSON document kept as its text (jsonb on PostgreSQL, TEXT on SQLite).
struct Json {
  std::string text;
  friend bool operator==(const Json&, const Json&) = default;
};

// Exact decimal number kept as its text (numeric on PostgreSQL, TEXT on SQLite).
struct Decimal {
  std::string text;
  friend bool operator==(const Decimal&, const Decimal&) = default;
};

// What a Value holds.
enum class ValueType { null, integer, real, text, blob, boolean, date, timestamp, json, decimal };

// The type's name, e.g. "timestamp".
const char* to_string(ValueType type) noexcept;

class Value {
 public:
  using Storage = std::variant<std::monostate, std::int64_t, double, std::string, Blob, bool,
                               Date, Timestamp, Json, Decimal>;

  Value() = default;
  Value(std::nullptr_t) {}
  Value(std::nullopt_t) {}
  Value(bool v) : v_(v) {}
  Value(int v) : v_(static_cast<std::int64_t>(v)) {}
  Value(long v) : v_(static_cast<std::int64_t>(v)) {}
  Value(long long v) : v_(static_cast<std::int64_t>(v)) {}
  Value(unsigned v) : v_(static_cast<std::int64_t>(v)) {}
  // Throws TypeError when v exceeds INT64_MAX.
  Value(unsigned long v);
  Value(unsigned long long v);
  Value(double v) : v_(v) {}
  Value(float v) : v_(static_cast<double>(v)) {}
  Value(const char* v) : v_(std::string(v)) {}
  Value(std::string v) : v_(std::move(v)) {}
  Value(std::string_view v) : v_(std::string(v)) {}
  Value(Blob v) : v_(std::move(v)) {}
  Value(Date v) : v_(v) {}
  Value(Timestamp v) : v_(v) {}
  Value(Json v) : v_(std::move(v)) {}
  Value(Decimal v) : v_(std::move(v)) {}
  template <class T>
  Value(const std::optional<T>& v) {
    if (v) *this = Value(*v);
  }

  ValueType type() const noexcept { return static_cast<ValueType>(v_.index()); }
  bool is_null() const noexcept { return v_.index() == 0; }
  const Storage& storage() const noexcept { return v_; }
  Storage& storage() noexcept { return v_; }

  // Converts to T (see Row::get); `what` names the value in a TypeError.
  // NULL throws unless T is std::optional<U>.
  template <class T>
  T as(std::string_view what = "value") const;

  // A readable rendering for messages and the CLI (text unquoted, blobs as hex).
  std::string to_display() const;

  friend bool operator==(const Value&, const Value&) = default;

 private:
  Storage v_;
};

// Text forms used when a type has no native storage (SQLite) — also what
// PostgreSQL's text protocol is parsed from.
//   Date:      YYYY-MM-DD
//   Timestamp: YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC, fixed width, so text order is time order)
std::string format_date(Date d);
std::string format_timestamp(Timestamp t);
// Parse the ISO-8601 spellings applications write: 'T' or space, optional
// fractional seconds, 'Z' / ±HH[:MM] / no offset (UTC), or a date alone.
// nullopt when the text is not one of them.
std::optional<Date> parse_date(std::string_view text);
std::optional<Timestamp> parse_timestamp(std::string_view text);

namespace detail {
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {
  using inner = T;
};

// What a TypeError names: a given text, or column `index` of a row with `names`.
// A column's label is formatted only when an error is thrown, so typed row access
// costs nothing extra when the conversion succeeds.
class Label {
 public:
  Label(std::string_view text) noexcept : text_(text) {}
  Label(const std::vector<std::string>* names, std::size_t index) noexcept
      : names_(names), index_(index), column_(true) {}
  // "column 'name' (#i)", "column #i", or the given text.
  std::string str() const;

 private:
  std::string_view text_;
  const std::vector<std::string>* names_ = nullptr;
  std::size_t index_ = 0;
  bool column_ = false;
};

// Exact conversions; each throws TypeError mentioning `what`.
std::int64_t to_int64(const Value& v, const Label& what);
double to_double(const Value& v, const Label& what);
bool to_bool(const Value& v, const Label& what);
std::string to_text(const Value& v, const Label& what);
Blob to_blob(const Value& v, const Label& what);
Date to_date(const Value& v, const Label& what);
Timestamp to_timestamp(const Value& v, const Label& what);
Json to_json(const Value& v, const Label& what);
Decimal to_decimal(const Value& v, const Label& what);
[[noreturn]] void throw_null(const Label& what);
[[noreturn]] void throw_range(const Label& what, std::int64_t v, std::int64_t min,
                              std::uint64_t max);

// Value::as and Row::get.
template <class T>
T convert(const Value& v, const Label& what) {
  if constexpr (is_optional<T>::value) {
    if (v.is_null()) return std::nullopt;
    return convert<typename is_optional<T>::inner>(v, what);
  } else {
    if (v.is_null()) throw_null(what);
    if constexpr (std::is_same_v<T, Value>) {
      return v;
    } else if constexpr (std::is_same_v<T, bool>) {
      return to_bool(v, what);
    } else if constexpr (std::is_integral_v<T>) {
      std::int64_t i = to_int64(v, what);
      if constexpr (!std::is_same_v<T, std::int64_t>) {
        if (i < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
            (i > 0 && static_cast<std::uint64_t>(i) > std::numeric_limits<T>::max()))
          throw_range(what, i, static_cast<std::int64_t>(std::numeric_limits<T>::min()),
                      static_cast<std::uint64_t>(std::numeric_limits<T>::max()));
      }
      return static_cast<T>(i);
    } else if constexpr (std::is_floating_point_v<T>) {
      return static_cast<T>(to_double(v, what));
    } else if constexpr (std::is_same_v<T, std::string>) {
      return to_text(v, what);
    } else if constexpr (std::is_same_v<T, Blob>) {
      return to_blob(v, what);
    } else if constexpr (std::is_same_v<T, Date>) {
      return to_date(v, what);
    } else if constexpr (std::is_same_v<T, Timestamp>) {
      return to_timestamp(v, what);
    } else if constexpr (std::is_same_v<T, Json>) {
      return to_json(v, what);
    } else if constexpr (std::is_same_v<T, Decimal>) {
      return to_decimal(v, what);
    } else {
      static_assert(sizeof(T) == 0, "keel::Value::as: unsupported type");
    }
  }
}
}  // namespace detail

template <class T>
T Value::as(std::string_view what) const {
  return detail::convert<T>(*this, detail::Label(what));
}

// One result row. Column names are shared by all rows of a result; values are
// owned by the row (copy a Row to keep it past the cursor's next step).
class Row {
 public:
  Row() = default;
  Row(std::shared_ptr<const std::vector<std::string>> names, std::vector<Value> values)
      : names_(std::move(names)), values_(std::move(values)) {}

  std::size_t size() const noexcept { return values_.size(); }
  // The i-th column's name.
  const std::string& name(std::size_t i) const;
  // The index of column `name`; throws UsageError listing the columns when absent.
  std::size_t index(std::string_view name) const;
  // The raw value by index / by column name.
  const Value& operator[](std::size_t i) const;
  const Value& operator[](std::string_view name) const { return values_[index(name)]; }

  // Typed access; NULL throws TypeError unless T is std::optional<U>.
  template <class T>
  T get(std::size_t i) const {
    return detail::convert<T>((*this)[i], detail::Label(names_.get(), i));
  }
  template <class T>
  T get(std::string_view name) const {
    std::size_t i = index(name);
    return detail::convert<T>(values_[i], detail::Label(names_.get(), i));
  }

  const std::vector<Value>& values() const noexcept { return values_; }
  std::vector<Value>& values() noexcept { return values_; }
  const std::shared_ptr<const std::vector<std::string>>& names() const noexcept { return names_; }

 private:
  std::shared_ptr<const std::vector<std::string>> names_;
  std::vector<Value> values_;
};

}  // namespace keel
