// Database URLs: parsing, re-encoding and redaction.
//
// Hand-written because no library on Debian 12 does this job: libpq's
// PQconninfoParse() knows only postgresql:// and quotes the whole URI, password
// included, in several of its error messages; uriparser is a generic RFC 3986
// parser that knows neither the sqlite:/// path convention nor libpq's rules
// (socket directory as host, query keywords overriding components); Boost.URL
// needs Boost 1.81 and Debian 12 ships 1.74. The PostgreSQL grammar follows the
// "Connection URIs" section of libpq's manual, so a URL libpq accepts means the
// same thing here.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>
#include <string_view>
#include <utility>

#include "keel/config.hpp"
#include "keel/error.hpp"

namespace keel {

const char* to_string(Backend backend) noexcept {
  switch (backend) {
    case Backend::sqlite: return "sqlite";
    case Backend::postgresql: return "postgresql";
  }
  return "sqlite";
}

namespace {

constexpr std::string_view kExpected = "expected sqlite:///path or postgresql://user@host/db";

// Query keys whose values are secrets wherever they appear.
bool is_secret_param(std::string_view key) { return key == "password" || key == "sslpassword"; }

// The part of unparsed text that may be a password: everything between the first
// ':' of the authority and the last '@'. Conservative on purpose — even if that '@'
// belongs to a query value — because an unencoded '/', '?' or '@' in a password is
// exactly the kind of mistake that brings us here. Returns {pos, length}.
std::pair<std::size_t, std::size_t> secret_span(std::string_view url) {
  std::size_t start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  std::size_t at = url.rfind('@');
  if (at == std::string_view::npos || at <= start) return {0, 0};
  std::size_t colon = url.find(':', start);
  if (colon == std::string_view::npos || colon >= at) return {0, 0};
  return {colon + 1, at - colon - 1};
}

// Masks secrets in text that failed to parse, so it can be quoted in an error.
std::string redact_raw(std::string_view url) {
  std::string out(url);
  auto [pos, len] = secret_span(url);
  if (len > 0) out.replace(pos, len, "***");
  // password=… in the query (or anywhere: a keyword/value string pasted as a URL).
  for (std::string_view key : {"password=", "sslpassword="}) {
    std::size_t at = 0;
    while ((at = out.find(key, at)) != std::string::npos) {
      bool boundary = at == 0 || out[at - 1] == '?' || out[at - 1] == '&' || out[at - 1] == ' ';
      at += key.size();
      if (!boundary) continue;
      std::size_t end = out.find_first_of("& ", at);
      if (end == std::string::npos) end = out.size();
      out.replace(at, end - at, "***");
      at += 3;
    }
  }
  return out;
}

// Quotes a piece of the URL for an error message, unless it may be (part of) the
// password — which happens when an unencoded delimiter in the password made the
// parser read part of it as a host, port or path.
std::string quote(std::string_view url, std::string_view piece) {
  auto [pos, len] = secret_span(url);
  if (!piece.empty() && url.substr(pos, len).find(piece) != std::string_view::npos)
    return "(not shown: it may be part of the password; percent-encode '/', '?', '@' and ':' "
           "in a password)";
  return fmt::format("\"{}\"", piece);
}

[[noreturn]] void fail(std::string_view where, std::string_view url, std::string_view problem,
                       std::string_view expected = kExpected) {
  throw ConfigError(fmt::format("{}: invalid database URL \"{}\": {}; {}", where,
                                redact_raw(url), problem, expected));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes. '+' stays '+' (libpq does not treat it as a space), and
// %00 is refused because every consumer of these strings is a C API.
// `component` names the part in the error; a password's text is never quoted.
std::string decode(std::string_view s, std::string_view component, std::string_view where,
                   std::string_view url) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    int hi = i + 1 < s.size() ? hex_digit(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? hex_digit(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      fail(where, url,
           component == "password"
               ? std::string("bad percent-escape in the password (write '%' as %25)")
               : fmt::format("bad percent-escape {} in the {} (write '%' as %25)",
                             quote(url, s.substr(i, 3)), component),
           "expected %XX with two hex digits");
    }
    if (hi == 0 && lo == 0) fail(where, url, fmt::format("%00 in the {}", component));
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// Percent-encodes everything outside RFC 3986's unreserved set plus `keep`.
std::string encode(std::string_view s, std::string_view keep = {}) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || keep.find(static_cast<char>(c)) != keep.npos) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

void parse_query(std::string_view query, std::map<std::string, std::string>& params,
                 std::string_view where, std::string_view url) {
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view item = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (item.empty()) continue;  // "?a=1&&b=2" and a trailing '&' are harmless
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      fail(where, url, "a query parameter is not key=value", "expected ?key=value&key=value");
    }
    std::string key = decode(item.substr(0, eq), "query parameter name", where, url);
    std::string value =
        decode(item.substr(eq + 1), is_secret_param(key) ? "password" : "query parameter value",
               where, url);
    params[std::move(key)] = std::move(value);
  }
}

// A port, or a comma-separated list of them (libpq's multi-host form).
void check_port(std::string_view port, std::string_view where, std::string_view url) {
  std::size_t pos = 0;
  while (true) {
    std::size_t comma = port.find(',', pos);
    std::string_view one = port.substr(pos, comma == port.npos ? port.npos : comma - pos);
    if (!one.empty()) {
      int value = 0;
      auto [ptr, ec] = std::from_chars(one.data(), one.data() + one.size(), value);
      if (ec != std::errc() || ptr != one.data() + one.size() || value < 1 || value > 65535)
        fail(where, url, fmt::format("port {} is not a number 1..65535", quote(url, one)));
    }
    if (comma == port.npos) break;
    pos = comma + 1;
  }
}

Url parse_sqlite(std::string_view rest, std::string_view where, std::string_view url) {
  // rest is what follows "sqlite://": an empty authority, then "/" and the path.
  Url out;
  out.backend = Backend::sqlite;
  std::size_t q = rest.find('?');
  std::string_view path = rest.substr(0, q);
  if (!path.empty() && path.front() != '/') {
    fail(where, url,
         fmt::format("a SQLite URL has no host ({} would be one)",
                     quote(url, path.substr(0, path.find('/')))),
         "expected sqlite:///relative/path, sqlite:////absolute/path or sqlite:///:memory:");
  }
  if (path.size() <= 1) {
    fail(where, url, "the SQLite file path is empty",
         "expected sqlite:///relative/path, sqlite:////absolute/path or sqlite:///:memory:");
  }
  out.path = decode(path.substr(1), "path", where, url);
  if (q != std::string_view::npos) parse_query(rest.substr(q + 1), out.params, where, url);
  return out;
}

Url parse_postgres(std::string_view rest, std::string_view where, std::string_view url) {
  Url out;
  out.backend = Backend::postgresql;
  std::size_t q = rest.find('?');
  std::string_view before_query = rest.substr(0, q);
  std::size_t slash = before_query.find('/');
  std::string_view authority = before_query.substr(0, slash);
  if (slash != std::string_view::npos)
    out.dbname = decode(before_query.substr(slash + 1), "database name", where, url);

  // The last '@' ends the user info, so an unencoded '@' in a password still works.
  std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    std::size_t colon = userinfo.find(':');
    out.user = decode(userinfo.substr(0, colon), "user name", where, url);
    if (colon != std::string_view::npos)
      out.password = decode(userinfo.substr(colon + 1), "password", where, url);
    authority.remove_prefix(at + 1);
  }

