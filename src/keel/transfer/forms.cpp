// Text forms shared by coercion and checksums.
#include "transfer/forms.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <vector>

namespace keel::transfer::forms {

// ---- UTF-8 -------------------------------------------------------------------

Utf8Check check_utf8(std::string_view s) noexcept {
  Utf8Check out;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  std::size_t chars = 0;
  auto fail = [&](Utf8Check::Problem problem) {
    out.problem = problem;
    out.offset = i;
    return out;
  };
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      if (c == 0) return fail(Utf8Check::Problem::nul);
      ++i;
      ++chars;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the valid range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // past U+10FFFF
    } else {
      return fail(Utf8Check::Problem::invalid);
    }
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return fail(Utf8Check::Problem::invalid);
    for (std::size_t k = 2; k < len; ++k)
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return fail(Utf8Check::Problem::invalid);
    i += len;
    ++chars;
  }
  out.characters = chars;
  return out;
}

// ---- Decimals ----------------------------------------------------------------

std::optional<DecimalNumber> parse_decimal(std::string_view s) {
  DecimalNumber d;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) d.negative = s[i++] == '-';
  std::size_t int_start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  std::string_view whole = s.substr(int_start, i - int_start);
  std::string_view fraction;
  if (i < s.size() && s[i] == '.') {
    std::size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    fraction = s.substr(start, i - start);
  }
  if (whole.empty() && fraction.empty()) return std::nullopt;
  std::int64_t exponent = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      // Clamped: an exponent this size already fits no column, and must not overflow.
      if (exponent < (std::int64_t{1} << 40)) exponent = exponent * 10 + (s[i] - '0');
      ++i;
    }
    if (i == start) return std::nullopt;
    if (negative) exponent = -exponent;
  }
  if (i != s.size()) return std::nullopt;

  const auto frac_len = static_cast<std::int64_t>(fraction.size());
  d.scale = std::max<std::int64_t>(0, frac_len - exponent);
  d.point = static_cast<std::int64_t>(whole.size()) + exponent;
  d.digits.reserve(whole.size() + fraction.size());
  d.digits.append(whole).append(fraction);
  std::size_t lead = d.digits.find_first_not_of('0');
  if (lead == std::string::npos) {
    d.digits.clear();
    d.negative = false;
    d.point = 0;
    return d;
  }
  d.digits.erase(0, lead);
  d.point -= static_cast<std::int64_t>(lead);
  d.digits.erase(d.digits.find_last_not_of('0') + 1);
  return d;
}

std::string plain_text(const DecimalNumber& d, bool with_scale) {
  const auto len = static_cast<std::int64_t>(d.digits.size());
  std::string out;
  if (d.negative && len > 0) out += '-';
  if (d.point <= 0) {
    out += '0';
  } else {
    out.append(d.digits, 0, static_cast<std::size_t>(std::min(d.point, len)));
    if (d.point > len) out.append(static_cast<std::size_t>(d.point - len), '0');
  }
  std::int64_t fraction = d.fraction_digits();
  std::int64_t shown = with_scale ? std::max(fraction, d.scale) : fraction;
  if (shown > 0) {
    out += '.';
    if (d.point < 0) out.append(static_cast<std::size_t>(-d.point), '0');
    if (fraction > 0)
      out.append(d.digits, static_cast<std::size_t>(std::max<std::int64_t>(d.point, 0)));
    if (shown > fraction) out.append(static_cast<std::size_t>(shown - fraction), '0');
  }
  return out;
}

std::string shortest_plain(double d) {
  char buf[512];  // 5e-324 in plain notation needs 326
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  return ec == std::errc() ? std::string(buf, end) : fmt::format("{}", d);
}

std::string real_text(double d) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string out(buf, ec == std::errc() ? end : buf);
  std::size_t e = out.find('e');
  std::string_view mantissa = std::string_view(out).substr(0, e);
  if (mantissa.find('.') == std::string_view::npos) {
    if (e == std::string::npos)
      out += ".0";
    else
      out.insert(e, ".0");
  }
  return out;
}

// ---- UUIDs -------------------------------------------------------------------

namespace {
bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
}  // namespace

bool is_uuid_text(std::string_view s) noexcept {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < 36; ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex(s[i])) return false;
  }
  return true;
}

// ---- JSON --------------------------------------------------------------------

