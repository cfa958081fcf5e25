// Shared inside the schema layer: typo suggestions, default names, and validation
// that lets the YAML loader put file:line:column in front of a model error.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/schema.hpp"

namespace keel::schema::detail {

// The closest of `names` to `word` when it is close enough to be a typo, else "".
std::string closest(std::string_view word, const std::vector<std::string>& names);

// `name` itself when it fits PostgreSQL's 63-byte identifiers, else its first 54
// bytes + "_" + 8 hex digits of XXH32(name): deterministic, so every layer agrees.
std::string shorten_name(std::string name);

// What a validation error is about, so a loader can say where it was written.
struct Where {
  enum class Part { schema, table, column, primary_key, foreign_key, unique, check, index };
  Part part = Part::schema;
  std::size_t table = 0;  // position in MetaData::tables
  std::size_t item = 0;   // position in the table's columns/foreign_keys/… (not for table)
  // A sub-key of the item ("type", "default", "references.table", "columns"), or "".
  std::string field;
};
// Returns a prefix such as "schema.yaml:12:9: key tables.t.columns.c.type: ", or "".
using Locate = std::function<std::string(const Where&)>;

// validate() with error messages prefixed by `locate`.
void validate(MetaData& meta, const Locate& locate);

}  // namespace keel::schema::detail
