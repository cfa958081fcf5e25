// The pool's bookkeeping with scripted connections: the failure paths a real
// server rarely offers on demand (broken, failing rollback, failing ping).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "keel/pool.hpp"

namespace keel {
namespace {

using namespace std::chrono_literals;

// What a FakeConnection reports and what happened to it; shared with the test.
struct Script {
  std::atomic<bool> broken{false};
  std::atomic<bool> alive{true};
  std::atomic<bool> ping_ok{true};
  std::atomic<bool> open_transaction{false};
  std::atomic<bool> rollback_fails{false};
  std::atomic<int> pings{0};
  std::atomic<int> rollbacks{0};
  std::atomic<int> closed{0};
};

class FakeConnection final : public Connection {
 public:
  explicit FakeConnection(std::shared_ptr<Script> s) : s_(std::move(s)) {}
  ~FakeConnection() override { ++s_->closed; }
  Backend backend() const noexcept override { return Backend::sqlite; }
  std::int64_t execute(std::string_view, const Params&) override { return 0; }
  Rows query(std::string_view, const Params&) override { return Rows(); }
  void execute_script(std::string_view) override {}
  std::int64_t last_insert_id() override { return 0; }
  bool ping() noexcept override {
    ++s_->pings;
    return s_->ping_ok;
  }
  std::string server_version() override { return "fake"; }
  void wal_checkpoint(CheckpointMode) override {}
  bool in_transaction() const noexcept override { return s_->open_transaction; }
  bool broken() const noexcept override { return s_->broken; }
  bool alive() noexcept override { return s_->alive; }
  std::size_t cached_statements() const noexcept override { return 0; }
  void clear_statement_cache() override {}

 protected:
  void control(std::string_view) override {
    if (s_->rollback_fails) throw ConnectionError(ErrorKind::connection, "server gone");
    ++s_->rollbacks;
    s_->open_transaction = false;
  }

 private:
  std::shared_ptr<Script> s_;
};

class PoolUnitTest : public ::testing::Test {
 protected:
  std::unique_ptr<Pool> make_pool(int size, int overflow, bool pre_ping = true) {
    PoolOptions o;
    o.size = size;
    o.max_overflow = overflow;
    o.timeout_s = 5;
    o.recycle_s = 0;
    o.pre_ping = pre_ping;
    return std::make_unique<Pool>(o, [this] {
      ++made;
      return std::make_unique<FakeConnection>(script);
    });
  }

