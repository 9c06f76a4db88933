#include "tests/support/soak.h"

#include <fcntl.h>
#include <unistd.h>

#include <optional>
#include <sstream>

#include "nic/env.h"
#include "nic/history.h"
#include "nic/state_manager.h"
#include "tests/support/test_util.h"

namespace nic::testing {

Status AppendLine(const std::string& path, const std::string& line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot open journal " + path);
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  return ok ? Status::OK() : Status::IOError("cannot write journal " + path);
}

Status SoakCycle(Backend* backend, const std::string& history_path, const std::string& journal,
                 int64_t lock_timeout_micros, bool create_if_missing, uint64_t* committed_serial) {
  NIC_ASSIGN_OR_RETURN(auto history, HistoryDb::Open(history_path));
  StateManagerOptions opts;
  opts.lock_timeout_micros = lock_timeout_micros;
  opts.history = history.get();
  StateManager mgr(backend, opts);
  NIC_ASSIGN_OR_RETURN(std::string id, mgr.Lock("soak cycle"));
  const std::string pid = std::to_string(::getpid());
  NIC_RETURN_IF_ERROR(AppendLine(journal, "B " + pid + "\n"));
  Status st = [&]() -> Status {
    NIC_ASSIGN_OR_RETURN(std::optional<StateDocument> cur, mgr.Read());
    if (!cur && !create_if_missing) return Status::Internal("the seeded state vanished");
    StateDocument doc = cur ? *cur : StateDocument::NewEmpty("aws", "contention", "us-west-2", Env::Default()->NowMicros());
    doc.metadata.deploy_count += 1;
    NIC_RETURN_IF_ERROR(mgr.Persist(doc, "soak cycle"));
    if (committed_serial != nullptr) *committed_serial = doc.serial;
    return Status::OK();
  }();
  // The hold ends in the journal before the lock is released (here or by mgr's destructor).
  NIC_RETURN_IF_ERROR(AppendLine(journal, "E " + pid + "\n"));
  NIC_RETURN_IF_ERROR(st);
  return mgr.Unlock();
}

::testing::AssertionResult ExclusiveHolds(const std::string& journal, int* pairs) {
  std::istringstream in(ReadFileOrDie(journal));
  std::string kind, pid, kind2, pid2;
  *pairs = 0;
  while (in >> kind >> pid) {
    if (kind != "B") return ::testing::AssertionFailure() << "journal line " << *pairs * 2 + 1 << " is \"" << kind << "\", not B";
    if (!(in >> kind2 >> pid2)) return ::testing::AssertionFailure() << "hold of pid " << pid << " never ended";
    if (kind2 != "E" || pid != pid2) {
      return ::testing::AssertionFailure() << "two lock holders overlapped: B " << pid << " followed by " << kind2 << " " << pid2;
    }
    ++*pairs;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace nic::testing
