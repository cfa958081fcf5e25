// keel/pool.hpp — a thread-safe pool of connections.
//
// Up to `size` connections stay open; under load up to `max_overflow` more are
// opened and closed again on return. acquire() waits up to `timeout_s`, then
// throws TimeoutError. A returned connection with an open transaction is rolled
// back; a broken one is discarded; one older than `recycle_s` is replaced; with
// `pre_ping` a connection idle for half a second or more is checked before it is
// handed out (one returned more recently is trusted, as HikariCP does).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "keel/config.hpp"
#include "keel/connection.hpp"

namespace keel {

struct PoolStats {
  int size = 0;          // configured size
  int max_overflow = 0;  // configured overflow
  int open = 0;          // connections open now (idle + in use)
  int idle = 0;
  int in_use = 0;
  int waiting = 0;                  // threads waiting in acquire() now
  std::uint64_t acquired = 0;       // successful acquires since start
  std::uint64_t created = 0;        // connections opened since start
  std::uint64_t recycled = 0;       // replaced for age
  std::uint64_t discarded = 0;      // dropped as broken or failing pre-ping
  std::uint64_t timeouts = 0;       // acquires that gave up
  std::uint64_t rollbacks = 0;      // transactions rolled back on return
};

class Pool {
 public:
  using Factory = std::function<std::unique_ptr<Connection>()>;

  // A connection on loan; returned to the pool when destroyed.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&&) noexcept;
    Lease& operator=(Lease&&) noexcept;
    ~Lease();
    Connection& operator*() const noexcept { return *conn_; }
    Connection* operator->() const noexcept { return conn_.get(); }
    Connection& get() const noexcept { return *conn_; }
    explicit operator bool() const noexcept { return conn_ != nullptr; }
    // Closes the connection instead of returning it.
    void discard() noexcept;

   private:
    friend class Pool;
    struct State;
    Lease(std::shared_ptr<State> pool, std::unique_ptr<Connection> conn,
          std::uint64_t generation) noexcept;
    std::shared_ptr<State> pool_;
    std::unique_ptr<Connection> conn_;
    std::uint64_t generation_ = 0;  // the pool's clear() count when leased
  };

  // Opens nothing yet: connections are made by `factory` on demand.
  Pool(PoolOptions options, Factory factory);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A connection, waiting up to options.timeout_s for one to be free.
  Lease acquire();
  // Same with an explicit wait bound.
  Lease acquire(std::chrono::milliseconds timeout);
  PoolStats stats() const;
  // Closes every idle connection; leased ones close when returned.
  void clear();

 private:
  std::shared_ptr<Lease::State> state_;
};

}  // namespace keel
