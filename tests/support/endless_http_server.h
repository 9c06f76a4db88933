// A hostile HTTP peer for tests on 127.0.0.1: answers one request with a fixed header block and
// then streams filler bytes until it has sent `body_bytes` or the client hangs up, counting what
// it managed to send. Shows that a client stops reading an oversized body (bounded memory)
// rather than trusting Content-Length or waiting for the end.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace nic::testing {

class EndlessHttpServer {
 public:
  // `head` is the status line and headers without the blank line, e.g.
  // "HTTP/1.1 200 OK\r\nContent-Length: 1073741824".
  EndlessHttpServer(std::string head, uint64_t body_bytes);
  ~EndlessHttpServer();
  EndlessHttpServer(const EndlessHttpServer&) = delete;
  EndlessHttpServer& operator=(const EndlessHttpServer&) = delete;

  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // Body bytes the client accepted into its socket before it hung up (or all of them). Valid
  // once the client's request has returned; waits for the server side to finish.
  uint64_t BodyBytesSent();

 private:
  void Serve();

  std::string head_;
  uint64_t body_bytes_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<uint64_t> sent_{0};
  std::thread thread_;
};

}  // namespace nic::testing
