// The only place that chooses a backend: everything above the driver sees a
// Connection or an InstanceLock.
#include <fmt/format.h>

#include "driver/backends.hpp"

namespace keel {

std::unique_ptr<Connection> connect(const Config& config) {
  return config.is_sqlite() ? driver::open_sqlite(config) : driver::open_postgres(config);
}

std::unique_ptr<InstanceLock> acquire_instance_lock(const Config& config, std::string_view name) {
  return config.is_sqlite() ? driver::lock_sqlite(config, name)
                            : driver::lock_postgres(config, name);
}

std::unique_ptr<InstanceLock> acquire_instance_lock(Connection& conn, const Config& config,
                                                    std::string_view name) {
  return config.is_sqlite() ? driver::lock_sqlite(config, name)
                            : driver::lock_postgres_on(conn, config, name);
}

void backup_database(const Config& config, const std::string& path) {
  if (!config.is_sqlite())
    throw UsageError(fmt::format(
        "cannot back up {}: keel copies SQLite databases only; back up PostgreSQL with "
        "pg_dump (e.g. pg_dump -Fc -f FILE URL)",
        config.url.redacted()));
  driver::backup_sqlite(config, path);
}

}  // namespace keel
