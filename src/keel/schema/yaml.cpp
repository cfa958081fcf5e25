// schema.yaml: load (strict, every error at file:line:column with its key) and
// save (stable and short, so a saved file diffs cleanly under review).
//
// The format is docs/schema.md. Loading keeps the position of every table,
// column, key and index it reads, so that validate()'s errors — a foreign key to
// a missing table, a default of the wrong type — point into the file too.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "keel/error.hpp"
#include "keel/schema.hpp"
#include "schema/internal.hpp"
#include "schema/yaml_parts.hpp"

namespace keel::schema {

namespace {

using namespace detail;  // the reader, the writers and the key lists

// ---- saving ---------------------------------------------------------------------

// Names that YAML would read as something else (true, null, 12, "a b") are quoted.
bool plain_safe(std::string_view s) {
  if (s.empty()) return false;
  if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  static const std::set<std::string> kReserved = {"null", "true", "false", "yes", "no", "on",
                                                  "off",  "y",    "n",     "now"};
  return !kReserved.count(lower(s));
}

YAML::Emitter& quoted(YAML::Emitter& out, const std::string& s) {
  return out << YAML::DoubleQuoted << s;
}

// A real always shows it is one (1.0, not 1), so it loads back as a real.
std::string real_text(double d) {
  std::string s = fmt::format("{}", d);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

void default_value(YAML::Emitter& out, const Default& d) {
  switch (d.kind) {
    case Default::Kind::current_timestamp:
      out << "now";
      return;
    case Default::Kind::expression:
      out << YAML::Flow << YAML::BeginMap << YAML::Key << "expression" << YAML::Value;
      quoted(out, d.expression);
      out << YAML::EndMap;
      return;
    case Default::Kind::literal:
      break;
  }
  const auto& v = d.literal.storage();
  if (auto* b = std::get_if<bool>(&v)) out << (*b ? "true" : "false");
  else if (auto* i = std::get_if<std::int64_t>(&v)) out << std::to_string(*i);
  else if (auto* r = std::get_if<double>(&v)) out << real_text(*r);
  else if (auto* s = std::get_if<std::string>(&v)) quoted(out, *s);
  else if (auto* j = std::get_if<Json>(&v)) quoted(out, j->text);
  else if (auto* dec = std::get_if<Decimal>(&v)) quoted(out, dec->text);
  else if (auto* date = std::get_if<Date>(&v)) quoted(out, format_date(*date));
  else if (auto* ts = std::get_if<Timestamp>(&v)) quoted(out, format_timestamp(*ts));
  else out << YAML::Null;
}

std::string default_name(const std::string& pattern, const std::string& table,
                         const std::vector<std::string>& cols) {
  return detail::shorten_name(
      fmt::format(fmt::runtime(pattern), table, fmt::join(cols, "_")));
}

template <class T>
std::vector<const T*> by_name(const std::vector<T>& items) {
  std::vector<const T*> out;
  for (const auto& x : items) out.push_back(&x);
  std::stable_sort(out.begin(), out.end(),
                   [](const T* a, const T* b) { return a->name < b->name; });
  return out;
}

void column(YAML::Emitter& out, const Column& c) {
  name(out, c.name);
  out << YAML::Value;
  bool short_form = c.nullable && !c.server_default && !c.autoincrement &&
                    c.renamed_from.empty() && c.declared_type.empty();
  if (short_form) {
    out << to_string(c.type);
    return;
  }
  out << YAML::Flow << YAML::BeginMap;
  column_fields(out, c);
  out << YAML::EndMap;
}

void table(YAML::Emitter& out, const Table& t) {
  name(out, t.name);
  out << YAML::Value << YAML::BeginMap;
  table_fields(out, t);
  out << YAML::EndMap;
}

}  // namespace

namespace detail {

YAML::Emitter& name(YAML::Emitter& out, const std::string& s) {
  if (plain_safe(s)) return out << s;
  return out << YAML::DoubleQuoted << s;
}

void name_list(YAML::Emitter& out, const std::vector<std::string>& names) {
  out << YAML::Flow << YAML::BeginSeq;
  for (const auto& n : names) name(out, n);
  out << YAML::EndSeq;
}

void column_fields(YAML::Emitter& out, const Column& c) {
  out << YAML::Key << "type" << YAML::Value << to_string(c.type);
  if (!c.nullable) out << YAML::Key << "nullable" << YAML::Value << "false";
  if (c.server_default) {
    out << YAML::Key << "default" << YAML::Value;
    default_value(out, *c.server_default);
  }
  if (c.autoincrement) out << YAML::Key << "autoincrement" << YAML::Value << "true";
  if (!c.renamed_from.empty()) {
    out << YAML::Key << "renamed_from" << YAML::Value;
    name(out, c.renamed_from);
  }
  if (!c.declared_type.empty()) {
    out << YAML::Key << "declared_type" << YAML::Value;
    quoted(out, c.declared_type);
  }
}

void foreign_key_fields(YAML::Emitter& out, const ForeignKey& fk) {
  out << YAML::Key << "columns" << YAML::Value;
  name_list(out, fk.columns);
  out << YAML::Key << "references" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
      << "table" << YAML::Value;
  name(out, fk.ref_table);
  out << YAML::Key << "columns" << YAML::Value;
  name_list(out, fk.ref_columns);
  out << YAML::EndMap;
  if (fk.on_delete != FkAction::no_action) {
    out << YAML::Key << "on_delete" << YAML::Value
        << kActions.begin()[static_cast<int>(fk.on_delete)].data();
  }
  if (fk.on_update != FkAction::no_action) {
    out << YAML::Key << "on_update" << YAML::Value
        << kActions.begin()[static_cast<int>(fk.on_update)].data();
  }
}

void index_fields(YAML::Emitter& out, const Index& ix) {
  out << YAML::Key << "columns" << YAML::Value;
  name_list(out, ix.columns);
  if (ix.unique) out << YAML::Key << "unique" << YAML::Value << "true";
  if (!ix.where.empty()) {
    out << YAML::Key << "where" << YAML::Value;
    quoted(out, ix.where);
  }
}

void check_fields(YAML::Emitter& out, const CheckConstraint& ck) {
  out << YAML::Key << "expression" << YAML::Value;
  quoted(out, ck.expression);
}

void table_fields(YAML::Emitter& out, const Table& t) {
  if (!t.renamed_from.empty()) {
    out << YAML::Key << "renamed_from" << YAML::Value;
    name(out, t.renamed_from);
  }
  out << YAML::Key << "columns" << YAML::Value << YAML::BeginMap;
  for (const auto& c : t.columns) {
    out << YAML::Key;
    column(out, c);
  }
  out << YAML::EndMap;

  if (t.primary_key) {
    out << YAML::Key << "primary_key" << YAML::Value;
    const PrimaryKey& pk = *t.primary_key;
    if (pk.name.empty() || pk.name == detail::shorten_name(t.name + "_pkey")) {
      name_list(out, pk.columns);
    } else {
      out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value;
      name(out, pk.name);
      out << YAML::Key << "columns" << YAML::Value;
      name_list(out, pk.columns);
      out << YAML::EndMap;
    }
  }
  if (!t.foreign_keys.empty()) {
    out << YAML::Key << "foreign_keys" << YAML::Value << YAML::BeginSeq;
    for (const ForeignKey* fk : by_name(t.foreign_keys)) {
      out << YAML::Flow << YAML::BeginMap;
      if (!fk->name.empty() && fk->name != default_name("{}_{}_fkey", t.name, fk->columns)) {
        out << YAML::Key << "name" << YAML::Value;
        name(out, fk->name);
      }
      foreign_key_fields(out, *fk);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  if (!t.uniques.empty()) {
    out << YAML::Key << "unique" << YAML::Value << YAML::BeginSeq;
    for (const UniqueConstraint* u : by_name(t.uniques)) {
      if (u->name.empty() || u->name == default_name("{}_{}_key", t.name, u->columns)) {
        name_list(out, u->columns);
        continue;
      }
      out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value;
      name(out, u->name);
      out << YAML::Key << "columns" << YAML::Value;
      name_list(out, u->columns);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  if (!t.checks.empty()) {
    out << YAML::Key << "checks" << YAML::Value << YAML::BeginSeq;
    for (const CheckConstraint* ck : by_name(t.checks)) {
      out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value;
      name(out, ck->name);
      check_fields(out, *ck);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  if (!t.indexes.empty()) {
    out << YAML::Key << "indexes" << YAML::Value << YAML::BeginSeq;
    for (const Index* ix : by_name(t.indexes)) {
      out << YAML::Flow << YAML::BeginMap;
      if (!ix->name.empty() && ix->name != default_name("ix_{}_{}", t.name, ix->columns)) {
        out << YAML::Key << "name" << YAML::Value;
        name(out, ix->name);
      }
      index_fields(out, *ix);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
}

}  // namespace detail

MetaData load_schema_yaml(std::string_view yaml_text, std::string_view origin) {
  return YamlReader(origin).load(yaml_text);
}

MetaData load_schema_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) throw ConfigError(fmt::format("{}: schema file not found", path));
  if (fs::is_directory(status))
    throw ConfigError(fmt::format("{}: is a directory, expected a schema YAML file", path));
  std::ifstream in(path, std::ios::binary);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in && !in.eof()) throw ConfigError(fmt::format("{}: schema file cannot be read", path));
  return load_schema_yaml(text, path);
}

std::string save_schema_yaml(const MetaData& meta) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap << YAML::Key << "tables" << YAML::Value;
  if (meta.tables.empty()) {
    out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
  } else {
    out << YAML::BeginMap;
    for (const Table* t : by_name(meta.tables)) {
      out << YAML::Key;
      table(out, *t);
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;

  std::string text;
  for (const auto& note : meta.notes) {
    std::string line = note;
    std::replace(line.begin(), line.end(), '\n', ' ');
    text += fmt::format("# note: {}\n", line);
  }
  // A blank line before each table (the only lines indented by exactly two).
  std::istringstream lines(out.c_str());
  bool first = true;
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > 2 && line[0] == ' ' && line[1] == ' ' && line[2] != ' ') {
      if (!first) text += '\n';
      first = false;
    }
    text += line;
    text += '\n';
  }
  return text;
}

}  // namespace keel::schema
