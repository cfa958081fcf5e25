// cli/common.cpp — configuration, error output and the verb registry shared by
// every verb.
#include "common.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "keel/error.hpp"

namespace keel::cli {
namespace {

std::vector<Verb (*)()>& registry() {
  static std::vector<Verb (*)()> makers;
  return makers;
}

// DESIGN.md's verb table; a verb not listed here sorts after these, by name.
constexpr std::string_view kVerbOrder[] = {"init",    "revision", "upgrade", "downgrade",
                                           "current", "history",  "stamp",   "merge",
                                           "check",   "schema",   "transfer", "health"};

std::size_t rank(const std::string& name) {
  auto it = std::find(std::begin(kVerbOrder), std::end(kVerbOrder), name);
  return static_cast<std::size_t>(it - std::begin(kVerbOrder));
}

bool url_char_ends_authority(char c) {
  return c == '/' || c == '?' || c == '#' || std::isspace(static_cast<unsigned char>(c)) ||
         c == '"' || c == '\'';
}

}  // namespace

bool register_verb(Verb (*make)()) {
  registry().push_back(make);
  return true;
}

std::vector<Verb> registered_verbs() {
  std::vector<Verb> verbs;
  for (auto make : registry()) verbs.push_back(make());
  std::stable_sort(verbs.begin(), verbs.end(), [](const Verb& a, const Verb& b) {
    auto ra = rank(a.name), rb = rank(b.name);
    return ra != rb ? ra < rb : a.name < b.name;
  });
  return verbs;
}

std::optional<std::string> config_file(const Globals& globals) {
  std::error_code ec;
  if (!globals.config_file.empty()) {
    // Checked here so a typo in --config is not mistaken for "no file, defaults".
    if (!std::filesystem::is_regular_file(globals.config_file, ec))
      throw ConfigError(fmt::format("--config {}: no such file", globals.config_file));
    return globals.config_file;
  }
  if (std::filesystem::is_regular_file("keel.yaml", ec)) return "keel.yaml";
  return std::nullopt;
}

Config load_config(const Globals& globals) {
  ConfigSources sources;
  sources.file = config_file(globals);
  if (!globals.url.empty()) sources.explicit_url = globals.url;
  return resolve_config(sources);
}

std::string scrub_passwords(std::string_view text) {
  std::string out(text);
  // scheme://user:password@host — the password is between the first ':' of the
  // userinfo and the authority's last '@'.
  for (std::size_t pos = out.find("://"); pos != std::string::npos;
       pos = out.find("://", pos + 3)) {
    std::size_t start = pos + 3, end = start;
    while (end < out.size() && !url_char_ends_authority(out[end])) ++end;
    std::size_t at = out.rfind('@', end == 0 ? 0 : end - 1);
    if (at == std::string::npos || at < start) continue;
    std::size_t colon = out.find(':', start);
    if (colon == std::string::npos || colon > at) continue;
    if (out.compare(colon + 1, at - colon - 1, "***") == 0) continue;
    out.replace(colon + 1, at - colon - 1, "***");
  }
  // libpq keyword form: password=secret
  for (std::size_t pos = out.find("password="); pos != std::string::npos;
       pos = out.find("password=", pos + 1)) {
    std::size_t start = pos + 9, end = start;
    while (end < out.size() && !std::isspace(static_cast<unsigned char>(out[end]))) ++end;
    if (end > start) out.replace(start, end - start, "***");
  }
  return out;
}

void print_error(std::string_view message) {
  std::string text = scrub_passwords(message);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::cerr << "keel: " << text << '\n';
}

int run_guarded(const std::function<int()>& body) {
  try {
    return body();
  } catch (const ConfigError& e) {
    print_error(e.what());
    return kExitUsage;
  } catch (const UsageError& e) {
    print_error(e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    print_error(e.what());
    return kExitFailed;
  }
}

Backend parse_dialect(const std::string& name) {
  if (name == "sqlite") return Backend::sqlite;
  if (name == "postgresql" || name == "postgres") return Backend::postgresql;
  throw UsageError(fmt::format("--dialect {}: expected sqlite or postgresql", name));
}

bool missing_sqlite_file(const Config& config) {
  if (!config.is_sqlite() || config.url.is_memory()) return false;
  std::error_code ec;
  return !std::filesystem::exists(config.url.path, ec);
}

}  // namespace keel::cli
