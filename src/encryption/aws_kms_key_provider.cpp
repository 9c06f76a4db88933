// AWS KMS data keys for state encryption (envelope encryption, as OpenTofu's aws_kms provider):
// KMS wraps a per-lineage AES-256 data key; only the wrapped form is stored.
#include <openssl/crypto.h>

#include <map>
#include <mutex>

#include <nlohmann/json.hpp>

#include "nic/json_limits.h"
#include "nic/aws_error.h"
#include "nic/crypto.h"
#include "nic/state_encryption_config.h"

namespace nic {
namespace {

using json = nlohmann::json;

class AwsKmsKeyProvider final : public KeyProvider {
 public:
  explicit AwsKmsKeyProvider(AwsKmsKeyOptions o) : o_(std::move(o)) {}

  std::string kind() const override { return "aws_kms"; }
  std::string source() const override { return o_.source + " (" + o_.key_id + ")"; }

  Result<DataKey> KeyForWrite(const std::string& lineage) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = write_keys_.find(lineage);
    if (it != write_keys_.end()) return it->second;
    json body = {{"KeyId", o_.key_id}, {"KeySpec", "AES_256"}, {"EncryptionContext", Context(lineage)}};
    NIC_ASSIGN_OR_RETURN(json resp, Call("GenerateDataKey", body));
    auto plain = Field(resp, "Plaintext");
    auto blob = Field(resp, "CiphertextBlob");
    if (!plain.ok() || !blob.ok() || plain->size() != SecretKey::kSize) {
      if (plain.ok()) OPENSSL_cleanse(plain->data(), plain->size());
      return Status::InvalidInput("AWS KMS GenerateDataKey at " + o_.endpoint + " returned no usable 32-byte data key");
    }
    DataKey dk;
    dk.key = SecretKey(*plain);
    OPENSSL_cleanse(plain->data(), plain->size());
    dk.fields.key_provider = kind();
    dk.fields.key_id = resp.value("KeyId", o_.key_id);
    dk.fields.encrypted_data_key = *blob;
    write_keys_.emplace(lineage, dk);
    return dk;
  }

  Result<SecretKey> KeyForRead(const EnvelopeHeader& h) override {
    if (h.encrypted_data_key.empty()) {
      return Status::InvalidState("nic_encryption.encrypted_data_key is missing from an aws_kms envelope");
    }
    std::lock_guard<std::mutex> g(mu_);
    auto cached = read_keys_.find(h.encrypted_data_key + "\n" + h.lineage);
    if (cached != read_keys_.end()) return cached->second;
    json body = {{"KeyId", o_.key_id},
                 {"CiphertextBlob", crypto::Base64Encode(h.encrypted_data_key)},
                 {"EncryptionContext", Context(h.lineage)}};
    auto resp = Call("Decrypt", body);
    if (!resp.ok()) {
      const Status& st = resp.status();
      const std::string code = st.details().count("aws_code") ? st.details().at("aws_code") : "";
      if (code == "InvalidCiphertextException") {
        return Status::InvalidState("AWS KMS refused the state's wrapped data key as invalid ciphertext: the envelope's "
                                    "encrypted_data_key or lineage was modified or damaged (" + st.message() + ")")
            .WithSuggestion("nothing was written; restore an intact copy (backend object version, .backup, or nic state history)");
      }
      if (code == "IncorrectKeyException" || code == "AccessDeniedException" || code == "NotFoundException" ||
          st.code() == ErrorCode::kPermissionDenied || st.code() == ErrorCode::kNotFound) {
        // The data key was wrapped under another KMS key (or we may not use it): let the
        // caller try the fallback, then report every key it tried.
        return Status::Unauthenticated("AWS KMS key " + o_.key_id + " from " + o_.source +
                                       " cannot unwrap the state's data key (KMS Decrypt answered " +
                                       (code.empty() ? ErrorCodeName(st.code()) : code) + ")");
      }
      return st;
    }
    auto plain = Field(*resp, "Plaintext");
    if (!plain.ok() || plain->size() != SecretKey::kSize) {
      if (plain.ok()) OPENSSL_cleanse(plain->data(), plain->size());
      return Status::InvalidInput("AWS KMS Decrypt at " + o_.endpoint + " returned no usable 32-byte data key");
    }
    SecretKey key(*plain);
    OPENSSL_cleanse(plain->data(), plain->size());
    read_keys_.emplace(h.encrypted_data_key + "\n" + h.lineage, key);
    // Later writes of this lineage reuse the unwrapped key: no GenerateDataKey needed.
    DataKey dk;
    dk.key = key;
    dk.fields.key_provider = kind();
    dk.fields.key_id = resp->value("KeyId", h.key_id);
    dk.fields.encrypted_data_key = h.encrypted_data_key;
    write_keys_.emplace(h.lineage, dk);
    return key;
  }