namespace {

using json = nlohmann::json;

// Accepts every event; rejects strings jsonb cannot hold.
struct Validator : nlohmann::json_sax<json> {
  std::string problem;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t& s) override { return text(s, "a string"); }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t& s) override { return text(s, "a key"); }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    // "[json.exception.parse_error.101] parse error at line 1, column 4: …"
    std::string_view what = e.what();
    std::size_t cut = what.find("] ");
    problem = std::string(cut == std::string_view::npos ? what : what.substr(cut + 2));
    return false;
  }

  bool text(const std::string& s, const char* what) {
    if (s.find('\0') == std::string::npos) return true;
    problem = fmt::format("{} holds \\u0000, which PostgreSQL jsonb cannot store", what);
    return false;
  }
};

// PostgreSQL's escape_json(): the short escapes JSON has, \u00XX for the other
// control characters, every other byte as it is.
void write_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

// jsonb_text()'s parser. Hand-written because it is the transfer's hottest loop
// (every JSON value of the source, once): nlohmann's SAX interface builds each string
// a byte at a time and a tree would cost an allocation per node, while this writes
// jsonb's spelling as it reads, buffering only each object's members to sort them.
// It accepts exactly RFC 8259 JSON in UTF-8, as nlohmann::json does (json_problem()
// explains a refusal), and what jsonb stores: no \u0000, no number past a double's
// range (refused, as json_problem() refuses it).
class JsonbSpeller {
 public:
  explicit JsonbSpeller(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  bool document(std::string& out) {
    skip_space();
    if (!value(out, 0)) return false;
    skip_space();
    return p_ == end_;
  }

 private:
  // Deep enough for any document an application writes, shallow enough for a
  // thread's stack.
  static constexpr int kMaxDepth = 10000;

  void skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool literal(std::string_view word, std::string& out) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word)
      return false;
    p_ += word.size();
    out += word;
    return true;
  }

  bool value(std::string& out, int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': return object(out, depth + 1);
      case '[': return array(out, depth + 1);
      case '"': {
        if (!string(scratch_)) return false;
        write_string(out, scratch_);
        return true;
      }
      case 't': return literal("true", out);
      case 'f': return literal("false", out);
      case 'n': return literal("null", out);
      default: return number(out);
    }
  }

  bool array(std::string& out, int depth) {
    if (depth > kMaxDepth) return false;
    ++p_;
    out += '[';
    skip_space();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      out += ']';
      return true;
    }
    for (bool first = true;; first = false) {
      if (!first) out += ", ";
      skip_space();
      if (!value(out, depth)) return false;
      skip_space();
      if (p_ == end_) return false;
      if (*p_ == ']') break;
      if (*p_++ != ',') return false;
    }
    ++p_;
    out += ']';
    return true;
  }

  bool object(std::string& out, int depth) {
    if (depth > kMaxDepth) return false;
    ++p_;
    std::vector<std::pair<std::string, std::string>> members;
    skip_space();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      out += "{}";
      return true;
    }
    while (true) {
      skip_space();
      if (p_ == end_ || *p_ != '"') return false;
      std::pair<std::string, std::string> m;
      if (!string(m.first)) return false;
      skip_space();
      if (p_ == end_ || *p_++ != ':') return false;
      skip_space();
      if (!value(m.second, depth)) return false;
      members.push_back(std::move(m));
      skip_space();
      if (p_ == end_) return false;
      if (*p_ == '}') break;
      if (*p_++ != ',') return false;
    }
    ++p_;
    // jsonb's order: shorter keys first, equal lengths bytewise. Stable, so that of
    // duplicate keys the last written comes last and is the one kept.
    std::stable_sort(members.begin(), members.end(), [](const auto& a, const auto& b) {
      return a.first.size() != b.first.size() ? a.first.size() < b.first.size()
                                              : a.first < b.first;
    });
    out += '{';
    bool first = true;
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i + 1 < members.size() && members[i + 1].first == members[i].first) continue;
      if (!first) out += ", ";
      first = false;
      write_string(out, members[i].first);
      out += ": ";
      out += members[i].second;
    }
    out += '}';
    return true;
  }

  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  bool code_unit(unsigned& u) {
    if (end_ - p_ < 4) return false;
    u = 0;
    for (int i = 0; i < 4; ++i) {
      int h = hex(*p_++);
      if (h < 0) return false;
      u = u << 4 | static_cast<unsigned>(h);
    }
    return true;
  }
  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | cp >> 6);
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | cp >> 12);
      out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | cp >> 18);
      out += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
      out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // A string's characters, escapes decoded, into `out`; the text is UTF-8 already
  // (jsonb_text() checks it first).
  bool string(std::string& out) {
    out.clear();
    ++p_;
    while (true) {
      const char* run = p_;
      while (p_ != end_ && *p_ != '"' && *p_ != '\\' &&
             static_cast<unsigned char>(*p_) >= 0x20)
        ++p_;
      out.append(run, p_);
      if (p_ == end_) return false;
      char c = *p_++;
      if (c == '"') return true;
      if (c != '\\' || p_ == end_) return false;  // a raw control character, or a lone '\'
      switch (*p_++) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned u = 0;
          if (!code_unit(u) || u == 0) return false;  // jsonb cannot hold \u0000
          if (u >= 0xDC00 && u <= 0xDFFF) return false;
          if (u >= 0xD800 && u <= 0xDBFF) {
            unsigned low = 0;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            if (!code_unit(low) || low < 0xDC00 || low > 0xDFFF) return false;
            u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00);
          }
          put_utf8(out, u);
          break;
        }
        default: return false;
      }
    }
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  bool number(std::string& out) {
    const char* start = p_;
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ == end_ || !digit(*p_)) return false;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ != end_ && digit(*p_)) ++p_;
    }
    bool plain = true;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ != end_ && digit(*p_)) ++p_;
      plain = false;
    }
    bool exponent = false;
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ != end_ && digit(*p_)) ++p_;
      plain = false;
      exponent = true;
    }
    std::string_view token(start, static_cast<std::size_t>(p_ - start));
    if (plain && token.size() < 19 && token != "-0") {  // an int64 spells itself
      out += token;
      return true;
    }
    // nlohmann::json (json_problem) refuses a number past a double's range; so does
    // this, rather than accept in one place what the other refuses.
    if (exponent || token.size() > 300) {
      std::string copy(token);
      if (std::isinf(std::strtod(copy.c_str(), nullptr))) return false;
    }
    auto d = parse_decimal(token);
    if (!d) return false;
    out += plain_text(*d, /*with_scale=*/true);
    return true;
  }

  const char* p_;
  const char* end_;
  std::string scratch_;
};

}  // namespace

