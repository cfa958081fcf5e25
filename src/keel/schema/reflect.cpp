// schema::reflect — the dialect reads each backend's catalog (dialect/reflect_*.cpp).
#include "dialect/reflect.hpp"
#include "keel/schema.hpp"

namespace keel::schema {

MetaData reflect(Connection& conn) { return dialect::reflect(conn); }

}  // namespace keel::schema
