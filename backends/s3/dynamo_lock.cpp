#include "backends/s3/dynamo_lock.h"

#include "nic/env.h"
#include "nic/json_limits.h"
#include "nic/log.h"

namespace nic::s3 {

std::optional<std::string> ItemString(const std::string& body, const std::string& name, bool* item_present) {
  *item_present = false;
  auto j = ParseJsonBounded(body);
  if (j.is_discarded() || !j.is_object() || !j.contains("Item") || !j["Item"].is_object()) return std::nullopt;
  *item_present = true;
  const auto& item = j["Item"];
  if (!item.contains(name) || !item[name].is_object() || !item[name].contains("S") || !item[name]["S"].is_string()) {
    return std::string();
  }
  return item[name]["S"].get<std::string>();
}

DynamoLock::DynamoLock(const AwsContext* ctx, std::string table, std::string lock_id)
    : ctx_(ctx), table_(std::move(table)), lock_id_(std::move(lock_id)) {}

std::string DynamoLock::Where() const { return "lock item " + lock_id_ + " in DynamoDB table " + table_; }

Status DynamoLock::Lock(const LockInfo& info) {
  const Target target{"dynamodb", "the " + Where(), "", table_};
  const std::string json = info.ToJson();
  nlohmann::json body = {
      {"TableName", table_},
      {"Item", {{"LockID", {{"S", lock_id_}}}, {"Info", {{"S", json}}}}},
      {"ConditionExpression", "attribute_not_exists(#k)"},
      {"ExpressionAttributeNames", {{"#k", "LockID"}}},
  };
  // A holder may release between our failed PutItem and our read of its record; try again then.
  for (int attempt = 0; attempt < 3; ++attempt) {
    http::Request req = DynamoRequest(*ctx_, "PutItem", body);
    NIC_ASSIGN_OR_RETURN(http::Response resp, Send(*ctx_, req, target));
    if (resp.ok()) {
      held_[info.id] = json;
      return Status::OK();
    }
    if (AwsCode(resp) != "ConditionalCheckFailedException") return Failure(*ctx_, req, resp, target, "taking the state lock");
    NIC_ASSIGN_OR_RETURN(std::optional<StoredLock> current, Read());
    if (!current) continue;
    if (current->holder && current->holder->id == info.id) {
      // Our own PutItem landed on an attempt whose response was lost; the retry saw it.
      held_[info.id] = current->raw;
      return Status::OK();
    }
    if (!current->holder) {
      LockInfo unknown;
      unknown.id = lock_id_;  // force-unlock accepts the LockID for a damaged record
      unknown.path = Where();
      unknown.info = "damaged lock record: " + current->parse_error;
      return LockHeldError(unknown, "s3", ctx_->env);
    }
    return LockHeldError(*current->holder, "s3", ctx_->env);
  }
  return Status::LockHeld("s3 backend: the " + Where() + " kept changing hands while NIC tried to take it");
}

Result<std::optional<StoredLock>> DynamoLock::Read() {
  const Target target{"dynamodb", "the " + Where(), "", table_};
  nlohmann::json body = {{"TableName", table_}, {"Key", {{"LockID", {{"S", lock_id_}}}}}, {"ConsistentRead", true}};
  http::Request req = DynamoRequest(*ctx_, "GetItem", body);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(*ctx_, req, target));
  if (!resp.ok()) return Failure(*ctx_, req, resp, target, "reading the state lock");
  bool present = false;
  std::optional<std::string> info = ItemString(resp.body, "Info", &present);
  if (!present) return std::optional<StoredLock>();
  StoredLock lock;
  lock.raw = info.value_or("");
  lock.where = Where();
  if (lock.raw.empty()) {
    lock.parse_error = "the item has no Info attribute";
  } else {
    auto li = LockInfo::FromJson(lock.raw, Where());
    if (li.ok()) {
      lock.holder = li.value();
    } else {
      lock.parse_error = li.status().message();
    }
  }
  return std::optional<StoredLock>(std::move(lock));
}

Status DynamoLock::ConditionalDelete(const std::string& info, const std::string& action, bool* condition_failed) {
  *condition_failed = false;
  const Target target{"dynamodb", "the " + Where(), "", table_};
  nlohmann::json body = {{"TableName", table_}, {"Key", {{"LockID", {{"S", lock_id_}}}}}};
  if (info.empty()) {
    // A damaged record without Info, or with an empty one.
    body["ConditionExpression"] = "attribute_exists(#k) AND (attribute_not_exists(#i) OR #i = :info)";
    body["ExpressionAttributeNames"] = {{"#k", "LockID"}, {"#i", "Info"}};
    body["ExpressionAttributeValues"] = {{":info", {{"S", ""}}}};
  } else {
    body["ConditionExpression"] = "#i = :info";
    body["ExpressionAttributeNames"] = {{"#i", "Info"}};
    body["ExpressionAttributeValues"] = {{":info", {{"S", info}}}};
  }
  http::Request req = DynamoRequest(*ctx_, "DeleteItem", body);
  bool ambiguous = false;
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(*ctx_, req, target, &ambiguous));
  if (resp.ok()) return Status::OK();
  if (AwsCode(resp) == "ConditionalCheckFailedException") {
    // An earlier attempt whose reply was lost deleted our record; the item is gone or already
    // another holder's, as after any release.
    if (ambiguous && !info.empty()) return Status::OK();
    *condition_failed = true;
    return Status::Conflict("s3 backend: the " + Where() + " changed while " + action);
  }
  return Failure(*ctx_, req, resp, target, action);
}

Status DynamoLock::Unlock(const std::string& lock_id) {
  std::string info;
  if (auto it = held_.find(lock_id); it != held_.end()) {
    info = it->second;
  } else {
    NIC_ASSIGN_OR_RETURN(std::optional<StoredLock> current, Read());
    if (!current) return Status::Conflict("s3 backend: cannot unlock with ID " + lock_id + ": the " + Where() + " is not locked");
    if (!current->holder || current->holder->id != lock_id) {
      return Status::Conflict("s3 backend: cannot unlock with ID " + lock_id + ": the " + Where() + " is held by " +
                              DescribeHolder(current, false));
    }
    info = current->raw;
  }
  bool condition_failed = false;
  Status st = ConditionalDelete(info, "releasing the state lock", &condition_failed);
  if (st.ok()) {
    held_.erase(lock_id);
    return st;
  }
  if (!condition_failed) return st;
  // The item no longer carries our record: see what happened to say so precisely.
  NIC_ASSIGN_OR_RETURN(std::optional<StoredLock> now, Read());
  held_.erase(lock_id);
  return LostLockStatus(lock_id, now, " in the " + Where(), Where());
}

Status DynamoLock::Delete(const StoredLock& lock) {
  bool condition_failed = false;
  Status st = ConditionalDelete(lock.raw, "force-unlocking", &condition_failed);
  if (condition_failed) st.WithSuggestion("another process took or released the lock meanwhile; check with nic state show and retry");
  return st;
}

}  // namespace nic::s3