std::string json_problem(std::string_view text) {
  Validator v;
  if (json::sax_parse(text.begin(), text.end(), &v)) return {};
  return v.problem.empty() ? std::string("invalid JSON") : v.problem;
}

std::optional<std::string> jsonb_text(std::string_view text) {
  if (check_utf8(text).problem == Utf8Check::Problem::invalid) return std::nullopt;
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  if (!JsonbSpeller(text).document(out)) return std::nullopt;
  return out;
}

// ---- Messages ----------------------------------------------------------------

namespace {

std::string shown_text(std::string_view s) {
  constexpr std::size_t kMax = 60;
  // Bytes of text that is not UTF-8 are shown as \xNN; characters of text that is stay.
  bool utf8 = true;
  for (std::string_view rest = s; utf8;) {  // NUL bytes aside
    Utf8Check c = check_utf8(rest);
    utf8 = c.problem != Utf8Check::Problem::invalid;
    if (c.problem != Utf8Check::Problem::nul) break;
    rest.remove_prefix(c.offset + 1);
  }
  std::size_t shown = std::min(s.size(), kMax);
  while (utf8 && shown < s.size() && (static_cast<unsigned char>(s[shown]) & 0xC0) == 0x80)
    --shown;  // not in the middle of a character
  std::string out = "\"";
  for (std::size_t i = 0; i < shown; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8)) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (shown < s.size()) out += fmt::format("… ({} bytes)", s.size());
  return out;
}

}  // namespace

std::string describe(const Value& v) {
  switch (v.type()) {
    case ValueType::null: return "NULL";
    case ValueType::integer: return fmt::format("integer {}", std::get<std::int64_t>(v.storage()));
    case ValueType::real: return fmt::format("real {}", std::get<double>(v.storage()));
    case ValueType::text: return "text " + shown_text(std::get<std::string>(v.storage()));
    case ValueType::blob:
      return fmt::format("blob of {} bytes", std::get<Blob>(v.storage()).size());
    case ValueType::json: return "json " + shown_text(std::get<Json>(v.storage()).text);
    case ValueType::decimal: return "decimal " + shown_text(std::get<Decimal>(v.storage()).text);
    default: return fmt::format("{} {}", to_string(v.type()), v.to_display());
  }
}

}  // namespace keel::transfer::forms