  std::string_view host = authority;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    std::size_t close = host.find(']');
    if (close == std::string_view::npos)
      fail(where, url, "'[' opens an IPv6 address that no ']' closes");
    std::string_view after = host.substr(close + 1);
    if (!after.empty() && after.front() != ':')
      fail(where, url, fmt::format("unexpected {} after the IPv6 address", quote(url, after)));
    if (!after.empty()) port = after.substr(1);
    host = host.substr(1, close - 1);
  } else {
    if (host.find(',') != std::string_view::npos) {
      fail(where, url, "several hosts in the URL's host part",
           "expected one host, or ?host=h1,h2&port=p1,p2 (libpq's multi-host form)");
    }
    std::size_t colon = host.find(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
      if (port.find(':') != std::string_view::npos)
        fail(where, url, "an IPv6 address must be in brackets, as in postgresql://[::1]:5432/db");
    }
  }
  out.host = decode(host, "host", where, url);
  out.port = decode(port, "port", where, url);
  if (q != std::string_view::npos) parse_query(rest.substr(q + 1), out.params, where, url);

  // As in libpq, query parameters naming a URL component override it; moving them
  // into the fields gives the driver one place to look and keeps a
  // ?password=… out of redacted().
  auto lift = [&](const char* key, std::string& field) {
    auto it = out.params.find(key);
    if (it == out.params.end()) return;
    field = std::move(it->second);
    out.params.erase(it);
  };
  lift("host", out.host);
  lift("port", out.port);
  lift("dbname", out.dbname);
  lift("user", out.user);
  if (auto it = out.params.find("password"); it != out.params.end()) {
    out.password = std::move(it->second);
    out.params.erase(it);
  }
  check_port(out.port, where, url);
  return out;
}

