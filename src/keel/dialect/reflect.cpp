// Reflection: the dispatch on the backend, and what both halves share.
#include "dialect/reflect.hpp"

#include <fmt/format.h>
#include <xxhash.h>

namespace keel::dialect {

schema::MetaData reflect(Connection& conn) {
  return conn.backend() == Backend::sqlite ? reflect_sqlite(conn) : reflect_postgres(conn);
}

// Must agree with the schema layer's default names (schema/internal.hpp's
// shorten_name); the dialect cannot call into that layer, hence the twin.
std::string fit_name(std::string name) {
  constexpr std::size_t kMax = 63;
  if (name.size() <= kMax) return name;
  XXH32_hash_t hash = XXH32(name.data(), name.size(), 0);
  return fmt::format("{}_{:08x}", std::string_view(name).substr(0, 54), hash);
}

}  // namespace keel::dialect
