// Journal: the deploy's crash-safety record, kept in the history database (table `journal`).
//
// Before each mutating cloud call NIC records an intent (address, action, client token); after
// the call, the result. A deploy that starts and finds intents still open knows a previous run
// died between a cloud call and its state write, and resolves them from live reads before
// planning: it adopts what was created instead of creating it again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nic/history.h"
#include "nic/state_encryption.h"
#include "nic/status.h"

namespace nic {

struct JournalEntry {
  int64_t id = 0;
  std::string run_id;
  std::string lineage;
  std::string address;
  std::string action;        // create | update | replace | delete | adopt
  std::string client_token;  // passed to the cloud so a retried create is idempotent
  std::string status;        // intent | done | failed | resolved
  std::string created_at;
  std::string detail;        // JSON: the desired resource (intent) or the result
};

// With state encryption configured, `detail` and results hold resource attributes copied from
// the state, so they are stored sealed the same way as the state (an envelope per entry);
// addresses, actions and tokens stay readable, as lineage and serial do in the envelope.
class Journal {
 public:
  explicit Journal(HistoryDb* db, StateEncryption* encryption = nullptr) : db_(db), encryption_(encryption) {}
  Result<int64_t> RecordIntent(const std::string& run_id, const std::string& lineage, const std::string& address,
                               const std::string& action, const std::string& client_token, const std::string& detail);
  Status MarkDone(int64_t id, const std::string& result);
  Status MarkFailed(int64_t id, const std::string& error);
  Status MarkResolved(int64_t id, const std::string& how);
  // Intents of `lineage` that never got a result (their run died mid-call).
  Result<std::vector<JournalEntry>> OpenIntents(const std::string& lineage);

 private:
  Status Finish(int64_t id, const char* status, const std::string& result);
  // What is stored for a detail/result: sealed when the state is written encrypted.
  Result<std::string> Seal(const std::string& text);
  HistoryDb* db_;
  StateEncryption* encryption_;
  std::string lineage_;  // bound into sealed entries (the deploy's state lineage)
};

}  // namespace nic
