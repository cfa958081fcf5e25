// The SQLite instance lock: flock() on "<db>.<name>.lock" beside the database.
//
// flock() rather than fcntl() record locks: a record lock is dropped when the
// process closes *any* descriptor of the file, and belongs to the process, so a
// second lock in the same process would silently succeed. flock() belongs to the
// open file description: a second open() in the same process conflicts, and the
// kernel drops it when the holder dies.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "driver/backends.hpp"
#include "keel/error.hpp"
#include "keel/value.hpp"

namespace keel::driver {
namespace {

class SqliteLock final : public InstanceLock {
 public:
  SqliteLock(std::string name, std::string path, int fd)
      : name_(std::move(name)), path_(std::move(path)), fd_(fd) {}
  SqliteLock(const SqliteLock&) = delete;
  SqliteLock& operator=(const SqliteLock&) = delete;
  // The file stays: unlinking it while locked would let a newcomer lock a new
  // file of the same name while a third process still waits on the old one.
  // Emptying it says nobody holds it now.
  ~SqliteLock() override {
    if (ftruncate(fd_, 0) != 0) {
      // Stale holder details are harmless: only a holder's flock counts.
    }
    ::close(fd_);
  }

  const std::string& name() const noexcept override { return name_; }
  std::string where() const override { return path_; }
  // Ours while our descriptor is still the file at that path: had someone
  // deleted it, a newcomer could lock a new file of the same name.
  bool held() noexcept override {
    struct stat mine = {};
    struct stat there = {};
    if (fstat(fd_, &mine) != 0 || ::stat(path_.c_str(), &there) != 0) return false;
    return mine.st_dev == there.st_dev && mine.st_ino == there.st_ino;
  }

 private:
  std::string name_;
  std::string path_;
  int fd_;
};

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// Who holds the lock, as its holder wrote it: "pid 1234 on host H since T".
std::string describe_holder(int fd) {
  char buf[1024];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "another process (which has not written its details yet)";
  std::string_view text(buf, static_cast<std::size_t>(n));
  std::string pid, host, since;
  while (!text.empty()) {
    std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "pid") pid = value;
    if (key == "host") host = value;
    if (key == "since") since = value;
  }
  if (pid.empty()) return "another process";
  std::string who = "pid " + pid;
  if (!host.empty()) who += " on host " + host;
  if (!since.empty()) who += " since " + since;
  return who;
}

}  // namespace

std::unique_ptr<InstanceLock> lock_sqlite(const Config& config, std::string_view name) {
  // The name becomes part of a file name.
  if (name.empty())
    throw UsageError("instance lock name is empty; use letters, digits, '.', '_' or '-'");
  for (char ch : name) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-';
    if (!ok)
      throw UsageError(
          fmt::format("instance lock name '{}' has '{}'; use letters, digits, '.', '_' or '-'",
                      name, ch));
  }
  // Without a file there is nothing to put the lock beside; one per machine and name.
  std::filesystem::path path =
      config.url.is_memory()
          ? std::filesystem::temp_directory_path() / fmt::format("keel-{}.lock", name)
          : std::filesystem::path(fmt::format("{}.{}.lock", config.url.path, name));
  std::error_code ec;
  if (auto parent = path.parent_path(); !parent.empty())
    std::filesystem::create_directories(parent, ec);
  std::string shown = std::filesystem::absolute(path, ec).lexically_normal().string();
  if (shown.empty()) shown = path.string();

  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw Error(ErrorKind::other,
                fmt::format("cannot open instance lock file {}: {}", shown, std::strerror(errno)));
  int rc;
  do rc = flock(fd, LOCK_EX | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    std::string holder = err == EWOULDBLOCK ? describe_holder(fd) : std::string();
    ::close(fd);
    if (err != EWOULDBLOCK)
      throw Error(ErrorKind::other,
                  fmt::format("cannot lock instance lock file {}: {}", shown, std::strerror(err)));
    throw AlreadyRunning(
        fmt::format("another instance is already running: lock '{}' ({}) is held by {}", name,
                    shown, holder));
  }
  auto now =
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  std::string details =
      fmt::format("pid={}\nhost={}\nsince={}\n", ::getpid(), host_name(), format_timestamp(now));
  // Best effort: the flock is the lock, the text only explains it to a refused peer.
  if (ftruncate(fd, 0) == 0) (void)!pwrite(fd, details.data(), details.size(), 0);
  return std::make_unique<SqliteLock>(std::string(name), shown, fd);
}

}  // namespace keel::driver
