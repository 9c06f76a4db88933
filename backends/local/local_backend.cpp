#include "backends/local/local_backend.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "nic/crypto.h"
#include "nic/env.h"
#include "nic/log.h"

namespace nic {
namespace {


std::string ReadFd(int fd) {
  std::string out;
  char buf[4096];
  off_t off = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
    if (out.size() > (1 << 20)) break;  // a lock record is tiny; never read a huge file
  }
  return out;
}

// Writes the lock record. Not fsynced on purpose: the flock is the lock, and the kernel drops it
// when the holder dies, crash or not. The record only names the holder for error messages and
// force-unlock; after a power loss it may be empty or stale, and a record nobody holds the
// flock for is already treated as stale (Lock overwrites it, ForceUnlock cleans it).
Status WriteLockRecord(int fd, const std::string& data, const std::string& path) {
  if (::ftruncate(fd, 0) != 0) return Status::IOError("truncating " + path + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + off, data.size() - off, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("writing " + path + ": " + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  return Status::OK();
}

// Makes `backup` a second name for the inode `path` names now. The state file is only ever
// replaced by rename, never rewritten in place, so that inode holds exactly the previous
// version, already made durable when it was written: no copy and no fsync is needed. The new
// name becomes durable with the directory fsync of the state replace that follows (same
// directory). link() refuses an existing target, so the link is made under a fixed side name
// (the caller holds the state lock, so no other writer uses it) and renamed over the old backup.
// Returns errno (0 on success) so the caller can fall back to a copy where hard links are not
// supported.
int LinkBackup(const std::string& path, const std::string& backup) {
  const std::string side = backup + ".new";
  (void)::unlink(side.c_str());  // left by a writer killed between link and rename
  if (::link(path.c_str(), side.c_str()) != 0) return errno;
  if (::rename(side.c_str(), backup.c_str()) != 0) {
    int err = errno;
    (void)::unlink(side.c_str());
    return err;
  }
  return 0;
}

std::string Absolute(const std::string& p) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(p, ec);
  return ec ? p : abs.lexically_normal().string();
}

}  // namespace

Result<std::unique_ptr<Backend>> LocalBackend::Create(const BackendConfig& config) {
  std::string path;
  for (const auto& [k, v] : config.values) {
    if (k == "path") {
      path = v;
    } else {
      return Status::Usage("unknown local backend setting \"" + k + "\" (the local backend takes only: path)");
    }
  }
  if (path.empty()) return Status::Usage("the local backend needs a state path: --state PATH or --backend-config path=PATH");
  return std::unique_ptr<Backend>(new LocalBackend(Absolute(path), Env::Default()));
}

LocalBackend::LocalBackend(std::string path, Env* env)
    : path_(std::move(path)), lock_path_(path_ + ".lock"), env_(env) {}

LocalBackend::~LocalBackend() {
  if (lock_fd_ >= 0) {
    // Released without Unlock (error path): clear our record so it is not mistaken for a holder.
    (void)::ftruncate(lock_fd_, 0);
    ::flock(lock_fd_, LOCK_UN);
    ::close(lock_fd_);
  }
}

Status LocalBackend::CheckNotSymlink(const std::string& p) const {
  struct stat st {};
  if (::lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    std::error_code ec;
    auto target = std::filesystem::canonical(p, ec);
    return Status::InvalidInput(p + " is a symbolic link; NIC replaces the state file atomically, which would replace the link, not its target")
        .WithSuggestion("pass the real path" + (ec ? std::string() : " (" + target.string() + ")") + " with --state");
  }
  return Status::OK();
}

Status LocalBackend::CheckDirectoryNotWorldWritable(const std::string& p) const {
  std::string dir = std::filesystem::path(p).parent_path().string();
  if (dir.empty()) dir = ".";
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return Status::OK();  // reported by the I/O itself
  if ((st.st_mode & S_IWOTH) != 0 && (st.st_mode & S_ISVTX) == 0) {
    return Status::Refused("the directory " + dir + " of " + p +
                           " is writable by every user and has no sticky bit, so any local user could replace "
                           "or delete the state or its lock; NIC refuses to use it")
        .WithDetail("directory", dir)
        .WithSuggestion("run `chmod o-w " + dir + "` (or `chmod +t " + dir +
                        "` for a shared directory), or keep the state in a directory only you can write");
  }
  return Status::OK();
}

Result<StateBlob> LocalBackend::ReadState() {
  NIC_RETURN_IF_ERROR(CheckNotSymlink(path_));
  NIC_RETURN_IF_ERROR(CheckDirectoryNotWorldWritable(path_));
  StateBlob blob;
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT) return blob;
    return Status::IOError("cannot stat " + path_ + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::InvalidInput(path_ + " is not a regular file");
  if (st.st_mode & 077) {
    Log(LogLevel::kWarn, path_ + " is readable by group or others (mode " +
                             std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                             std::to_string(st.st_mode & 7) + "); run: chmod 600 " + path_);
  }
  NIC_ASSIGN_OR_RETURN(blob.bytes, env_->ReadFile(path_));
  blob.exists = true;
  blob.version_token = TokenOf(blob.bytes);
  Remember(blob.bytes, blob.version_token);
  return blob;
}

std::string LocalBackend::TokenOf(std::string_view bytes) const {
  if (!known_token_.empty() && bytes == known_bytes_) return known_token_;
  return crypto::Sha256Hex(bytes);
}

void LocalBackend::Remember(std::string_view bytes, const std::string& token) {
  if (!known_token_.empty() && token == known_token_) return;  // already these bytes
  if (bytes.size() > kRememberMaxBytes) {
    known_bytes_ = std::string();
    known_token_.clear();
    return;
  }
  known_bytes_.assign(bytes.data(), bytes.size());
  known_token_ = token;
}

Result<LocalBackend::FileMatch> LocalBackend::CompareFile(const std::string& path, std::string_view expected) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return FileMatch::kMissing;
    return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  FileMatch result = FileMatch::kSame;
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != expected.size()) result = FileMatch::kDifferent;
  char buf[1 << 16];
  size_t off = 0;
  while (result == FileMatch::kSame) {
    ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status::IOError("reading " + path + ": " + std::strerror(err));
    }
    if (n == 0) {
      if (off != expected.size()) result = FileMatch::kDifferent;  // shrank since the fstat
      break;
    }
    const auto got = static_cast<size_t>(n);
    if (off + got > expected.size() || std::memcmp(buf, expected.data() + off, got) != 0) result = FileMatch::kDifferent;
    off += got;
  }
  ::close(fd);
  return result;
}

