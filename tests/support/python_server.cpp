#include "tests/support/python_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/test_util.h"

namespace nic::testing {

RawHttpResponse RawHttp(int port, const std::string& method, const std::string& target, const std::string& body,
                        const std::map<std::string, std::string>& headers, int timeout_ms) {
  RawHttpResponse out;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return out;
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return out;
  }
  std::string req = method + " " + target + " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n" + body;
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return out;
    }
    off += static_cast<size_t>(n);
  }
  std::string resp;
  char buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (resp.compare(0, 5, "HTTP/") != 0) return out;
  size_t sp = resp.find(' ');
  out.status = std::atoi(resp.c_str() + sp + 1);
  size_t hdr_end = resp.find("\r\n\r\n");
  if (hdr_end != std::string::npos) out.body = resp.substr(hdr_end + 4);
  return out;
}

Result<std::unique_ptr<PythonServer>> PythonServer::Start(const std::string& script, const std::vector<std::string>& extra_args,
                                                          int ready_timeout_ms) {
  std::unique_ptr<PythonServer> s(new PythonServer());
  const std::string port_file = s->dir_.File("port");
  std::vector<std::string> argv = {"python3", SourceDir() + "/tests/servers/" + script, "--host", "127.0.0.1",
                                   "--port",  "0",  "--port-file", port_file};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  NIC_RETURN_IF_ERROR(s->process_.Start(argv, {}, s->dir_.File("server.log")));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ready_timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!s->process_.Running()) break;
    std::ifstream in(port_file);
    int port = 0;
    if (in >> port && port > 0) {
      s->port_ = port;
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Unavailable(script + " did not become ready (no port in " + port_file + "); log:\n" + s->process_.LogTail());
}

}  // namespace nic::testing
