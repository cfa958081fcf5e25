// tests/cli/process.hpp — run the built binaries as processes and capture what
// they print, separately on stdout and stderr.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/config.hpp"
#include "support/loopback.hpp"

namespace keel::testing {

struct ProcessOptions {
  std::filesystem::path cwd;  // empty: the test's own working directory
  // Changes to the inherited environment; nullopt unsets the variable.
  std::map<std::string, std::optional<std::string>> env;
  double timeout_s = 60;  // then SIGKILL, and timed_out is set
};

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
  double seconds = 0;
  bool timed_out = false;
};

// A process started with Child::spawn; killed (SIGKILL) if still running when destroyed.
class Child {
 public:
  static Child spawn(const std::string& program, const std::vector<std::string>& args,
                     const ProcessOptions& options = {});
  Child(Child&& other) noexcept;
  Child& operator=(Child&&) = delete;
  ~Child();

  pid_t pid() const noexcept { return pid_; }
  // Reads output until stdout contains `needle`; false after timeout_s or at its end.
  bool wait_for_stdout(std::string_view needle, double timeout_s);
  // Sends `signal` (0: none), then reads everything and reaps the process,
  // killing it after timeout_s.
  ProcessResult finish(int signal = 0, double timeout_s = 60);

 private:
  Child() = default;
  bool pump(double timeout_s);  // one poll round; false when both pipes are closed
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  double started_ = 0;
  ProcessResult result_;
};

// Runs `program` to completion.
ProcessResult run_process(const std::string& program, const std::vector<std::string>& args,
                          const ProcessOptions& options = {});

// The built `keel` command and example program.
std::string keel_bin();
std::string example_bin();

// Runs `keel args…` to completion.
ProcessResult run_keel(const std::vector<std::string>& args, const ProcessOptions& options = {});

// Options that let nothing from the developer's shell leak into a run: DATABASE_URL
// unset, and `cwd` as the working directory.
ProcessOptions clean_env(std::filesystem::path cwd = {});

// Feeds the SQL script in `script` to the backend's own client for the database of
// `config`: sqlite3 FILE (stopping at the first error), or psql with ON_ERROR_STOP.
ProcessResult run_sql_client(const Config& config, const std::filesystem::path& script);

// Writes `text` to `path`.
void write_file(const std::filesystem::path& path, std::string_view text);

// Everything the process printed, for failure messages.
std::string describe(const ProcessResult& r);

}  // namespace keel::testing
