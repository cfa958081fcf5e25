#include "process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

extern char** environ;

namespace keel::testing {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Child Child::spawn(const std::string& program, const std::vector<std::string>& args,
                   const ProcessOptions& options) {
  // Everything the child needs is built before fork(): between fork and exec
  // only async-signal-safe calls are allowed (the gtest process may have threads).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string key(entry.substr(0, entry.find('=')));
    if (options.env.count(key) == 0) env_strings.emplace_back(entry);
  }
  for (const auto& [key, value] : options.env)
    if (value) env_strings.push_back(key + "=" + *value);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::vector<std::string> argv_strings{program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::string cwd = options.cwd.string();

  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));

  Child child;
  child.started_ = now_s();
  child.pid_ = ::fork();
  if (child.pid_ < 0) throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
  if (child.pid_ == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  child.out_fd_ = out[0];
  child.err_fd_ = err[0];
  return child;
}

Child::Child(Child&& other) noexcept
    : pid_(other.pid_),
      out_fd_(other.out_fd_),
      err_fd_(other.err_fd_),
      started_(other.started_),
      result_(std::move(other.result_)) {
  other.pid_ = -1;
  other.out_fd_ = other.err_fd_ = -1;
}

Child::~Child() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

bool Child::pump(double timeout_s) {
  pollfd fds[2];
  int n = 0;
  if (out_fd_ >= 0) fds[n++] = {out_fd_, POLLIN, 0};
  if (err_fd_ >= 0) fds[n++] = {err_fd_, POLLIN, 0};
  if (n == 0) return false;
  int ready = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(timeout_s * 1000));
  if (ready <= 0) return true;
  for (int i = 0; i < n; ++i) {
    if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    char buf[4096];
    ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
    bool is_out = fds[i].fd == out_fd_;
    if (got > 0) {
      (is_out ? result_.out : result_.err).append(buf, static_cast<std::size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      ::close(fds[i].fd);
      (is_out ? out_fd_ : err_fd_) = -1;
    }
  }
  return out_fd_ >= 0 || err_fd_ >= 0;
}

bool Child::wait_for_stdout(std::string_view needle, double timeout_s) {
  double deadline = now_s() + timeout_s;
  while (result_.out.find(needle) == std::string::npos) {
    double left = deadline - now_s();
    if (left <= 0 || !pump(left)) return result_.out.find(needle) != std::string::npos;
  }
  return true;
}

ProcessResult Child::finish(int signal, double timeout_s) {
  if (signal != 0 && pid_ > 0) ::kill(pid_, signal);
  double deadline = now_s() + timeout_s;
  while (true) {
    double left = deadline - now_s();
    if (left <= 0) {
      ::kill(pid_, SIGKILL);
      result_.timed_out = true;
      break;
    }
    if (!pump(left)) break;
  }
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  result_.seconds = now_s() - started_;
  if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result_.signal = WTERMSIG(status);
  return std::move(result_);
}

ProcessResult run_process(const std::string& program, const std::vector<std::string>& args,
                          const ProcessOptions& options) {
  return Child::spawn(program, args, options).finish(0, options.timeout_s);
}

std::string keel_bin() { return std::string(KEEL_BIN_DIR) + "/keel"; }
std::string example_bin() { return std::string(KEEL_BIN_DIR) + "/keel-example"; }

ProcessResult run_keel(const std::vector<std::string>& args, const ProcessOptions& options) {
  return run_process(keel_bin(), args, options);
}

ProcessOptions clean_env(std::filesystem::path cwd) {
  ProcessOptions options;
  options.env["DATABASE_URL"] = std::nullopt;
  options.cwd = std::move(cwd);
  return options;
}

ProcessResult run_sql_client(const Config& config, const std::filesystem::path& script) {
  if (config.url.is_sqlite())
    return run_process("/bin/sh", {"-c", fmt::format("sqlite3 -bail '{}' < '{}'", config.url.path,
                                                     script.string())});
  // A test's PostgreSQL schema is the search_path of the URL's options.
  return run_process("/usr/bin/psql", {"-q", config.url.to_string(), "-v", "ON_ERROR_STOP=1",
                                       "-f", script.string()});
}

void write_file(const std::filesystem::path& path, std::string_view text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

std::string describe(const ProcessResult& r) {
  return fmt::format("exit {} signal {} after {:.2f}s{}\n--- stdout ---\n{}--- stderr ---\n{}",
                     r.exit_code, r.signal, r.seconds, r.timed_out ? " (timed out)" : "", r.out,
                     r.err);
}

}  // namespace keel::testing