Result<std::string> LocalBackend::WriteState(std::string_view bytes, const WriteCondition& cond) {
  NIC_RETURN_IF_ERROR(CheckNotSymlink(path_));
  auto dir = std::filesystem::path(path_).parent_path().string();
  if (!dir.empty()) NIC_RETURN_IF_ERROR(env_->CreateDirs(dir));
  NIC_RETURN_IF_ERROR(CheckDirectoryNotWorldWritable(path_));
  bool exists = false;
  std::optional<std::string> current;  // the file's bytes, when they had to be read
  const std::optional<std::string>& want = cond.expected_version_token;
  if (want && !want->empty() && *want == known_token_) {
    // The expected version is the one remembered: the file must still hold exactly its bytes.
    // Compared in place, without a copy of the file or a hash of it.
    NIC_ASSIGN_OR_RETURN(FileMatch m, CompareFile(path_, known_bytes_));
    exists = m != FileMatch::kMissing;
    if (m != FileMatch::kSame) {
      return Status::Conflict("the state at " + path_ + " changed since it was read; refusing to overwrite the newer version");
    }
  } else {
    auto read = env_->ReadFile(path_);
    exists = read.ok();
    if (!exists && read.status().code() != ErrorCode::kNotFound) return read.status();
    if (exists) current = std::move(read).value();
    if (want) {
      if (want->empty() && exists) {
        return Status::Conflict("the state at " + path_ + " was created by another writer after it was read");
      }
      if (!want->empty() && (!exists || TokenOf(*current) != *want)) {
        return Status::Conflict("the state at " + path_ + " changed since it was read; refusing to overwrite the newer version");
      }
    }
  }
  if (exists) {
    const std::string backup = path_ + ".backup";
    int err = LinkBackup(path_, backup);
    if (err != 0) {
      // File systems without hard links (some network and FAT mounts): a synced copy.
      Log(LogLevel::kDebug, "hard-linking " + backup + " failed (" + std::strerror(err) + "); copying instead");
      if (!current) {
        NIC_ASSIGN_OR_RETURN(current, env_->ReadFile(path_));
      }
      NIC_RETURN_IF_ERROR(env_->WriteFileAtomic(backup, *current));
    }
  }
  // The only synced write of the cycle: temp file, fsync, rename, directory fsync.
  NIC_RETURN_IF_ERROR(env_->WriteFileAtomic(path_, bytes));
  std::string token = cond.bytes_sha256.empty() ? crypto::Sha256Hex(bytes) : cond.bytes_sha256;
  Remember(bytes, token);
  return token;
}

