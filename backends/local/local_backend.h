// The local backend (embedded default): the state is one file, locked with flock(2).
//
//   <path>          the state document, replaced atomically (temp + fsync + rename + dir fsync)
//   <path>.backup   the previous version, written before every replacement
//   <path>.lock     the flock target; while held it contains the holder's LockInfo JSON
//
// flock is released by the kernel when the holder dies, so a crash never leaves the state
// locked; a stale LockInfo record left behind is overwritten by the next holder or cleaned by
// `nic state unlock --force ID`. The lock file is never unlinked: unlinking a flock target lets
// two processes hold locks on different inodes of the same path.
#pragma once

#include <memory>
#include <string>

#include "nic/backend.h"

namespace nic {

class Env;

class LocalBackend : public Backend {
 public:
  // Config keys: path (required).
  static Result<std::unique_ptr<Backend>> Create(const BackendConfig& config);
  LocalBackend(std::string path, Env* env);
  ~LocalBackend() override;
  LocalBackend(const LocalBackend&) = delete;
  LocalBackend& operator=(const LocalBackend&) = delete;

  std::string Name() const override { return "local"; }
  std::string Location() const override { return path_; }

  Result<StateBlob> ReadState() override;
  Result<std::string> WriteState(std::string_view bytes, const WriteCondition& cond) override;
  Status Lock(const LockInfo& info) override;
  Status Unlock(const std::string& lock_id) override;
  Result<std::optional<LockInfo>> CurrentLock() override;
  Status ForceUnlock(const std::string& lock_id, LockInfo* released, std::string* matched) override;

  const std::string& lock_path() const { return lock_path_; }

 private:
  Status CheckNotSymlink(const std::string& p) const;
  // Refuses a state whose directory any user may write to without the sticky bit (as ssh's
  // StrictModes does for ~/.ssh): anyone could rename another file over the state or its lock.
  Status CheckDirectoryNotWorldWritable(const std::string& p) const;

  // The version token (sha256) of `bytes`, reusing the remembered digest when `bytes` are the
  // remembered version's, compared byte for byte (so the token is always the file's sha256).
  std::string TokenOf(std::string_view bytes) const;
  void Remember(std::string_view bytes, const std::string& token);
  enum class FileMatch { kMissing, kSame, kDifferent };
  // Whether the file at `path` holds exactly `expected`, read in chunks (no copy of the file).
  static Result<FileMatch> CompareFile(const std::string& path, std::string_view expected);

  std::string path_;
  std::string lock_path_;
  // The version this backend last read or wrote, and its token. A cycle reads the file, checks
  // it is unchanged before replacing it and reads it again in the next cycle: comparing against
  // these bytes is an order of magnitude cheaper than hashing the file each time. Only kept for
  // states up to kRememberMaxBytes, where the copy costs less memory than it saves time.
  static constexpr size_t kRememberMaxBytes = 8 << 20;
  std::string known_bytes_;
  std::string known_token_;
  Env* env_;
  int lock_fd_ = -1;
  std::string held_id_;
};

}  // namespace nic