 private:
  static json Context(const std::string& lineage) { return {{"nic_state_lineage", lineage}}; }

  static Result<std::string> Field(const json& j, const char* name) {
    if (!j.contains(name) || !j[name].is_string()) return Status::InvalidInput(std::string("missing ") + name);
    return crypto::Base64Decode(j[name].get<std::string>());
  }

  Result<json> Call(const std::string& operation, const json& body) {
    http::Request req = aws::JsonRequest(o_.endpoint, "TrentService." + operation, body.dump(), "1.1");
    req.service = "kms";
    // A repeated GenerateDataKey only mints another data key; Decrypt is a read.
    req.retry = http::RetryMode::kSafe;
    aws::SigV4Options sig;
    sig.region = o_.region;
    sig.service = "kms";
    aws::SigV4Authorizer signer(o_.credentials, sig);
    auto resp = http::SendWithRetry(*o_.transport, req, &signer, o_.retry);
    if (!resp.ok()) {
      Status st = resp.status();
      st.Prepend("AWS KMS " + operation + " at " + o_.endpoint + " for state encryption (" + o_.source + ")");
      if (st.code() == ErrorCode::kUnavailable || st.code() == ErrorCode::kTimeout) {
        st.WithSuggestion("check AWS_REGION and AWS_ENDPOINT_URL_KMS, and that this machine can reach KMS");
      }
      return st;
    }
    if (!resp->ok()) {
      Status st = aws::ErrorStatus(req, *resp);
      st.Prepend("state encryption key " + o_.key_id + " (" + o_.source + ")");
      if (st.code() == ErrorCode::kNotFound) {
        st.WithSuggestion("check " + o_.source + ": no such KMS key in region " + o_.region + " (or AWS_ENDPOINT_URL_KMS)");
      }
      return st;
    }
    json j = ParseJsonBounded(resp->body);
    if (!j.is_object()) return Status::InvalidInput("AWS KMS " + operation + " returned a body that is not JSON");
    return j;
  }

  AwsKmsKeyOptions o_;
  std::mutex mu_;
  std::map<std::string, DataKey> write_keys_;   // lineage -> data key for writes
  std::map<std::string, SecretKey> read_keys_;  // wrapped key + lineage -> unwrapped key
};

}  // namespace

Result<std::unique_ptr<KeyProvider>> NewAwsKmsKeyProvider(AwsKmsKeyOptions options) {
  if (options.key_id.empty()) return Status::Usage(options.source + " is empty; set it to a KMS key id, ARN or alias/NAME");
  if (!options.credentials || !options.transport) return Status::Internal("AWS KMS key provider without credentials or transport");
  if (options.region.empty()) return Status::Usage("AWS KMS state encryption needs a region: set AWS_REGION or NIC_STATE_KMS_REGION");
  std::unique_ptr<KeyProvider> p = std::make_unique<AwsKmsKeyProvider>(std::move(options));
  return p;
}

}  // namespace nic
