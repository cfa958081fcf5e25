#include <gtest/gtest.h>

#include <cstdio>
#include <string>

// Runs the keel binary; returns exit status and stdout.
static int run_keel(const std::string& args, std::string& out) {
  std::string cmd = std::string(KEEL_BIN_DIR) + "/keel " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  out.clear();
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(CliTest, KeelBinaryRuns) {
  std::string out;
  EXPECT_EQ(run_keel("", out), 0) << out;
}
