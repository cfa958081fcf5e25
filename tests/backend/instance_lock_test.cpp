// The single-instance lock on each backend: refused while held (saying by whom),
// independent per name, and released on destruction and on the holder's death.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "keel/database.hpp"
#include "keel/error.hpp"
#include "keel/instance_lock.hpp"
#include "support/backend_test.hpp"

namespace keel {
namespace {

class InstanceLockTest : public testing::BackendTest {
 protected:
  // PostgreSQL advisory locks are per database, shared by every schema and every
  // concurrent test run on the server: each name must be unique to this test.
  std::string unique_name(std::string_view base) const {
    std::random_device rd;
    return fmt::format("{}-{}-{}", base, ::getpid(), rd() % 100000000);
  }
};

std::string host_name() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// The AlreadyRunning message from acquiring `name`, or "" when it was acquired.
std::string refusal(const Config& config, const std::string& name) {
  try {
    auto lock = acquire_instance_lock(config, name);
    return "";
  } catch (const AlreadyRunning& e) {
    EXPECT_EQ(e.kind(), ErrorKind::already_running);
    return e.what();
  }
}

TEST_P(InstanceLockTest, SecondAcquireIsRefusedNamingThePidAndHost) {
  std::string name = unique_name("held");
  auto lock = acquire_instance_lock(config(), name);
  ASSERT_TRUE(lock);
  EXPECT_EQ(lock->name(), name);
  EXPECT_TRUE(lock->held());

  std::string message = refusal(config(), name);
  ASSERT_FALSE(message.empty()) << "a second acquire of a held lock succeeded";
  EXPECT_NE(message.find(std::to_string(::getpid())), std::string::npos) << message;
  EXPECT_NE(message.find(host_name()), std::string::npos) << message;
  EXPECT_NE(message.find(name), std::string::npos) << message;
  EXPECT_TRUE(lock->held()) << "a refused attempt must not disturb the holder";
}

TEST_P(InstanceLockTest, DatabaseInstanceLockIsTheSameLock) {
  std::string name = unique_name("db");
  Database db(config());
  auto lock = db.instance_lock(name);
  EXPECT_THROW(db.instance_lock(name), AlreadyRunning);
  EXPECT_FALSE(refusal(config(), name).empty());
  lock.reset();
  EXPECT_NO_THROW(db.instance_lock(name));
}

TEST_P(InstanceLockTest, DifferentNamesDoNotConflict) {
  auto a = acquire_instance_lock(config(), unique_name("alpha"));
  auto b = acquire_instance_lock(config(), unique_name("beta"));
  EXPECT_TRUE(a->held());
  EXPECT_TRUE(b->held());
  EXPECT_NE(a->where(), b->where());
}

TEST_P(InstanceLockTest, WhereNamesTheLockFileOrAdvisoryKey) {
  std::string name = unique_name("where");
  auto lock = acquire_instance_lock(config(), name);
  if (is_sqlite()) {
    // Beside the database, not the database itself (see instance_lock.hpp).
    std::string expected = config().url.path + "." + name + ".lock";
    EXPECT_EQ(lock->where(), expected);
    EXPECT_TRUE(std::filesystem::exists(expected));
  } else {
    EXPECT_EQ(lock->where().rfind("advisory lock ", 0), 0u) << lock->where();
  }
}

TEST_P(InstanceLockTest, ReleasedWhenDestroyed) {
  std::string name = unique_name("scoped");
  {
    auto lock = acquire_instance_lock(config(), name);
    EXPECT_FALSE(refusal(config(), name).empty());
  }
  auto again = acquire_instance_lock(config(), name);
  EXPECT_TRUE(again->held());
}

TEST_P(InstanceLockTest, LockOnACallersConnectionIsTheSameLockAndReleasedWithIt) {
  std::string name = unique_name("borrowed");
  auto conn = keel::connect(config());
  std::string own_name;
  if (!is_sqlite())
    own_name = conn->query_one("SELECT current_setting('application_name')")->get<std::string>(0);
  {
    auto lock = acquire_instance_lock(*conn, config(), name);
    EXPECT_TRUE(lock->held());
    std::string message = refusal(config(), name);
    ASSERT_FALSE(message.empty()) << "the lock taken on a connection was not the same lock";
    EXPECT_NE(message.find(std::to_string(::getpid())), std::string::npos) << message;
    EXPECT_NE(message.find(host_name()), std::string::npos) << message;
    EXPECT_THROW(acquire_instance_lock(*conn, config(), name), AlreadyRunning);
  }
  EXPECT_TRUE(refusal(config(), name).empty()) << "destroying the lock did not release it";
  if (!is_sqlite()) {  // the session has its own name back
    EXPECT_EQ(conn->query_one("SELECT current_setting('application_name')")->get<std::string>(0),
              own_name);
  }
}

// A child process takes the lock on its own connection and is SIGKILLed: no
// destructor runs, and the lock must still come free (the kernel drops the flock;
// PostgreSQL ends the session when it notices the socket closed, asynchronously).
TEST_P(InstanceLockTest, ReleasedWhenTheHolderIsKilled) {
  std::string name = unique_name("killed");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Only what the child needs, then block; alarm() ends it should the parent die.
    ::close(ready[0]);
    ::alarm(60);
    char status = 'x';
    try {
      auto lock = acquire_instance_lock(config(), name);
      status = 'y';
      (void)!::write(ready[1], &status, 1);
      while (true) ::pause();
    } catch (...) {
      (void)!::write(ready[1], &status, 1);
    }
    ::_exit(1);
  }
  ::close(ready[1]);
  pollfd pfd{ready[0], POLLIN, 0};
  char status = 0;
  bool signalled = ::poll(&pfd, 1, 20000) == 1 && ::read(ready[0], &status, 1) == 1;
  ::close(ready[0]);
  if (!signalled || status != 'y') {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    FAIL() << "the child could not take the lock";
  }

  std::string message = refusal(config(), name);
  EXPECT_FALSE(message.empty()) << "the lock held by the child was granted to the parent";
  EXPECT_NE(message.find(std::to_string(child)), std::string::npos)
      << "the message should name the holder's pid " << child << ": " << message;

  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  EXPECT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL);

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::unique_ptr<InstanceLock> lock;
  while (!lock) {
    try {
      lock = acquire_instance_lock(config(), name);
    } catch (const AlreadyRunning& e) {
      if (std::chrono::steady_clock::now() > deadline) FAIL() << "still held: " << e.what();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  EXPECT_TRUE(lock->held());
}

KEEL_BACKEND_TEST_SUITE(InstanceLockTest);

}  // namespace
}  // namespace keel
