#include "tests/support/endless_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <vector>

namespace nic::testing {

EndlessHttpServer::EndlessHttpServer(std::string head, uint64_t body_bytes)
    : head_(std::move(head)), body_bytes_(body_bytes) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 4) != 0) {
    throw std::runtime_error("EndlessHttpServer: cannot listen on 127.0.0.1");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

EndlessHttpServer::~EndlessHttpServer() {
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
}

uint64_t EndlessHttpServer::BodyBytesSent() {
  if (thread_.joinable()) thread_.join();
  return sent_.load();
}

void EndlessHttpServer::Serve() {
  // Waits at most 60 s for the one client (a test that never connects must still end).
  pollfd p{listen_fd_, POLLIN, 0};
  if (::poll(&p, 1, 60'000) <= 0) return;
  int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  // A client that neither reads nor hangs up must not hang the test: sends give up after 30 s.
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  // Read the request head (the tests send GETs without a body).
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  std::string head = head_ + "\r\n\r\n";
  if (::send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size())) {
    std::vector<char> chunk(64 << 10, 'x');
    uint64_t sent = 0;
    while (sent < body_bytes_) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(chunk.size(), body_bytes_ - sent));
      ssize_t n = ::send(fd, chunk.data(), want, MSG_NOSIGNAL);
      if (n <= 0) break;  // the client hung up: EPIPE / ECONNRESET
      sent += static_cast<uint64_t>(n);
      sent_.store(sent);
    }
  }
  ::close(fd);
}

}  // namespace nic::testing
