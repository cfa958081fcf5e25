// Date and timestamp text forms.
//
// Parsed by hand with std::from_chars: GCC 12's libstdc++ has the C++20 calendar
// types but not std::chrono::parse or std::format, and strptime() is locale-bound,
// ignores fractional seconds and offsets, and accepts out-of-range fields.
#include <fmt/format.h>

#include <charconv>

#include "keel/value.hpp"

namespace keel {

namespace {

using namespace std::chrono;

// Reads exactly `n` ASCII digits at `pos`; advances `pos` on success.
bool digits(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  for (std::size_t i = pos; i < pos + n; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  std::from_chars(s.data() + pos, s.data() + pos + n, out);
  pos += n;
  return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

// YYYY-MM-DD at `pos`, years 0001-9999, a real calendar day.
std::optional<year_month_day> read_date(std::string_view s, std::size_t& pos) {
  int y = 0, m = 0, d = 0;
  if (!digits(s, pos, 4, y) || !expect(s, pos, '-') || !digits(s, pos, 2, m) ||
      !expect(s, pos, '-') || !digits(s, pos, 2, d))
    return std::nullopt;
  year_month_day date{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (y < 1 || !date.ok()) return std::nullopt;
  return date;
}

}  // namespace

std::string format_date(Date d) {
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(d.year()),
                     static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
}

std::string format_timestamp(Timestamp t) {
  // floor, not duration_cast: instants before 1970 must land on the previous day.
  auto day_start = floor<days>(t);
  year_month_day date{day_start};
  hh_mm_ss<microseconds> time{t - day_start};
  return fmt::format("{}T{:02}:{:02}:{:02}.{:06}Z", format_date(date), time.hours().count(),
                     time.minutes().count(), time.seconds().count(), time.subseconds().count());
}

std::optional<Date> parse_date(std::string_view text) {
  std::size_t pos = 0;
  auto date = read_date(text, pos);
  if (!date || pos != text.size()) return std::nullopt;
  return date;
}

std::optional<Timestamp> parse_timestamp(std::string_view text) {
  std::size_t pos = 0;
  auto date = read_date(text, pos);
  if (!date) return std::nullopt;
  Timestamp result = sys_days{*date};
  if (pos == text.size()) return result;  // a date alone: midnight UTC

  if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return std::nullopt;
  ++pos;
  int hh = 0, mm = 0, ss = 0;
  if (!digits(text, pos, 2, hh) || !expect(text, pos, ':') || !digits(text, pos, 2, mm))
    return std::nullopt;
  if (expect(text, pos, ':')) {
    if (!digits(text, pos, 2, ss)) return std::nullopt;
    if (expect(text, pos, '.')) {
      // 1 to 9 digits; beyond microseconds they are truncated, not rounded, so a
      // value never moves into the next second (or day, or year).
      std::size_t start = pos;
      long long micros = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (pos - start < 6) micros = micros * 10 + (text[pos] - '0');
        ++pos;
      }
      std::size_t n = pos - start;
      if (n < 1 || n > 9) return std::nullopt;
      for (std::size_t i = n; i < 6; ++i) micros *= 10;
      result += microseconds{micros};
    }
  }
  // 24:00 and leap seconds are refused: PostgreSQL folds them into the next
  // day/minute, and a value that changes on a round trip is worse than an error.
  if (hh > 23 || mm > 59 || ss > 59) return std::nullopt;
  result += hours{hh} + minutes{mm} + seconds{ss};

  if (pos == text.size()) return result;  // no offset: UTC
  if ((text[pos] == 'Z' || text[pos] == 'z') && pos + 1 == text.size()) return result;
  if (text[pos] != '+' && text[pos] != '-') return std::nullopt;
  int sign = text[pos] == '+' ? 1 : -1;
  ++pos;
  int oh = 0, om = 0, os = 0;
  if (!digits(text, pos, 2, oh)) return std::nullopt;
  if (pos < text.size()) {
    bool colon = expect(text, pos, ':');
    if (!digits(text, pos, 2, om)) return std::nullopt;
    // PostgreSQL prints seconds for historical local-mean-time offsets (+05:53:28).
    if (colon && expect(text, pos, ':') && !digits(text, pos, 2, os)) return std::nullopt;
  }
  if (pos != text.size() || oh > 23 || om > 59 || os > 59) return std::nullopt;
  // Local time minus its offset is UTC.
  result -= sign * (hours{oh} + minutes{om} + seconds{os});
  return result;
}

}  // namespace keel
