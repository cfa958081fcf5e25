#include "support/loopback.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace keel::testing {

LoopbackSocket::LoopbackSocket(bool listening) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      (listening && ::listen(fd_, 16) != 0))
    throw std::runtime_error(std::string("loopback socket: ") + std::strerror(errno));
  port_ = ntohs(addr.sin_port);
}

LoopbackSocket::~LoopbackSocket() { close(); }

void LoopbackSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int closed_loopback_port() {
  LoopbackSocket socket(false);
  return socket.port();
}

}  // namespace keel::testing
