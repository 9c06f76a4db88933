// The state digest item Terraform keeps in the lock table next to the lock:
//
//   LockID = "<bucket>/<key>-md5", Digest = hex MD5 of the state bytes
//
// Terraform added it when S3 reads were eventually consistent (hashicorp/terraform#14746): a
// reader that sees an object whose MD5 differs from the digest waits for S3 to catch up. NIC
// keeps it current after every write so that Terraform and NIC can share a bucket and table,
// and checks it on read the same way.
//
// A writer killed between its S3 PUT and the digest update would leave a mismatch that blocks
// every reader (Terraform has the same gap). So NIC first records the MD5 it is about to write
// as NicPendingDigest (an attribute Terraform ignores); the digest update after the PUT replaces
// the item and drops it. A reader accepts an object whose MD5 is the pending one: those are
// exactly the bytes an interrupted writer stored in full.
#pragma once

#include <string>

#include "backends/s3/aws_calls.h"
#include "nic/status.h"

namespace nic::s3 {

class StateDigest {
 public:
  StateDigest(const AwsContext* ctx, std::string table, std::string item_id);
  StateDigest(const StateDigest&) = delete;
  StateDigest& operator=(const StateDigest&) = delete;

  // The recorded digest; "" when there is no item (or no Digest), which accepts any state.
  // `pending` (when given) receives NicPendingDigest, or "".
  Result<std::string> Get(std::string* pending = nullptr);
  // Records the MD5 of a write about to be sent, keeping `current_digest` (the Digest read under
  // the lock; "" for none) as the Digest; kConflict when the item no longer holds that Digest.
  // A conditional PutItem, so the permissions Terraform documents for the lock table (GetItem,
  // PutItem, DeleteItem) stay enough.
  Status MarkPending(const std::string& md5_hex, const std::string& current_digest);
  // Sets Digest and drops any pending MD5.
  Status Put(const std::string& md5_hex);
  Status Remove();

  const std::string& item_id() const { return item_id_; }
  const std::string& table() const { return table_; }

 private:
  const AwsContext* ctx_;
  std::string table_;
  std::string item_id_;
};

}  // namespace nic::s3
