// A thread-safe connection pool (SQLAlchemy's QueuePool is the model).
//
// One mutex guards the bookkeeping only: opening, pinging, rolling back and
// closing connections all happen outside it, so one slow server round trip never
// stalls threads that only want an idle connection. A slot is reserved under the
// mutex before the factory runs, which keeps `size + max_overflow` exact even
// while several threads connect at once.
//
// Idle connections are reused last-in first-out: under light load the same few
// stay warm (and skip the pre-ping round trip) while the rest age out by recycle.
#include "keel/pool.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include <time.h>

#include <fmt/format.h>

#include "keel/error.hpp"

namespace keel {
namespace {

using Clock = std::chrono::steady_clock;

// A connection idle for less than this is handed out without alive()'s poll() of its
// socket: it was returned healthy moments ago, and under load that syscall was the
// largest cost of a checkout. HikariCP skips its check for the same span
// (aliveBypassWindowMs). A server that closes the connection inside the window is
// seen by the next statement instead, which fails as it would had the server closed
// it just after a check; the broken connection is then discarded on return.
constexpr auto kCheckAfterIdle = std::chrono::milliseconds(500);

// A connection idle for less than this is not pinged on checkout (alive() is still
// checked): it finished a statement moments ago, and a round trip per checkout would
// double the cost of short transactions. A second is long enough to cover a burst of
// requests and short enough that a server restart is noticed on the next checkout.
constexpr auto kPingAfterIdle = std::chrono::seconds(1);

// When a connection was returned, and how long it has been idle or open: the windows
// above are half a second and up, so the coarse monotonic clock (a tick, a few ms, of
// resolution) does. It reads in ~5 ns where steady_clock takes ~20 ns, and a checkout
// reads a clock twice. On Linux both count CLOCK_MONOTONIC's time, so the two mix.
Clock::time_point coarse_now() noexcept {
#ifdef CLOCK_MONOTONIC_COARSE
  timespec ts{};
  if (::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
        std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
#endif
  return Clock::now();
}

// Longer waits are treated as this one, so that a deadline never overflows the clock.
constexpr std::chrono::milliseconds kLongestWait = std::chrono::hours(24 * 365);

}  // namespace

struct Pool::Lease::State {
  struct Idle {
    std::unique_ptr<Connection> conn;
    Clock::time_point since;
  };

  PoolOptions options;
  Factory factory;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<Idle> idle;                   // back() is the most recently returned
  int leased = 0;
  // Bumped by clear(): a connection leased in an older generation is closed on return.
  std::uint64_t generation = 0;
  int opening = 0;  // slots reserved by threads running the factory or a check
  int waiting = 0;
  bool closed = false;  // the Pool is gone: returned connections are closed
  std::uint64_t acquired = 0, created = 0, recycled = 0, discarded = 0, timeouts = 0,
                rollbacks = 0;

  int capacity() const { return options.size + std::max(0, options.max_overflow); }
  int occupied() const { return static_cast<int>(idle.size()) + leased + opening; }

  // Runs the factory for a reserved slot; on failure frees the slot and wakes a
  // waiter, who may try (and report) for itself.
  std::unique_ptr<Connection> open_reserved() {
    std::unique_ptr<Connection> conn;
    try {
      conn = factory();
      if (!conn)
        throw ConnectionError(ErrorKind::connection, "pool: the factory returned no connection");
    } catch (...) {
      std::lock_guard lock(mu);
      --opening;
      cv.notify_one();
      throw;
    }
    std::lock_guard lock(mu);
    ++created;
    return conn;
  }

  // Moves a reserved slot into the leased ones; returns the lease's generation.
  std::uint64_t hand_out() {
    std::lock_guard lock(mu);
    --opening;
    ++leased;
    ++acquired;
    return generation;
  }

  enum class Verdict { ok, too_old, dead };

  // Whether an idle connection may be handed out as it is, `now`.
  Verdict verdict(Connection& conn, Clock::time_point idle_since, Clock::time_point now) const {
    if (options.recycle_s > 0 &&
        now - conn.opened_at() >= std::chrono::duration<double>(options.recycle_s))
      return Verdict::too_old;
    if (conn.broken()) return Verdict::dead;
    if (options.pre_ping) {
      const auto idle_for = now - idle_since;
      if (idle_for >= kCheckAfterIdle && !conn.alive()) return Verdict::dead;
      if (idle_for >= kPingAfterIdle && !conn.ping()) return Verdict::dead;
    }
    return Verdict::ok;
  }

