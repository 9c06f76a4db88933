#include "nic/env.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace nic {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

std::string DirName(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("writing " + path + ": " + ErrnoText(errno));
    }
    off += static_cast<size_t>(n);
  }
  return Status::OK();
}

class PosixEnv : public Env {
 public:
  Result<std::string> ReadFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == ENOENT) return Status::NotFound(path + " does not exist");
      if (err == EACCES) return Status::PermissionDenied("cannot read " + path + ": " + ErrnoText(err));
      return Status::IOError("cannot open " + path + ": " + ErrnoText(err));
    }
    std::string out;
    // Reserve the whole file up front: growing by doubling would briefly hold ~2x a large
    // tfstate in memory (bench/RESULTS.md). The 64 bytes more are simdjson's padding, so the
    // JSON readers can parse the string in place (src/core/simd_json.h).
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size) + 64);
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return Status::IOError("reading " + path + ": " + ErrnoText(err));
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }

  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  Status WriteFileAtomic(const std::string& path, std::string_view data) override {
    static std::atomic<uint64_t> counter{0};
    const std::string dir = DirName(path);
    std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      int err = errno;
      if (err == EACCES) return Status::PermissionDenied("cannot create " + tmp + ": " + ErrnoText(err));
      if (err == ENOENT) return Status::NotFound("directory " + dir + " does not exist (writing " + path + ")");
      return Status::IOError("cannot create " + tmp + ": " + ErrnoText(err));
    }
    // 0600 whatever the umask: state, backups and outputs may reveal infrastructure details.
    Status st;
    if (::fchmod(fd, 0600) != 0) st = Status::IOError("chmod " + tmp + ": " + ErrnoText(errno));
    if (st.ok()) st = WriteAll(fd, data, tmp);
    if (st.ok() && ::fsync(fd) != 0) st = Status::IOError("fsync " + tmp + ": " + ErrnoText(errno));
    if (::close(fd) != 0 && st.ok()) st = Status::IOError("close " + tmp + ": " + ErrnoText(errno));
    if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
      st = Status::IOError("rename " + tmp + " -> " + path + ": " + ErrnoText(errno));
    }
    if (!st.ok()) {
      ::unlink(tmp.c_str());
      return st;
    }
    // The rename is durable only once the directory entry is on disk.
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      if (::fsync(dfd) != 0) st = Status::IOError("fsync directory " + dir + ": " + ErrnoText(errno));
      ::close(dfd);
    }
    return st;
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) return Status::NotFound(path + " does not exist");
      return Status::IOError("cannot remove " + path + ": " + ErrnoText(errno));
    }
    return Status::OK();
  }

  // Directories NIC creates (for state, history, outputs) are 0700 whatever the umask: one made
  // 0777 under umask 0 would let any local user replace the state inside it.
  Status CreateDirs(const std::string& path) override {
    std::error_code ec;
    std::filesystem::path p(path);
    std::vector<std::filesystem::path> missing;
    for (auto q = p; !q.empty() && !std::filesystem::exists(q, ec); q = q.parent_path()) {
      missing.push_back(q);
      if (q == q.parent_path()) break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) {
        return Status::IOError("cannot create directory " + it->string() + ": " + std::strerror(errno));
      }
      ::chmod(it->c_str(), 0700);
    }
    if (!std::filesystem::is_directory(p, ec)) return Status::IOError("cannot create directory " + path + ": not a directory");
    return Status::OK();
  }

  int64_t NowMicros() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  void SleepMicros(int64_t micros) override {
    if (micros > 0) std::this_thread::sleep_for(std::chrono::microseconds(micros));
  }

  std::string WhoAmI() override {
    std::string user;
    if (const char* u = std::getenv("USER"); u != nullptr && *u) user = u;
    if (user.empty()) {
      if (struct passwd* pw = ::getpwuid(::geteuid()); pw != nullptr) user = pw->pw_name;
    }
    if (user.empty()) user = "uid" + std::to_string(::geteuid());
    char host[256] = {0};
    if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "unknown-host");
    return user + "@" + host;
  }
};

}  // namespace

Env* Env::Default() {
  static PosixEnv env;
  return &env;
}

std::string FormatRfc3339(int64_t micros) {
  time_t secs = static_cast<time_t>(micros / 1000000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<int64_t> ParseRfc3339(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  auto digits = [&](size_t pos, size_t n, int* out) {
    if (pos + n > t.size()) return false;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
      char c = t[pos + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
  };
  int Y, M, D, h, m, s;
  if (!digits(0, 4, &Y) || t.size() < 20 || t[4] != '-' || !digits(5, 2, &M) || t[7] != '-' ||
      !digits(8, 2, &D) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !digits(11, 2, &h) ||
      t[13] != ':' || !digits(14, 2, &m) || t[16] != ':' || !digits(17, 2, &s)) {
    return std::nullopt;
  }
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || s > 60) return std::nullopt;
  size_t pos = 19;
  int64_t frac_us = 0;
  if (pos < t.size() && t[pos] == '.') {
    ++pos;
    int64_t scale = 100000;
    size_t start = pos;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
      if (scale > 0) frac_us += (t[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int offset_min = 0;
  if (pos >= t.size()) return std::nullopt;
  if (t[pos] == 'Z' || t[pos] == 'z') {
    ++pos;
  } else if (t[pos] == '+' || t[pos] == '-') {
    int oh, om;
    if (!digits(pos + 1, 2, &oh) || pos + 3 >= t.size() || t[pos + 3] != ':' || !digits(pos + 4, 2, &om)) {
      return std::nullopt;
    }
    offset_min = (oh * 60 + om) * (t[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != t.size()) return std::nullopt;
  struct tm tm {};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = s;
  time_t secs = timegm(&tm);
  return (static_cast<int64_t>(secs) - offset_min * 60) * 1000000 + frac_us;
}

std::optional<int64_t> ParseDurationMicros(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text == "0") return 0;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    double value = 0;
    bool seen_digit = false, seen_dot = false;
    double frac_scale = 0.1;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) {
      if (text[i] == '.') {
        if (seen_dot) return std::nullopt;
        seen_dot = true;
      } else if (!seen_dot) {
        value = value * 10 + (text[i] - '0');
        seen_digit = true;
      } else {
        value += (text[i] - '0') * frac_scale;
        frac_scale /= 10;
        seen_digit = true;
      }
      ++i;
    }
    if (!seen_digit || i == start) return std::nullopt;
    size_t ustart = i;
    while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z'))) ++i;
    std::string_view unit = text.substr(ustart, i - ustart);
    double mult;
    if (unit == "ms") mult = 1e3;
    else if (unit == "s") mult = 1e6;
    else if (unit == "m") mult = 60e6;
    else if (unit == "h") mult = 3600e6;
    else if (unit == "us") mult = 1;
    else return std::nullopt;
    total += static_cast<int64_t>(value * mult);
  }
  return total;
}

}  // namespace nic
