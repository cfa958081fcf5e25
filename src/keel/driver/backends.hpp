// driver/backends.hpp — what each backend's driver provides to the dispatch in
// driver/connect.cpp. Internal: applications use keel::connect() and
// keel::acquire_instance_lock().
#pragma once

#include <memory>
#include <string_view>

#include "keel/config.hpp"
#include "keel/connection.hpp"
#include "keel/instance_lock.hpp"

namespace keel::driver {

// driver/sqlite/
std::unique_ptr<Connection> open_sqlite(const Config& config);
std::unique_ptr<InstanceLock> lock_sqlite(const Config& config, std::string_view name);
void backup_sqlite(const Config& config, const std::string& path);

// driver/postgres/
std::unique_ptr<Connection> open_postgres(const Config& config);
std::unique_ptr<InstanceLock> lock_postgres(const Config& config, std::string_view name);
std::unique_ptr<InstanceLock> lock_postgres_on(Connection& conn, const Config& config,
                                               std::string_view name);

}  // namespace keel::driver
