// tests/support/loopback.hpp — stand-ins for servers that are not there or never
// answer, on 127.0.0.1 only (tests never reach beyond this machine).
#pragma once

namespace keel::testing {

// A TCP socket bound to a free loopback port; closed on destruction.
class LoopbackSocket {
 public:
  // listening=true: the kernel completes every handshake (backlog) but nobody ever
  // reads or writes — a server that accepts and never answers. listening=false: a
  // bound port that refuses nothing yet answers nothing.
  explicit LoopbackSocket(bool listening);
  ~LoopbackSocket();
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;
  void close();
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A loopback TCP port nothing listens on (bound, then closed): connecting is refused.
int closed_loopback_port();

}  // namespace keel::testing