  // A connection and the generation it is leased in.
  std::unique_ptr<Connection> acquire(std::chrono::milliseconds timeout, std::uint64_t& gen) {
    // The wait's clock is read only once there is a wait: most checkouts find an idle
    // connection.
    std::optional<Clock::time_point> start;
    std::unique_lock lock(mu);
    for (;;) {
      if (closed) throw UsageError("pool: acquire() on a pool that is being destroyed");
      if (!idle.empty()) {
        // Leased at once, optimistically, so that a healthy connection (the usual
        // case) costs one trip through the mutex; a failed check undoes it below.
        Idle entry = std::move(idle.back());
        idle.pop_back();
        ++leased;
        ++acquired;
        gen = generation;
        lock.unlock();
        Verdict v = verdict(*entry.conn, entry.since, coarse_now());
        if (v == Verdict::ok) return std::move(entry.conn);
        entry.conn.reset();  // closes; outside the mutex, it may talk to the server
        {
          std::lock_guard relock(mu);
          --leased;
          --acquired;
          ++opening;
          (v == Verdict::too_old ? recycled : discarded) += 1;
        }
        auto conn = open_reserved();
        gen = hand_out();
        return conn;
      }
      if (occupied() < capacity()) {
        ++opening;
        lock.unlock();
        auto conn = open_reserved();
        gen = hand_out();
        return conn;
      }
      if (!start) start = Clock::now();
      const auto deadline =
          *start + std::clamp(timeout, std::chrono::milliseconds(0), kLongestWait);
      ++waiting;
      bool woke = cv.wait_until(lock, deadline, [&] {
        return closed || !idle.empty() || occupied() < capacity();  // closed: thrown above
      });
      --waiting;
      if (!woke) {
        ++timeouts;
        double waited = std::chrono::duration<double>(Clock::now() - *start).count();
        throw TimeoutError(
            ErrorKind::timeout,
            fmt::format("pool exhausted: {} in use, size {} + overflow {}, waited {:.3g} s",
                        leased, options.size, std::max(0, options.max_overflow), waited));
      }
    }
  }

  void release(std::unique_ptr<Connection> conn, std::uint64_t gen, bool discard) noexcept {
    if (!conn) return;
    bool rolled_back = false;
    if (!discard) {
      try {
        if (conn->in_transaction() || conn->transaction_depth() > 0) {
          conn->abandon_transaction();
          rolled_back = true;
        }
      } catch (...) {
        // A connection that cannot roll back cannot be trusted with the next caller.
        discard = true;
      }
      if (!discard && conn->broken()) discard = true;
    }
    std::unique_ptr<Connection> to_close;
    const auto now = coarse_now();  // read before the mutex, to keep its hold short
    bool wake = false;
    {
      std::lock_guard lock(mu);
      --leased;
      bool is_doomed = gen != generation;
      if (rolled_back) ++rollbacks;
      if (discard) {
        ++discarded;
        to_close = std::move(conn);
      } else if (closed || is_doomed) {
        to_close = std::move(conn);
      } else if (occupied() >= options.size && waiting == 0) {
        // Past `size` this is an overflow connection: close it, unless a waiter
        // would otherwise have to open a new one right away.
        to_close = std::move(conn);
      } else {
        idle.push_back({std::move(conn), now});
      }
      wake = waiting > 0;
    }
    // Outside the mutex, so the woken thread does not block on it at once; and only
    // when someone waits, since a signal nobody needs still costs atomics.
    if (wake) cv.notify_one();
    to_close.reset();
  }

  PoolStats stats() const {
    std::lock_guard lock(mu);
    PoolStats s;
    s.size = options.size;
    s.max_overflow = std::max(0, options.max_overflow);
    s.idle = static_cast<int>(idle.size());
    s.in_use = leased;
    s.open = s.idle + s.in_use;
    s.waiting = waiting;
    s.acquired = acquired;
    s.created = created;
    s.recycled = recycled;
    s.discarded = discarded;
    s.timeouts = timeouts;
    s.rollbacks = rollbacks;
    return s;
  }

  void clear(bool close_pool) {
    std::vector<Idle> to_close;
    {
      std::lock_guard lock(mu);
      to_close.swap(idle);
      ++generation;
      if (close_pool) closed = true;
      cv.notify_all();
    }
    to_close.clear();
  }
};

Pool::Lease::Lease(std::shared_ptr<State> pool, std::unique_ptr<Connection> conn,
                   std::uint64_t generation) noexcept
    : pool_(std::move(pool)), conn_(std::move(conn)), generation_(generation) {}

Pool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::move(other.pool_)),
      conn_(std::move(other.conn_)),
      generation_(other.generation_) {}

Pool::Lease& Pool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (conn_ && pool_) pool_->release(std::move(conn_), generation_, false);
    pool_ = std::move(other.pool_);
    conn_ = std::move(other.conn_);
    generation_ = other.generation_;
  }
  return *this;
}

Pool::Lease::~Lease() {
  if (conn_ && pool_) pool_->release(std::move(conn_), generation_, false);
}

void Pool::Lease::discard() noexcept {
  if (conn_ && pool_) pool_->release(std::move(conn_), generation_, true);
  conn_.reset();
}

Pool::Pool(PoolOptions options, Factory factory) : state_(std::make_shared<Lease::State>()) {
  if (options.size < 1)
    throw UsageError(fmt::format("pool: size must be at least 1, got {}", options.size));
  if (options.max_overflow < 0)
    throw UsageError(
        fmt::format("pool: max_overflow must not be negative, got {}", options.max_overflow));
  if (!factory) throw UsageError("pool: no connection factory");
  state_->options = options;
  state_->factory = std::move(factory);
}

Pool::~Pool() { state_->clear(true); }

Pool::Lease Pool::acquire() {
  double seconds = std::clamp(state_->options.timeout_s, 0.0,
                              std::chrono::duration<double>(kLongestWait).count());
  if (!(seconds >= 0)) seconds = 0;  // NaN
  return acquire(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(seconds)));
}

Pool::Lease Pool::acquire(std::chrono::milliseconds timeout) {
  // A copy: a thread still waiting here must not lose the state under it.
  std::shared_ptr<Lease::State> state = state_;
  std::uint64_t generation = 0;
  auto conn = state->acquire(timeout, generation);
  return Lease(std::move(state), std::move(conn), generation);
}

PoolStats Pool::stats() const { return state_->stats(); }

void Pool::clear() { state_->clear(false); }

}  // namespace keel
