#include "backends/s3/state_digest.h"

#include "backends/s3/dynamo_lock.h"

namespace nic::s3 {

StateDigest::StateDigest(const AwsContext* ctx, std::string table, std::string item_id)
    : ctx_(ctx), table_(std::move(table)), item_id_(std::move(item_id)) {}

Result<std::string> StateDigest::Get(std::string* pending) {
  const Target target{"dynamodb", "the digest item " + item_id_ + " in DynamoDB table " + table_, "", table_};
  nlohmann::json body = {{"TableName", table_}, {"Key", {{"LockID", {{"S", item_id_}}}}}, {"ConsistentRead", true}};
  http::Request req = DynamoRequest(*ctx_, "GetItem", body);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(*ctx_, req, target));
  if (!resp.ok()) return Failure(*ctx_, req, resp, target, "reading the state digest");
  bool present = false;
  if (pending != nullptr) *pending = ItemString(resp.body, "NicPendingDigest", &present).value_or("");
  return ItemString(resp.body, "Digest", &present).value_or("");
}

Status StateDigest::MarkPending(const std::string& md5_hex, const std::string& current_digest) {
  const Target target{"dynamodb", "the digest item " + item_id_ + " in DynamoDB table " + table_, "", table_};
  nlohmann::json item = {{"LockID", {{"S", item_id_}}}, {"NicPendingDigest", {{"S", md5_hex}}}};
  nlohmann::json body = {{"TableName", table_}, {"Item", item}, {"ExpressionAttributeNames", {{"#d", "Digest"}}}};
  // Conditional on the Digest read under the lock: a writer whose lock was broken must not put
  // back an old Digest over a newer writer's (its S3 PUT would be refused anyway).
  if (current_digest.empty()) {
    body["ConditionExpression"] = "attribute_not_exists(#d)";
  } else {
    body["Item"]["Digest"] = {{"S", current_digest}};
    body["ConditionExpression"] = "#d = :d";
    body["ExpressionAttributeValues"] = {{":d", {{"S", current_digest}}}};
  }
  http::Request req = DynamoRequest(*ctx_, "PutItem", body);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(*ctx_, req, target));
  if (resp.ok()) return Status::OK();
  if (AwsCode(resp) == "ConditionalCheckFailedException") {
    return Status::Conflict("s3 backend: refusing to write the state: the digest item " + item_id_ + " in DynamoDB table " +
                            table_ + " changed since the state was read, so another writer changed the state, and "
                            "overwriting would lose that newer state")
        .WithSuggestion("check nic state history and who held the lock, then run the command again");
  }
  return Failure(*ctx_, req, resp, target, "recording the digest of the state about to be written");
}

Status StateDigest::Put(const std::string& md5_hex) {
  const Target target{"dynamodb", "the digest item " + item_id_ + " in DynamoDB table " + table_, "", table_};
  nlohmann::json body = {{"TableName", table_}, {"Item", {{"LockID", {{"S", item_id_}}}, {"Digest", {{"S", md5_hex}}}}}};
  http::Request req = DynamoRequest(*ctx_, "PutItem", body);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(*ctx_, req, target));
  if (!resp.ok()) return Failure(*ctx_, req, resp, target, "updating the state digest");
  return Status::OK();
}

Status StateDigest::Remove() {
  const Target target{"dynamodb", "the digest item " + item_id_ + " in DynamoDB table " + table_, "", table_};
  nlohmann::json body = {{"TableName", table_}, {"Key", {{"LockID", {{"S", item_id_}}}}}};
  http::Request req = DynamoRequest(*ctx_, "DeleteItem", body);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(*ctx_, req, target));
  if (!resp.ok()) return Failure(*ctx_, req, resp, target, "removing the state digest");
  return Status::OK();
}

}  // namespace nic::s3
