// The DynamoDB state lock, item for item as Terraform's s3 backend writes it, so an existing
// Terraform lock table works unchanged and a Terraform run and a NIC run exclude each other:
//
//   LockID = "<bucket>/<key>"   (the table's String partition key)
//   Info   = LockInfo JSON      (ID, Operation, Info, Who, Version, Created, Path)
//
// Lock is PutItem with ConditionExpression attribute_not_exists(LockID). Unlike Terraform,
// which reads the item, compares the ID and then deletes unconditionally (a window in which a
// new holder's lock can be deleted), unlock is one DeleteItem conditioned on the Info attribute
// being exactly the record that carries our ID.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "backends/s3/aws_calls.h"
#include "backends/s3/stored_lock.h"
#include "nic/lock.h"
#include "nic/status.h"

namespace nic::s3 {

class DynamoLock {
 public:
  DynamoLock(const AwsContext* ctx, std::string table, std::string lock_id);
  DynamoLock(const DynamoLock&) = delete;
  DynamoLock& operator=(const DynamoLock&) = delete;

  // kLockHeld (LockHeldError with the holder's LockInfo) when another holder has it.
  Status Lock(const LockInfo& info);
  // Deletes the item only if it still carries `lock_id`; kConflict when another holder has it.
  Status Unlock(const std::string& lock_id);
  // The lock item as stored now; nullopt when unlocked.
  Result<std::optional<StoredLock>> Read();
  // Deletes exactly `lock` (conditional on the Info read); kConflict if it changed meanwhile.
  Status Delete(const StoredLock& lock);

  const std::string& lock_id() const { return lock_id_; }
  std::string Where() const;

 private:
  Status ConditionalDelete(const std::string& info, const std::string& action, bool* condition_failed);

  const AwsContext* ctx_;
  std::string table_;
  std::string lock_id_;
  std::map<std::string, std::string> held_;  // our lock ID -> the exact Info we stored
};

// Parses a DynamoDB GetItem body into the string attribute `name` of its Item; nullopt when the
// item is absent, "" when the attribute is.
std::optional<std::string> ItemString(const std::string& get_item_body, const std::string& name, bool* item_present);

}  // namespace nic::s3
