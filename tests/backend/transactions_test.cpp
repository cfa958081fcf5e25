// Transactions and savepoints on each backend, checked from a second connection
// where what matters is what others see.
#include <gmock/gmock.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "support/backend_test.hpp"

namespace keel {
namespace {

class TransactionsTest : public testing::BackendTest {
 protected:
  std::unique_ptr<Connection> with_table() {
    auto c = connect();
    c->execute_script("CREATE TABLE t (id integer PRIMARY KEY)");
    return c;
  }

  static std::vector<int> ids(Connection& c) {
    std::vector<int> out;
    for (const Row& row : c.query("SELECT id FROM t ORDER BY id"))
      out.push_back(row.get<int>("id"));
    return out;
  }

  static void insert(Connection& c, int id) { c.execute("INSERT INTO t (id) VALUES (?)", {id}); }
};

using Ids = std::vector<int>;

TEST_P(TransactionsTest, CommitMakesWritesVisibleToOthers) {
  auto c = with_table();
  auto other = connect();
  c->begin();
  EXPECT_TRUE(c->in_transaction());
  insert(*c, 1);
  insert(*c, 2);
  EXPECT_EQ(ids(*other), Ids{});
  c->commit();
  EXPECT_FALSE(c->in_transaction());
  EXPECT_EQ(ids(*other), (Ids{1, 2}));
  // A fresh connection too: it is on disk (or in the server), not in a cache.
  EXPECT_EQ(ids(*connect()), (Ids{1, 2}));
}

TEST_P(TransactionsTest, RollbackUndoesWrites) {
  auto c = with_table();
  insert(*c, 1);
  auto other = connect();
  c->begin();
  insert(*c, 2);
  c->execute("DELETE FROM t WHERE id = 1");
  EXPECT_EQ(ids(*c), Ids{2});
  EXPECT_EQ(ids(*other), Ids{1});
  c->rollback();
  EXPECT_FALSE(c->in_transaction());
  EXPECT_EQ(c->transaction_depth(), 0);
  EXPECT_EQ(ids(*c), Ids{1});
  EXPECT_EQ(ids(*other), Ids{1});
}

TEST_P(TransactionsTest, ExceptionInTransactionRollsBackAndRethrows) {
  auto c = with_table();
  EXPECT_THROW(c->transaction([&] {
    insert(*c, 1);
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_EQ(c->transaction_depth(), 0);
  EXPECT_FALSE(c->in_transaction());
  EXPECT_EQ(ids(*c), Ids{});

  // A database error inside is the one that comes out, not a rollback error.
  insert(*c, 5);
  EXPECT_THROW(c->transaction([&](Connection& tx) {
    insert(tx, 6);
    insert(tx, 5);
  }),
               ConstraintError);
  EXPECT_EQ(ids(*c), Ids{5});
}

TEST_P(TransactionsTest, TransactionReturnsTheFunctionsResult) {
  auto c = with_table();
  int n = c->transaction([&](Connection& tx) {
    insert(tx, 7);
    return 42;
  });
  EXPECT_EQ(n, 42);
  EXPECT_EQ(ids(*connect()), Ids{7});
}

TEST_P(TransactionsTest, CaughtInnerFailureUndoesOnlyTheInnerWork) {
  auto c = with_table();
  c->transaction([&] {
    insert(*c, 1);
    try {
      c->transaction([&] {
        EXPECT_EQ(c->transaction_depth(), 2);
        insert(*c, 2);
        throw std::runtime_error("inner");
      });
    } catch (const std::runtime_error&) {
    }
    EXPECT_EQ(c->transaction_depth(), 1);
    insert(*c, 3);
  });
  EXPECT_EQ(ids(*connect()), (Ids{1, 3}));
}

TEST_P(TransactionsTest, OuterRollbackUndoesAReleasedSavepoint) {
  auto c = with_table();
  c->begin();
  insert(*c, 1);
  c->begin();
  insert(*c, 2);
  c->commit();
  EXPECT_EQ(c->transaction_depth(), 1);
  EXPECT_EQ(ids(*c), (Ids{1, 2}));
  c->rollback();
  EXPECT_EQ(ids(*c), Ids{});
  EXPECT_EQ(ids(*connect()), Ids{});
}

TEST_P(TransactionsTest, SavepointsCanBeReopenedAtTheSameDepth) {
  auto c = with_table();
  c->begin();
  for (int i = 1; i <= 3; ++i) {
    c->begin();
    insert(*c, i);
    if (i == 2) {
      c->rollback();
    } else {
      c->commit();
    }
    EXPECT_EQ(c->transaction_depth(), 1);
  }
  c->commit();
  EXPECT_EQ(ids(*connect()), (Ids{1, 3}));
}

TEST_P(TransactionsTest, DepthCountsTransactionAndSavepoints) {
  auto c = with_table();
  EXPECT_EQ(c->transaction_depth(), 0);
  c->begin();
  c->begin();
  c->begin();
  EXPECT_EQ(c->transaction_depth(), 3);
  c->commit();
  EXPECT_EQ(c->transaction_depth(), 2);
  c->rollback();
  EXPECT_EQ(c->transaction_depth(), 1);
  EXPECT_TRUE(c->in_transaction());
  c->commit();
  EXPECT_EQ(c->transaction_depth(), 0);
  EXPECT_FALSE(c->in_transaction());
}

TEST_P(TransactionsTest, CommitOrRollbackWithoutBeginIsUsageError) {
  auto c = with_table();
  EXPECT_THROW(c->commit(), UsageError);
  EXPECT_THROW(c->rollback(), UsageError);
  EXPECT_EQ(c->transaction_depth(), 0);
}

TEST_P(TransactionsTest, AbandonTransactionRollsBackARawBegin) {
  auto c = with_table();
  c->execute("BEGIN");
  insert(*c, 1);
  EXPECT_TRUE(c->in_transaction());
  EXPECT_EQ(c->transaction_depth(), 0);
  c->abandon_transaction();
  EXPECT_FALSE(c->in_transaction());
  EXPECT_EQ(ids(*c), Ids{});

  // And savepoints: everything goes, the depth with it.
  c->begin();
  c->begin();
  insert(*c, 2);
  c->abandon_transaction();
  EXPECT_EQ(c->transaction_depth(), 0);
  EXPECT_FALSE(c->in_transaction());
  EXPECT_EQ(ids(*connect()), Ids{});
  // Outside a transaction it does nothing.
  c->abandon_transaction();
  insert(*c, 3);
  EXPECT_EQ(ids(*connect()), Ids{3});
}

KEEL_BACKEND_TEST_SUITE(TransactionsTest);

}  // namespace
}  // namespace keel
