// The connection pool against real connections on each backend.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "keel/pool.hpp"
#include "support/backend_test.hpp"

namespace keel {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class PoolTest : public testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    cfg_ = config();
    // Lets the PostgreSQL tests count this test's server connections.
    cfg_.postgresql.application_name = fmt::format("keel_pool_{}", pg_schema());
  }

  std::unique_ptr<Pool> make_pool(PoolOptions options) {
    return std::make_unique<Pool>(options, [this] {
      ++factory_calls_;
      return keel::connect(cfg_);
    });
  }

  static PoolOptions options(int size, int overflow, double timeout_s = 5) {
    PoolOptions o;
    o.size = size;
    o.max_overflow = overflow;
    o.timeout_s = timeout_s;
    return o;
  }

  // PostgreSQL: how many server backends this test's pool has open, once that
  // settles at `expected` (a closed connection leaves pg_stat_activity shortly after).
  std::int64_t server_connections(std::int64_t expected) {
    auto admin = connect();
    std::int64_t n = -1;
    for (auto deadline = Clock::now() + 5s; Clock::now() < deadline;
         std::this_thread::sleep_for(20ms)) {
      n = admin->query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = ?",
                           {cfg_.postgresql.application_name})
              ->get<std::int64_t>(0);
      if (n == expected) break;
    }
    return n;
  }

  // PostgreSQL: ends server backend `pid` and waits until it has exited.
  void terminate_backend(std::int64_t pid) {
    auto admin = connect();
    ASSERT_TRUE(admin->query_one("SELECT pg_terminate_backend(CAST(? AS integer))", {pid})
                    ->get<bool>(0));
    bool gone = false;
    for (auto deadline = Clock::now() + 5s; !gone && Clock::now() < deadline;
         std::this_thread::sleep_for(10ms))
      gone = admin->query_one("SELECT count(*) FROM pg_stat_activity WHERE pid = ?", {pid})
                 ->get<int>(0) == 0;
    ASSERT_TRUE(gone) << "backend " << pid << " still running";
  }

  // The connection a lease gives back to `pool`, and (PostgreSQL) its server backend,
  // which is then ended behind the pool's back.
  struct Returned {
    const Connection* conn = nullptr;
    std::int64_t pid = 0;
  };
  void return_one_then_end_its_backend(Pool& pool, Returned& out) {
    {
      auto lease = pool.acquire();
      out.conn = &lease.get();
      if (is_postgresql())
        out.pid = lease->query_one("SELECT pg_backend_pid()")->get<std::int64_t>(0);
    }
    if (is_postgresql()) {
      ASSERT_NO_FATAL_FAILURE(terminate_backend(out.pid));
    }
  }

  Config cfg_;
  std::atomic<int> factory_calls_{0};
};

TEST_P(PoolTest, OpensNothingUntilTheFirstAcquire) {
  auto pool = make_pool(options(3, 2));
  PoolStats s = pool->stats();
  EXPECT_EQ(factory_calls_, 0);
  EXPECT_EQ(s.open, 0);
  EXPECT_EQ(s.created, 0u);
  EXPECT_EQ(s.size, 3);
  EXPECT_EQ(s.max_overflow, 2);
  {
    auto lease = pool->acquire();
    EXPECT_EQ(lease->query_one("SELECT 1")->get<int>(0), 1);
    EXPECT_EQ(pool->stats().in_use, 1);
  }
  s = pool->stats();
  EXPECT_EQ(factory_calls_, 1);
  EXPECT_EQ(s.open, 1);
  EXPECT_EQ(s.idle, 1);
  EXPECT_EQ(s.in_use, 0);
  EXPECT_EQ(s.acquired, 1u);
}

TEST_P(PoolTest, ReusesAReturnedConnection) {
  auto pool = make_pool(options(2, 0));
  const Connection* first = nullptr;
  {
    auto lease = pool->acquire();
    first = &lease.get();
  }
  auto lease = pool->acquire();
  EXPECT_EQ(&lease.get(), first);
  EXPECT_EQ(pool->stats().created, 1u);
  EXPECT_EQ(pool->stats().acquired, 2u);
}