Status LocalBackend::Lock(const LockInfo& info) {
  if (lock_fd_ >= 0) return Status::Internal("the local backend already holds the lock " + held_id_);
  auto dir = std::filesystem::path(lock_path_).parent_path().string();
  if (!dir.empty()) NIC_RETURN_IF_ERROR(env_->CreateDirs(dir));
  NIC_RETURN_IF_ERROR(CheckNotSymlink(lock_path_));
  NIC_RETURN_IF_ERROR(CheckDirectoryNotWorldWritable(lock_path_));
  int fd = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::IOError("cannot open lock file " + lock_path_ + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err != EWOULDBLOCK) {
      ::close(fd);
      return Status::IOError("flock " + lock_path_ + ": " + std::strerror(err));
    }
    // The holder writes its record right after taking the flock; give it a moment.
    std::string rec;
    for (int i = 0; i < 20 && rec.empty(); ++i) {
      rec = ReadFd(fd);
      if (rec.empty()) env_->SleepMicros(5000);
    }
    ::close(fd);
    auto holder = LockInfo::FromJson(rec, lock_path_);
    if (!holder.ok()) {
      LockInfo unknown;
      unknown.id = "(unknown)";
      unknown.path = lock_path_;
      return LockHeldError(unknown, "local", env_);
    }
    return LockHeldError(holder.value(), "local", env_);
  }
  Status st = WriteLockRecord(fd, info.ToJson(), lock_path_);
  if (!st.ok()) {
    ::flock(fd, LOCK_UN);
    ::close(fd);
    return st;
  }
  lock_fd_ = fd;
  held_id_ = info.id;
  return Status::OK();
}

Status LocalBackend::Unlock(const std::string& lock_id) {
  if (lock_fd_ < 0 || lock_id != held_id_) {
    return Status::Conflict("cannot unlock " + lock_path_ + " with ID " + lock_id + ": this process does not hold that lock");
  }
  // Clear the record before releasing so no one reads a record of a lock nobody holds.
  (void)::ftruncate(lock_fd_, 0);
  ::flock(lock_fd_, LOCK_UN);
  ::close(lock_fd_);
  lock_fd_ = -1;
  held_id_.clear();
  return Status::OK();
}

Result<std::optional<LockInfo>> LocalBackend::CurrentLock() {
  int fd = ::open(lock_path_.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<LockInfo>();
    return Status::IOError("cannot open lock file " + lock_path_ + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
    ::flock(fd, LOCK_UN);
    ::close(fd);
    return std::optional<LockInfo>();
  }
  std::string rec = ReadFd(fd);
  ::close(fd);
  auto li = LockInfo::FromJson(rec, lock_path_);
  if (!li.ok()) return li.status();
  return std::optional<LockInfo>(li.value());
}

Status LocalBackend::ForceUnlock(const std::string& lock_id, LockInfo* released, std::string* matched) {
  int fd = ::open(lock_path_.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("the state at " + path_ + " is not locked (no lock file)");
    return Status::IOError("cannot open lock file " + lock_path_ + ": " + std::strerror(errno));
  }
  bool got = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  std::string rec = ReadFd(fd);
  if (rec.empty()) {
    if (got) ::flock(fd, LOCK_UN);
    ::close(fd);
    return Status::NotFound("the state at " + path_ + " is not locked");
  }
  auto holder = LockInfo::FromJson(rec, lock_path_);
  if (!holder.ok()) {
    if (got) {
      // A damaged record of a lock nobody holds: clearing it is always safe.
      (void)::ftruncate(fd, 0);
      ::flock(fd, LOCK_UN);
      ::close(fd);
      if (matched) *matched = "damaged stale record (no live holder)";
      return Status::OK();
    }
    ::close(fd);
    return holder.status();
  }
  if (released) *released = holder.value();
  if (holder->id != lock_id) {
    if (got) ::flock(fd, LOCK_UN);
    ::close(fd);
    return Status::Conflict("lock ID " + lock_id + " does not match the lock on " + path_ + " (held with ID " + holder->id + ")")
        .WithSuggestion("check the ID printed in the lock error and pass it exactly");
  }
  if (got) {
    // The holder is gone (the kernel released its flock); clean its stale record.
    (void)::ftruncate(fd, 0);
    ::flock(fd, LOCK_UN);
    ::close(fd);
    if (matched) *matched = "lock ID (stale record; holder process " + std::to_string(holder->pid) + " is gone)";
    return Status::OK();
  }
  ::close(fd);
  // A live process holds the flock. It cannot be broken from outside, and must not be: the
  // kernel releases it the moment that process exits.
  bool alive = holder->pid > 0 && (::kill(static_cast<pid_t>(holder->pid), 0) == 0 || errno == EPERM);
  Status st = Status::LockHeld("lock " + lock_id + " on " + path_ + " is held by " +
                               (alive ? "the live process PID " + std::to_string(holder->pid) : "another process") + " (" +
                               holder->who + ", operation \"" + holder->operation +
                               "\"); a local lock cannot be broken while its holder runs and is released automatically when that process exits");
  st.WithDetail("lock_id", holder->id).WithDetail("pid", std::to_string(holder->pid));
  if (alive) st.WithSuggestion("if that process is stuck, stop it: kill " + std::to_string(holder->pid));
  return st;
}

}  // namespace nic
