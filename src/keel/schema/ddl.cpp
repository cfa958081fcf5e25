// create_ddl / drop_ddl / create_all: the schema layer's face of the dialect's DDL
// renderer (src/keel/dialect/ddl.cpp), which does all the work.
#include <fmt/format.h>

#include "dialect/ddl.hpp"
#include "keel/connection.hpp"
#include "keel/error.hpp"
#include "keel/schema.hpp"

namespace keel::schema {

std::vector<std::string> create_ddl(const MetaData& meta, Backend backend) {
  return dialect::create_statements(meta, backend);
}

std::vector<std::string> drop_ddl(const MetaData& meta, Backend backend) {
  return dialect::drop_statements(meta, backend);
}

void create_all(Connection& conn, const MetaData& meta) {
  // Rendered before the transaction opens: a model that cannot be rendered never
  // touches the database.
  const std::vector<std::string> statements = create_ddl(meta, conn.backend());
  conn.transaction([&] {
    for (const auto& sql : statements) {
      try {
        conn.execute(sql);
      } catch (const DatabaseError& e) {
        // Which of the statements failed is the first thing a reader needs; the
        // backend's own message rarely names the table.
        std::string head = sql.substr(0, sql.find('\n'));
        throw_database_error(e.kind(), fmt::format("{} (in `{}`)", e.what(), head),
                             e.native_code(), e.sqlstate());
      }
    }
  });
}

}  // namespace keel::schema