TEST_P(PoolTest, AcquireBeyondSizePlusOverflowTimesOut) {
  auto pool = make_pool(options(2, 1, 0.3));
  std::vector<Pool::Lease> leases;
  for (int i = 0; i < 3; ++i) leases.push_back(pool->acquire());
  EXPECT_EQ(pool->stats().in_use, 3);

  auto start = Clock::now();
  try {
    pool->acquire();
    FAIL() << "the 4th acquire should time out";
  } catch (const TimeoutError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::timeout);
    EXPECT_NE(std::string(e.what()).find("pool exhausted: 3 in use, size 2 + overflow 1, waited"),
              std::string::npos)
        << e.what();
  }
  auto waited = Clock::now() - start;
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 3s);
  PoolStats s = pool->stats();
  EXPECT_EQ(s.timeouts, 1u);
  EXPECT_EQ(s.in_use, 3);
  EXPECT_EQ(s.waiting, 0);
  EXPECT_EQ(s.acquired, 3u);
  EXPECT_EQ(factory_calls_, 3);
}

TEST_P(PoolTest, ExplicitAcquireTimeoutOverridesTheOption) {
  auto pool = make_pool(options(1, 0, 30));
  auto held = pool->acquire();
  auto start = Clock::now();
  EXPECT_THROW(pool->acquire(50ms), TimeoutError);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(pool->stats().timeouts, 1u);
}

TEST_P(PoolTest, OverflowConnectionsCloseWhenReturned) {
  auto pool = make_pool(options(2, 2));
  {
    std::vector<Pool::Lease> leases;
    for (int i = 0; i < 4; ++i) leases.push_back(pool->acquire());
    EXPECT_EQ(pool->stats().open, 4);
    if (is_postgresql()) {
      EXPECT_EQ(server_connections(4), 4);
    }
  }
  PoolStats s = pool->stats();
  EXPECT_EQ(s.open, 2);
  EXPECT_EQ(s.idle, 2);
  EXPECT_EQ(s.in_use, 0);
  EXPECT_EQ(s.created, 4u);
  if (is_postgresql()) {
    EXPECT_EQ(server_connections(2), 2);
  }
}

TEST_P(PoolTest, AWaiterGetsTheNextReturnedConnection) {
  auto pool = make_pool(options(1, 0, 10));
  auto held = std::make_unique<Pool::Lease>(pool->acquire());
  const Connection* only = &held->get();
  std::atomic<bool> got{false};
  const Connection* received = nullptr;
  std::thread waiter([&] {
    auto lease = pool->acquire();
    received = &lease.get();
    got = true;
  });
  for (auto deadline = Clock::now() + 5s; pool->stats().waiting == 0 && Clock::now() < deadline;)
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(pool->stats().waiting, 1);
  EXPECT_FALSE(got);
  held.reset();
  waiter.join();
  EXPECT_TRUE(got);
  EXPECT_EQ(received, only);
  EXPECT_EQ(pool->stats().created, 1u);
  EXPECT_EQ(pool->stats().waiting, 0);
}

TEST_P(PoolTest, ReturnedConnectionWithOpenTransactionIsRolledBack) {
  auto setup = connect();
  setup->execute_script("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)");
  auto pool = make_pool(options(1, 0));
  {
    auto lease = pool->acquire();
    lease->execute("BEGIN");  // raw SQL: the pool must notice it all the same
    lease->execute("INSERT INTO items (id, name) VALUES (1, 'lost')");
    EXPECT_TRUE(lease->in_transaction());
  }
  EXPECT_EQ(pool->stats().rollbacks, 1u);
  EXPECT_EQ(setup->query_one("SELECT count(*) FROM items")->get<int>(0), 0);
  {
    auto lease = pool->acquire();
    EXPECT_FALSE(lease->in_transaction());
    lease->begin();  // and through the API, with a savepoint on top
    lease->begin();
    lease->execute("INSERT INTO items (id, name) VALUES (2, 'lost too')");
  }
  PoolStats s = pool->stats();
  EXPECT_EQ(s.rollbacks, 2u);
  EXPECT_EQ(s.discarded, 0u);
  EXPECT_EQ(s.idle, 1);
  EXPECT_EQ(setup->query_one("SELECT count(*) FROM items")->get<int>(0), 0);
  auto lease = pool->acquire();
  EXPECT_EQ(lease->transaction_depth(), 0);
  EXPECT_EQ(lease->execute("INSERT INTO items (id, name) VALUES (3, 'kept')"), 1);
  EXPECT_EQ(setup->query_one("SELECT count(*) FROM items")->get<int>(0), 1);
}

