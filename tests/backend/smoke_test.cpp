#include "support/backend_test.hpp"

namespace keel {
namespace {

class SmokeTest : public testing::BackendTest {};

TEST_P(SmokeTest, SelectOneAnswers) {
  auto c = connect();
  auto row = c->query_one("SELECT 1 AS one");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->get<std::int64_t>("one"), 1);
  EXPECT_EQ(c->backend(), backend());
}

KEEL_BACKEND_TEST_SUITE(SmokeTest);

}  // namespace
}  // namespace keel
