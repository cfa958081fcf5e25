#include <gtest/gtest.h>

#include "keel/error.hpp"

using namespace keel;

TEST(ErrorTest, ThrowDatabaseErrorPicksTheClassForTheKind) {
  EXPECT_THROW(throw_database_error(ErrorKind::unique_violation, "dup"), ConstraintError);
  EXPECT_THROW(throw_database_error(ErrorKind::deadlock, "dl"), ConcurrencyError);
  EXPECT_THROW(throw_database_error(ErrorKind::connection, "gone"), ConnectionError);
  EXPECT_THROW(throw_database_error(ErrorKind::timeout, "slow"), TimeoutError);
  EXPECT_THROW(throw_database_error(ErrorKind::syntax, "bad"), SqlError);
  EXPECT_THROW(throw_database_error(ErrorKind::other, "x"), DatabaseError);
}

TEST(ErrorTest, RetryableOnlyForConcurrencyKinds) {
  EXPECT_TRUE(Error(ErrorKind::busy, "").retryable());
  EXPECT_TRUE(Error(ErrorKind::deadlock, "").retryable());
  EXPECT_TRUE(Error(ErrorKind::serialization_failure, "").retryable());
  EXPECT_FALSE(Error(ErrorKind::unique_violation, "").retryable());
  EXPECT_FALSE(Error(ErrorKind::connection, "").retryable());
}

TEST(ErrorTest, DatabaseErrorKeepsNativeCodeAndSqlstate) {
  try {
    throw_database_error(ErrorKind::unique_violation, "dup", 2067, "23505");
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unique_violation);
    EXPECT_EQ(e.native_code(), 2067);
    EXPECT_EQ(e.sqlstate(), "23505");
    EXPECT_STREQ(e.what(), "dup");
    EXPECT_STREQ(to_string(e.kind()), "unique_violation");
  }
}