TEST_P(PoolTest, ConnectionsOlderThanRecycleAreReplaced) {
  PoolOptions o = options(1, 0);
  o.recycle_s = 0.05;
  auto pool = make_pool(o);
  const Connection* first = nullptr;
  std::int64_t first_pid = 0;
  {
    auto lease = pool->acquire();
    first = &lease.get();
    if (is_postgresql()) first_pid = lease->query_one("SELECT pg_backend_pid()")->get<int>(0);
  }
  std::this_thread::sleep_for(100ms);
  auto lease = pool->acquire();
  EXPECT_EQ(lease->query_one("SELECT 1")->get<int>(0), 1);
  PoolStats s = pool->stats();
  EXPECT_EQ(s.recycled, 1u);
  EXPECT_EQ(s.created, 2u);
  EXPECT_EQ(s.open, 1);
  if (is_postgresql()) {
    EXPECT_NE(lease->query_one("SELECT pg_backend_pid()")->get<int>(0), first_pid);
    EXPECT_EQ(server_connections(1), 1);
  }
  (void)first;
}

TEST_P(PoolTest, RecycleOffKeepsOldConnections) {
  PoolOptions o = options(1, 0);
  o.recycle_s = 0;
  auto pool = make_pool(o);
  const Connection* first = nullptr;
  {
    auto lease = pool->acquire();
    first = &lease.get();
  }
  std::this_thread::sleep_for(20ms);
  auto lease = pool->acquire();
  EXPECT_EQ(&lease.get(), first);
  EXPECT_EQ(pool->stats().recycled, 0u);
}

TEST_P(PoolTest, PrePingReplacesAConnectionTheServerClosed) {
  auto pool = make_pool(options(1, 0));
  Returned returned;
  ASSERT_NO_FATAL_FAILURE(return_one_then_end_its_backend(*pool, returned));
  const Connection* first = returned.conn;
  const std::int64_t pid = returned.pid;
  // Past the span in which a just-returned connection is trusted unchecked.
  std::this_thread::sleep_for(600ms);
  auto lease = pool->acquire();
  EXPECT_EQ(lease->query_one("SELECT 1")->get<int>(0), 1);
  PoolStats s = pool->stats();
  if (is_postgresql()) {
    EXPECT_NE(lease->query_one("SELECT pg_backend_pid()")->get<std::int64_t>(0), pid);
    EXPECT_EQ(s.discarded, 1u);
    EXPECT_EQ(s.created, 2u);
  } else {
    // Nothing can close an embedded database behind our back: the same connection.
    EXPECT_EQ(&lease.get(), first);
    EXPECT_EQ(s.discarded, 0u);
    EXPECT_EQ(s.created, 1u);
  }
  EXPECT_EQ(s.acquired, 2u);
}

// A connection returned moments ago is handed out without a liveness check, so one
// the server closes right after its return may fail the next statement: that one
// statement at most, and the broken connection never comes back from the pool.
TEST_P(PoolTest, AConnectionClosedJustAfterItsReturnFailsAtMostOneStatement) {
  auto pool = make_pool(options(1, 0));
  Returned returned;
  ASSERT_NO_FATAL_FAILURE(return_one_then_end_its_backend(*pool, returned));
  const Connection* first = returned.conn;
  const std::int64_t pid = returned.pid;
  int failed = 0;
  std::int64_t answered_by = 0;
  for (int attempt = 0; attempt < 2 && answered_by == 0; ++attempt) {
    auto lease = pool->acquire();
    try {
      answered_by = is_postgresql()
                        ? lease->query_one("SELECT pg_backend_pid()")->get<std::int64_t>(0)
                        : lease->query_one("SELECT 1")->get<std::int64_t>(0);
    } catch (const ConnectionError&) {
      ++failed;
      EXPECT_TRUE(lease->broken());
    }
  }
  PoolStats s = pool->stats();
  if (is_postgresql()) {
    EXPECT_LE(failed, 1);
    EXPECT_NE(answered_by, 0);
    EXPECT_NE(answered_by, pid);
    EXPECT_EQ(s.discarded, 1u);
    EXPECT_EQ(s.created, 2u);
    EXPECT_EQ(s.idle, 1);
  } else {
    // Nothing can close an embedded database behind our back.
    EXPECT_EQ(failed, 0);
    EXPECT_EQ(answered_by, 1);
    EXPECT_EQ(s.discarded, 0u);
    EXPECT_EQ(s.created, 1u);
    auto lease = pool->acquire();
    EXPECT_EQ(&lease.get(), first);
  }
}

