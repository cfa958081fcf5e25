// Revision files: reading one, and ordering a directory of them into a history.
//
// Ordering is Kahn's algorithm over the down_revision links; ties (branches about
// to be merged) go in file-name order, so every machine applies a history in the
// same order. A history to run must have exactly one head: two heads mean two people
// branched from the same revision, and which goes first is a decision for a merge
// revision, not for the loader (only `keel merge` loads it with Heads::many).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <xxhash.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "keel/migrate.hpp"
#include "schema/operations_yaml.hpp"

namespace keel::migrate {
namespace {

namespace fs = std::filesystem;

// From this many files on, load_history parses on two threads.
constexpr std::size_t kParallelLoad = 8;

std::string at(const std::string& path, const YAML::Mark& mark) {
  if (mark.is_null()) return path;
  return fmt::format("{}:{}:{}", path, mark.line + 1, mark.column + 1);
}

[[noreturn]] void fail(const std::string& path, const YAML::Node& node, std::string_view key,
                       std::string_view message) {
  throw ConfigError(fmt::format("{}: key {}: {}", at(path, node.Mark()), key, message));
}

std::string scalar(const std::string& path, const YAML::Node& node, std::string_view key) {
  if (!node.IsScalar()) fail(path, node, key, "expected a string");
  return node.Scalar();
}

bool valid_id(std::string_view id) {
  if (id.empty()) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

SqlStep sql_step(const std::string& path, const YAML::Node& value, const std::string& key) {
  if (value.IsScalar()) return {value.Scalar(), value.Scalar()};
  if (!value.IsMap())
    fail(path, value, key, "expected SQL text, or {sqlite: \"…\", postgresql: \"…\"}");
  SqlStep step;
  bool has_sqlite = false, has_pg = false;
  for (const auto& kv : value) {
    std::string name = kv.first.Scalar();
    if (name == "sqlite") {
      step.sqlite = scalar(path, kv.second, key + ".sqlite");
      has_sqlite = true;
    } else if (name == "postgresql") {
      step.postgresql = scalar(path, kv.second, key + ".postgresql");
      has_pg = true;
    } else {
      fail(path, kv.first, key + "." + name, "unknown dialect; expected sqlite or postgresql");
    }
  }
  // Every revision runs on both backends: a dialect left out is a mistake, while
  // "" says on purpose that there is nothing to do there.
  if (!has_sqlite) fail(path, value, key, "missing the sqlite variant (\"\" for none)");
  if (!has_pg) fail(path, value, key, "missing the postgresql variant (\"\" for none)");
  return step;
}

std::vector<Step> steps(const std::string& path, const YAML::Node& list, const std::string& key) {
  std::vector<Step> out;
  if (!list.IsDefined() || list.IsNull()) return out;
  if (!list.IsSequence()) fail(path, list, key, "expected a list of operations");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    std::string item_key = fmt::format("{}[{}]", key, i);
    if (item.IsMap() && item.size() == 1 && item.begin()->first.Scalar() == "sql") {
      out.emplace_back(sql_step(path, item.begin()->second, item_key + ".sql"));
    } else {
      out.emplace_back(schema::operation_from_yaml(item, path, item_key));
    }
  }
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot read the revision file", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Revision parse_revision(const std::string& path, const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}: {}", at(path, e.mark), e.msg));
  }
  if (!root.IsMap())
    throw ConfigError(fmt::format("{}: expected a mapping of revision keys", path));
  Revision rev;
  rev.path = path;
  rev.checksum = file_checksum(text);
  bool has_id = false, has_down = false;
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& value = kv.second;
    if (key == "id") {
      rev.id = scalar(path, value, key);
      if (!valid_id(rev.id)) fail(path, value, key, "expected letters, digits, '_' or '-'");
      has_id = true;
    } else if (key == "down_revision") {
      has_down = true;
      if (value.IsNull()) continue;
      if (value.IsScalar()) {
        rev.down_revisions.push_back(value.Scalar());
      } else if (value.IsSequence()) {
        for (std::size_t i = 0; i < value.size(); ++i)
          rev.down_revisions.push_back(scalar(path, value[i], fmt::format("{}[{}]", key, i)));
        if (rev.down_revisions.size() < 2)
          fail(path, value, key, "a list names the two or more revisions a merge joins");
      } else {
        fail(path, value, key, "expected a revision id, null for a base, or a list for a merge");
      }
    } else if (key == "message") {
      rev.message = value.IsNull() ? "" : scalar(path, value, key);
    } else if (key == "created") {
      rev.created = value.IsNull() ? "" : scalar(path, value, key);
    } else if (key == "upgrade") {
      rev.upgrade = steps(path, value, key);
    } else if (key == "downgrade") {
      rev.downgrade = steps(path, value, key);
    } else {
      fail(path, kv.first, key,
           "unknown key; expected id, down_revision, message, created, upgrade, downgrade");
    }
  }
  if (!has_id) throw ConfigError(fmt::format("{}: key id: missing", path));
  if (!has_down)
    throw ConfigError(
        fmt::format("{}: key down_revision: missing (null for the first revision)", path));
  std::string file = fs::path(path).filename().string();
  if (file.rfind(rev.id + "_", 0) != 0 && file.rfind(rev.id + ".", 0) != 0)
    fail(path, root["id"], "id",
         fmt::format("the file name should start with the id: {}_<slug>.yaml", rev.id));
  return rev;
}

}  // namespace

std::string describe(const Step& step) {
  if (const auto* op = std::get_if<schema::Operation>(&step)) return schema::describe(*op);
  return "sql";
}

