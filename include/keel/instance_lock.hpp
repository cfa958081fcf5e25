// keel/instance_lock.hpp — at most one running instance per database and name.
//
// SQLite: an flock() on a lock file beside the database ("<db>.<name>.lock"), not
// on the database itself — closing any descriptor of a file drops POSIX record
// locks on it, and SQLite opens and closes its file freely. PostgreSQL:
// pg_try_advisory_lock on a 64-bit key derived from the name, held on a dedicated
// connection (or on a caller's, with the second overload). Either way the kernel or the server releases it when the holder
// dies, even by SIGKILL.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "keel/config.hpp"

namespace keel {

class Connection;

class InstanceLock {
 public:
  virtual ~InstanceLock() = default;
  // The lock's name as given.
  virtual const std::string& name() const noexcept = 0;
  // Where the lock lives: the lock file's path, or "advisory lock <key>".
  virtual std::string where() const = 0;
  // True while the lock is still ours (PostgreSQL: the session holding it is alive).
  virtual bool held() noexcept = 0;
};

// Takes the lock `name` for the database of `config`, or throws AlreadyRunning
// saying who holds it (PID and host, where the backend lets us know). The lock is
// released when the returned object is destroyed or the process exits.
std::unique_ptr<InstanceLock> acquire_instance_lock(const Config& config, std::string_view name);

// The same lock, taken on PostgreSQL as a session lock of `conn` (open on the database
// of `config`) instead of on a connection of its own: one connection fewer for a
// caller that holds `conn` for all the locked work. Destroy the lock before `conn`;
// closing `conn` releases it too. On SQLite `conn` is not used.
std::unique_ptr<InstanceLock> acquire_instance_lock(Connection& conn, const Config& config,
                                                    std::string_view name);

}  // namespace keel