  std::shared_ptr<Script> script = std::make_shared<Script>();
  std::atomic<int> made{0};
};

TEST_F(PoolUnitTest, BrokenConnectionIsDiscardedOnReturn) {
  auto pool = make_pool(2, 0);
  {
    auto lease = pool->acquire();
    script->broken = true;
  }
  EXPECT_EQ(script->closed, 1);
  PoolStats s = pool->stats();
  EXPECT_EQ(s.discarded, 1u);
  EXPECT_EQ(s.open, 0);
  script->broken = false;
  auto lease = pool->acquire();
  EXPECT_EQ(made, 2);
}

TEST_F(PoolUnitTest, OpenTransactionIsRolledBackOnReturn) {
  auto pool = make_pool(1, 0);
  {
    auto lease = pool->acquire();
    script->open_transaction = true;
  }
  EXPECT_EQ(script->rollbacks, 1);
  EXPECT_EQ(pool->stats().rollbacks, 1u);
  EXPECT_EQ(pool->stats().idle, 1);
  EXPECT_EQ(script->closed, 0);
}

TEST_F(PoolUnitTest, FailingRollbackDiscardsTheConnection) {
  auto pool = make_pool(1, 0);
  {
    auto lease = pool->acquire();
    script->open_transaction = true;
    script->rollback_fails = true;
  }
  PoolStats s = pool->stats();
  EXPECT_EQ(s.rollbacks, 0u);
  EXPECT_EQ(s.discarded, 1u);
  EXPECT_EQ(s.open, 0);
  EXPECT_EQ(script->closed, 1);
}

TEST_F(PoolUnitTest, RecentlyUsedConnectionIsNotPinged) {
  auto pool = make_pool(1, 0);
  { auto lease = pool->acquire(); }
  { auto lease = pool->acquire(); }
  EXPECT_EQ(script->pings, 0);
  EXPECT_EQ(made, 1);
}

TEST_F(PoolUnitTest, ConnectionIdleASecondIsPingedAndReplacedWhenThePingFails) {
  auto pool = make_pool(1, 0);
  { auto lease = pool->acquire(); }
  std::this_thread::sleep_for(1100ms);
  script->ping_ok = false;
  auto lease = pool->acquire();
  EXPECT_EQ(script->pings, 1);
  EXPECT_EQ(made, 2);
  EXPECT_EQ(pool->stats().discarded, 1u);
  EXPECT_EQ(pool->stats().in_use, 1);
}

TEST_F(PoolUnitTest, ConnectionReturnedMomentsAgoIsHandedOutWithoutALivenessCheck) {
  auto pool = make_pool(1, 0);
  { auto lease = pool->acquire(); }
  script->alive = false;
  auto lease = pool->acquire();
  EXPECT_EQ(made, 1);
  EXPECT_EQ(script->pings, 0);
  EXPECT_EQ(pool->stats().discarded, 0u);
}

TEST_F(PoolUnitTest, DeadConnectionIsReplacedWithoutARoundTrip) {
  auto pool = make_pool(1, 0);
  { auto lease = pool->acquire(); }
  script->alive = false;
  std::this_thread::sleep_for(600ms);  // past the span a returned connection is trusted
  auto lease = pool->acquire();
  EXPECT_EQ(script->pings, 0);
  EXPECT_EQ(made, 2);
  EXPECT_EQ(pool->stats().discarded, 1u);
}

TEST_F(PoolUnitTest, WithoutPrePingTheConnectionIsHandedOutUnchecked) {
  auto pool = make_pool(1, 0, false);
  { auto lease = pool->acquire(); }
  script->alive = false;
  auto lease = pool->acquire();
  EXPECT_EQ(made, 1);
  EXPECT_EQ(pool->stats().discarded, 0u);
}

TEST_F(PoolUnitTest, MovedLeasesReturnTheirConnectionExactlyOnce) {
  auto pool = make_pool(2, 0);
  auto a = pool->acquire();
  Pool::Lease b = std::move(a);
  EXPECT_TRUE(b);
  EXPECT_EQ(pool->stats().in_use, 1);
  auto c = pool->acquire();
  b = std::move(c);  // b's first connection goes back now
  EXPECT_EQ(pool->stats().in_use, 1);
  EXPECT_EQ(pool->stats().idle, 1);
  b = Pool::Lease();
  EXPECT_EQ(pool->stats().in_use, 0);
  EXPECT_EQ(pool->stats().idle, 2);
  EXPECT_EQ(script->closed, 0);
}

TEST_F(PoolUnitTest, StatsStayExactUnderHeavyContention) {
  auto pool = make_pool(2, 2);
  constexpr int kThreads = 16;
  constexpr int kEach = 2000;
  std::atomic<int> max_in_use{0};
  std::atomic<int> concurrent{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        auto lease = pool->acquire();
        int now = ++concurrent;
        int seen = max_in_use;
        while (now > seen && !max_in_use.compare_exchange_weak(seen, now)) {
        }
        --concurrent;
      }
    });
  }
  for (auto& th : threads) th.join();
  PoolStats s = pool->stats();
  EXPECT_EQ(s.acquired, static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_EQ(s.in_use, 0);
  EXPECT_EQ(s.waiting, 0);
  EXPECT_EQ(s.timeouts, 0u);
  EXPECT_LE(max_in_use, 4);
  EXPECT_LE(s.open, 4);
  EXPECT_EQ(s.open, s.idle);
  EXPECT_EQ(static_cast<std::uint64_t>(made.load()), s.created);
  // Every connection made is either still open or was closed (overflow on return).
  EXPECT_EQ(made - script->closed, s.open);
}

}  // namespace
}  // namespace keel