TEST_P(PoolTest, DiscardClosesInsteadOfReturning) {
  auto pool = make_pool(options(2, 0));
  auto lease = pool->acquire();
  lease.discard();
  EXPECT_FALSE(lease);
  PoolStats s = pool->stats();
  EXPECT_EQ(s.discarded, 1u);
  EXPECT_EQ(s.open, 0);
  EXPECT_EQ(s.in_use, 0);
}

TEST_P(PoolTest, ClearClosesIdleNowAndLeasedOnReturn) {
  auto pool = make_pool(options(3, 0));
  auto a = std::make_unique<Pool::Lease>(pool->acquire());
  { auto b = pool->acquire(); }
  EXPECT_EQ(pool->stats().idle, 1);
  pool->clear();
  EXPECT_EQ(pool->stats().idle, 0);
  EXPECT_EQ(pool->stats().in_use, 1);
  a.reset();
  EXPECT_EQ(pool->stats().open, 0);
  if (is_postgresql()) {
    EXPECT_EQ(server_connections(0), 0);
  }
  auto c = pool->acquire();
  EXPECT_EQ(c->query_one("SELECT 1")->get<int>(0), 1);
  EXPECT_EQ(pool->stats().created, 3u);
}

TEST_P(PoolTest, ALeaseMayOutliveItsPool) {
  auto pool = make_pool(options(1, 0));
  Pool::Lease lease = pool->acquire();
  pool.reset();
  EXPECT_EQ(lease->query_one("SELECT 2")->get<int>(0), 2);
  lease = Pool::Lease();  // returned to a pool that is gone: closed, no crash
  EXPECT_FALSE(lease);
  if (is_postgresql()) {
    EXPECT_EQ(server_connections(0), 0);
  }
}

TEST_P(PoolTest, AFailingFactoryFreesItsSlot) {
  std::atomic<int> calls{0};
  Pool pool(options(1, 0, 1), [&]() -> std::unique_ptr<Connection> {
    if (calls++ == 0) throw ConnectionError(ErrorKind::connection, "first connect fails");
    return keel::connect(cfg_);
  });
  EXPECT_THROW(pool.acquire(), ConnectionError);
  EXPECT_EQ(pool.stats().open, 0);
  auto lease = pool.acquire();  // the slot was given back: no TimeoutError
  EXPECT_EQ(lease->query_one("SELECT 1")->get<int>(0), 1);
  EXPECT_EQ(pool.stats().created, 1u);
}

TEST_P(PoolTest, BadOptionsAreUsageErrors) {
  auto factory = [this] { return keel::connect(cfg_); };
  EXPECT_THROW(Pool(options(0, 1), factory), UsageError);
  EXPECT_THROW(Pool(options(1, -1), factory), UsageError);
}

TEST_P(PoolTest, ConcurrentAcquireInsertReleaseKeepsEveryRowAndExactStats) {
  connect()->execute_script(
      "CREATE TABLE hits (thread INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (thread, n))");
  auto pool = make_pool(options(3, 2, 30));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < kPerThread; ++n) {
        try {
          auto lease = pool->acquire();
          lease->execute("INSERT INTO hits (thread, n) VALUES (?, ?)", {t, n});
        } catch (const std::exception& e) {
          ++failures;
          ADD_FAILURE() << "thread " << t << " insert " << n << ": " << e.what();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(connect()->query_one("SELECT count(*) FROM hits")->get<int>(0),
            kThreads * kPerThread);
  PoolStats s = pool->stats();
  EXPECT_EQ(s.acquired, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(s.in_use, 0);
  EXPECT_EQ(s.waiting, 0);
  EXPECT_EQ(s.timeouts, 0u);
  EXPECT_LE(s.open, 5);
  EXPECT_GE(s.open, 1);
  EXPECT_EQ(s.open, s.idle);
  EXPECT_EQ(static_cast<std::uint64_t>(factory_calls_.load()), s.created);
}

KEEL_BACKEND_TEST_SUITE(PoolTest);

}  // namespace
}  // namespace keel
