// Schema operations as YAML (internal): the `upgrade:` and `downgrade:` lists of
// migration files. Format: docs/schema.md, "Operations" — one key naming the
// operation, its parts written as schema.yaml writes them:
//
//   - add_column: {table: sessions, column: {name: title, type: text, nullable: false}}
//   - rename_column: {table: sessions, from: name, to: title}
#pragma once

#include <yaml-cpp/yaml.h>

#include <string_view>

#include "keel/schema.hpp"

namespace keel::schema {

// Writes `op` as a one-key mapping where `out` expects a value (a list item, say).
// This, not a YAML::Node, is how to put operations in a file: a Node forgets that
// a scalar was quoted, and the text default "0" would come back as the integer 0.
void emit_operation(YAML::Emitter& out, const Operation& op);

// `op` as a one-key mapping (emit_operation's output, loaded).
YAML::Node operation_to_yaml(const Operation& op);

// Reads one operation; errors are ConfigError "<origin>:line:column: key <path>…: …",
// as schema.yaml's are. `path` names the node within its file ("upgrade[2]").
// Parts left out get schema.yaml's defaults (names such as ix_<table>_<col>), and
// columns and tables are checked as validate() checks them.
Operation operation_from_yaml(const YAML::Node& node, std::string_view origin,
                              std::string_view path);

}  // namespace keel::schema