std::string file_checksum(std::string_view text) {
  std::string norm;
  norm.reserve(text.size());
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    bool last = end == std::string_view::npos;
    std::string_view line = text.substr(start, last ? std::string_view::npos : end - start);
    std::size_t keep = line.find_last_not_of(" \t\r\f\v");
    norm.append(line.substr(0, keep == std::string_view::npos ? 0 : keep + 1));
    if (last) break;
    norm.push_back('\n');
    start = end + 1;
  }
  // Blank lines at the end are line-ending noise too (an editor adding a final newline).
  while (!norm.empty() && norm.back() == '\n') norm.pop_back();
  return fmt::format("{:016x}", XXH64(norm.data(), norm.size(), 0));
}

Revision load_revision_file(const std::string& path) {
  return parse_revision(path, read_text(path));
}

const Revision* History::find(std::string_view id) const noexcept {
  for (const auto& r : revisions)
    if (r.id == id) return &r;
  return nullptr;
}

std::string History::head() const { return revisions.empty() ? "" : revisions.back().id; }

std::vector<std::string> History::heads() const {
  std::set<std::string> parents;
  for (const auto& r : revisions) parents.insert(r.down_revisions.begin(), r.down_revisions.end());
  std::vector<std::string> out;
  for (const auto& r : revisions)
    if (!parents.count(r.id)) out.push_back(r.id);
  return out;
}

History load_history(const std::string& dir, Heads allowed) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw ConfigError(fmt::format("{}: not a directory of revision files", dir));
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    auto ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml"))
      files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());

  // Parsing YAML is most of the time a short run spends before its first statement:
  // the files are parsed on two threads, and a broken one is reported as a sequential
  // load would, the first in name order.
  std::vector<std::optional<Revision>> parsed(files.size());
  std::vector<std::exception_ptr> failed(files.size());
  auto parse = [&](std::size_t from, std::size_t step) {
    for (std::size_t i = from; i < files.size(); i += step) {
      try {
        parsed[i] = load_revision_file(files[i]);
      } catch (...) {
        failed[i] = std::current_exception();
      }
    }
  };
  if (files.size() >= kParallelLoad) {
    std::thread other(parse, 1, 2);
    parse(0, 2);
    other.join();
  } else {
    parse(0, 1);
  }
  std::vector<Revision> loaded;
  std::map<std::string, std::size_t> by_id;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (failed[i]) std::rethrow_exception(failed[i]);
    const std::string& f = files[i];
    Revision rev = std::move(*parsed[i]);
    if (auto it = by_id.find(rev.id); it != by_id.end())
      throw ConfigError(fmt::format("{}: key id: revision {} is also defined in {}", f, rev.id,
                                    loaded[it->second].path));
    by_id.emplace(rev.id, loaded.size());
    loaded.push_back(std::move(rev));
  }

  std::vector<int> missing(loaded.size(), 0);
  std::vector<std::vector<std::size_t>> children(loaded.size());
  std::vector<bool> has_child(loaded.size(), false);
  for (std::size_t i = 0; i < loaded.size(); ++i) {
    for (const auto& parent : loaded[i].down_revisions) {
      auto it = by_id.find(parent);
      if (it == by_id.end())
        throw ConfigError(
            fmt::format("{}: key down_revision: revision {} names parent {}, which "
                        "is not in {}",
                        loaded[i].path, loaded[i].id, parent, dir));
      children[it->second].push_back(i);
      has_child[it->second] = true;
      ++missing[i];
    }
  }

  std::vector<std::string> heads;
  for (std::size_t i = 0; i < loaded.size(); ++i)
    if (!has_child[i]) heads.push_back(fmt::format("{} ({})", loaded[i].id, loaded[i].path));

  History history;
  history.dir = dir;
  std::set<std::size_t> ready;  // by file order
  for (std::size_t i = 0; i < loaded.size(); ++i)
    if (missing[i] == 0) ready.insert(i);
  std::vector<bool> placed(loaded.size(), false);
  std::vector<std::size_t> order;
  while (!ready.empty()) {
    std::size_t i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    placed[i] = true;
    for (std::size_t c : children[i])
      if (--missing[c] == 0) ready.insert(c);
  }
  if (order.size() != loaded.size()) {
    std::vector<std::string> cyc;
    for (std::size_t i = 0; i < loaded.size(); ++i)
      if (!placed[i]) cyc.push_back(fmt::format("{} ({})", loaded[i].id, loaded[i].path));
    throw ConfigError(fmt::format("{}: the down_revision links form a cycle through {}", dir,
                                  fmt::join(cyc, ", ")));
  }
  if (heads.size() > 1 && allowed == Heads::one)
    throw ConfigError(fmt::format("{}: the history has {} heads: {}; join them with `keel merge`",
                                  dir, heads.size(), fmt::join(heads, " and ")));
  for (std::size_t i : order) history.revisions.push_back(std::move(loaded[i]));
  return history;
}

std::string resolve_revision(const History& history, std::string_view target) {
  if (target == "head") {
    if (history.revisions.empty())
      throw ConfigError(fmt::format("{}: the history has no revisions", history.dir));
    return history.head();
  }
  if (history.find(target)) return std::string(target);
  std::vector<std::string> matches;
  for (const auto& r : history.revisions)
    if (!target.empty() && r.id.rfind(target, 0) == 0) matches.push_back(r.id);
  if (matches.size() == 1) return matches.front();
  if (matches.size() > 1)
    throw ConfigError(fmt::format("revision '{}' is ambiguous in {}: {}", target, history.dir,
                                  fmt::join(matches, ", ")));
  std::vector<std::string> known;
  for (const auto& r : history.revisions) known.push_back(r.id);
  throw ConfigError(
      fmt::format("unknown revision '{}' in {}; known: {}", target, history.dir,
                  known.empty() ? "none" : fmt::format("{}", fmt::join(known, ", "))));
}

}  // namespace keel::migrate
