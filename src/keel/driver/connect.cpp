// The only place that chooses a backend: everything above the driver sees a
// Connection or an InstanceLock.
#include "driver/backends.hpp"

namespace keel {

std::unique_ptr<Connection> connect(const Config& config) {
  return config.is_sqlite() ? driver::open_sqlite(config) : driver::open_postgres(config);
}

std::unique_ptr<InstanceLock> acquire_instance_lock(const Config& config, std::string_view name) {
  return config.is_sqlite() ? driver::lock_sqlite(config, name)
                            : driver::lock_postgres(config, name);
}

}  // namespace keel
