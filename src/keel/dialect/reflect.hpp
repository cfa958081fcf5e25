// dialect/reflect.hpp — a live database as a schema::MetaData (internal).
//
// Each backend reads its own catalog: SQLite's sqlite_schema, PRAGMAs and the
// stored CREATE statements; PostgreSQL's pg_catalog for current_schema(). Both
// produce the model in the form keel's own DDL would have created it (names,
// types, defaults), so a schema keel created reflects back unchanged; whatever
// the model cannot hold goes to MetaData::notes, never an error.
#pragma once

#include <string>
#include <string_view>

#include "keel/connection.hpp"
#include "keel/schema.hpp"

namespace keel::dialect {

// The application tables of the database `conn` is connected to.
schema::MetaData reflect(Connection& conn);
// SQLite declared type → portable type by SQLite's affinity rules, refined by the name.
schema::ColumnType sqlite_portable_type(std::string_view declared);

// The backends' halves of reflect().
schema::MetaData reflect_sqlite(Connection& conn);
schema::MetaData reflect_postgres(Connection& conn);

// A default constraint or index name made to fit PostgreSQL's 63 bytes: a longer
// name becomes its first 54 bytes + "_" + 8 hex digits of XXH32 of the whole name.
std::string fit_name(std::string name);

}  // namespace keel::dialect
