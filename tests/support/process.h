// Child processes and ports for tests that start their own peers (moto_server, Azurite, the
// Python protocol servers). Children are stopped by PID, never by name.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "nic/status.h"

namespace nic::testing {

// A free TCP port on 127.0.0.1 (bound, read back, released). Another process could take it
// before the caller binds it; launchers retry on a bind failure.
int FreePort();

// Blocks until something accepts TCP connections on 127.0.0.1:port or `timeout_ms` passes.
bool WaitForPort(int port, int timeout_ms);

// One raw HTTP/1.0 request to 127.0.0.1:port; returns the status code or -1. For readiness
// probes only (no dependency on the transport under test).
int HttpStatus(int port, const std::string& method, const std::string& path, int timeout_ms = 2000);

// A child process. The destructor stops it: SIGTERM, then SIGKILL after a grace period.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts argv[0] (searched in PATH) with extra environment variables, in `cwd` when non-empty,
  // stdout and stderr appended to `log_path`.
  Status Start(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
               const std::string& log_path, const std::string& cwd = "");
  // Whether the child is still running (reaps it if it exited).
  bool Running();
  void Stop();
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // The last `max_bytes` of the log, for failure messages.
  std::string LogTail(size_t max_bytes = 2000) const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

// A fresh directory under $TMPDIR (or /tmp), removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  // Writes a file (creating parent dirs) and returns its path.
  std::string Write(const std::string& relative, const std::string& content) const;

 private:
  std::string path_;
};

}  // namespace nic::testing