void append_query(std::string& out, const std::map<std::string, std::string>& params,
                  bool redact) {
  char sep = '?';
  for (const auto& [key, value] : params) {
    out += sep;
    out += encode(key);
    out += '=';
    out += redact && is_secret_param(key) ? std::string("***") : encode(value, ",:/");
    sep = '&';
  }
}

std::string render(const Url& url, bool redact) {
  std::string out;
  if (url.is_sqlite()) {
    // ":memory:" and absolute paths read naturally: sqlite:///:memory:, sqlite:////abs.
    out = "sqlite:///" + encode(url.path, "/:!$&'()*+,;=@");
    append_query(out, url.params, redact);
    return out;
  }
  out = "postgresql://";
  if (!url.user.empty() || url.password) {
    out += encode(url.user, "!$&'()*+,;=");
    if (url.password) out += ":" + (redact ? std::string("***") : encode(*url.password));
    out += '@';
  }
  // libpq's multi-host lists cannot sit in the authority of a single-host URL.
  bool list = url.host.find(',') != std::string::npos || url.port.find(',') != std::string::npos;
  auto params = url.params;
  if (list) {
    if (!url.host.empty()) params["host"] = url.host;
    if (!url.port.empty()) params["port"] = url.port;
  } else {
    // An IPv6 address goes in brackets (a socket directory may contain ':' too).
    if (url.host.find(':') != std::string::npos && url.host.front() != '/')
      out += "[" + encode(url.host, ":") + "]";
    else
      out += encode(url.host, "!$&'()*+;=");
    if (!url.port.empty()) out += ":" + url.port;
  }
  if (!url.dbname.empty()) out += "/" + encode(url.dbname, "!$&'()*+,;=:@");
  append_query(out, params, redact);
  return out;
}

}  // namespace

Url parse_url(std::string_view url, std::string_view where) {
  std::size_t colon = url.find(':');
  if (url.empty()) fail(where, url, "the URL is empty");
  if (colon == std::string_view::npos || colon == 0)
    fail(where, url, "no scheme (the part before \"://\")");
  std::string scheme(url.substr(0, colon));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  bool sqlite = scheme == "sqlite";
  bool postgres = scheme == "postgresql" || scheme == "postgres";
  if (!sqlite && !postgres)
    fail(where, url, fmt::format("unknown scheme \"{}\"", url.substr(0, colon)));
  if (url.substr(colon + 1, 2) != "//") {
    fail(where, url, fmt::format("\"{}:\" must be followed by \"//\"", scheme),
         sqlite ? "expected sqlite:///relative/path, sqlite:////absolute/path or "
                  "sqlite:///:memory:"
                : "expected postgresql://user@host:port/db");
  }
  std::string_view rest = url.substr(colon + 3);
  return sqlite ? parse_sqlite(rest, where, url) : parse_postgres(rest, where, url);
}

std::string Url::redacted() const { return render(*this, true); }

std::string Url::to_string() const { return render(*this, false); }

}  // namespace keel
