#include <openssl/crypto.h>

#include <cstdlib>

#include "nic/state_encryption_config.h"

namespace nic {
namespace {

struct Role {
  const char* prefix;  // "NIC_STATE_" or "NIC_STATE_FALLBACK_"
  const char* what;    // "primary" or "fallback"
};

Result<std::unique_ptr<KeyProvider>> ProviderFor(const Role& role, const auth::EnvLookup& env, int64_t iterations,
                                                 std::shared_ptr<http::Transport>& transport) {
  const std::string pass_var = std::string(role.prefix) + "PASSPHRASE";
  const std::string key_var = std::string(role.prefix) + "KEY";
  const std::string kms_var = std::string(role.prefix) + "KMS_KEY_ID";
  auto pass = env(pass_var);
  auto key = env(key_var);
  auto kms = env(kms_var);
  int set = (pass ? 1 : 0) + (key ? 1 : 0) + (kms ? 1 : 0);
  if (set > 1) {
    if (pass) OPENSSL_cleanse(pass->data(), pass->size());
    if (key) OPENSSL_cleanse(key->data(), key->size());
    return Status::Usage(std::string("more than one ") + role.what + " state encryption key is set (" + pass_var + ", " +
                         key_var + ", " + kms_var + "); set exactly one");
  }
  if (pass) return NewPassphraseKeyProvider(std::move(*pass), pass_var, iterations);
  if (key) {
    auto p = NewRawKeyProvider(*key, key_var);
    OPENSSL_cleanse(key->data(), key->size());
    return p;
  }
  if (kms) {
    AwsKmsKeyOptions o;
    o.key_id = *kms;
    o.source = kms_var;
    if (auto r = env("NIC_STATE_KMS_REGION")) {
      o.region = *r;
    } else if (auto rr = aws::ResolveRegion(env); rr.ok()) {
      o.region = rr.value();
    }
    if (o.region.empty()) return Status::Usage(kms_var + " is set but no AWS region is: set AWS_REGION or NIC_STATE_KMS_REGION");
    o.endpoint = aws::ResolveEndpoint("kms", o.region, env);
    if (!transport) transport = std::shared_ptr<http::Transport>(http::NewCurlTransport());
    o.transport = transport;
    aws::ChainOptions chain;
    chain.env = env;
    chain.transport = transport.get();
    o.credentials = std::shared_ptr<aws::CredentialProvider>(aws::NewDefaultCredentialChain(chain));
    return NewAwsKmsKeyProvider(std::move(o));
  }
  return std::unique_ptr<KeyProvider>();
}

}  // namespace

Result<std::unique_ptr<StateEncryption>> StateEncryptionFromEnv(const auth::EnvLookup& env,
                                                                std::shared_ptr<http::Transport> transport) {
  int64_t iterations = kMinPbkdf2Iterations;
  if (auto it = env("NIC_STATE_PBKDF2_ITERATIONS")) {
    char* end = nullptr;
    long long v = std::strtoll(it->c_str(), &end, 10);
    if (end == it->c_str() || *end != '\0' || v < kMinPbkdf2Iterations || v > kMaxPbkdf2Iterations) {
      return Status::Usage("NIC_STATE_PBKDF2_ITERATIONS=\"" + *it + "\" must be a whole number from " +
                           std::to_string(kMinPbkdf2Iterations) + " to " + std::to_string(kMaxPbkdf2Iterations));
    }
    iterations = v;
  }
  StateEncryptionOptions o;
  NIC_ASSIGN_OR_RETURN(o.primary, ProviderFor({"NIC_STATE_", "primary"}, env, iterations, transport));
  NIC_ASSIGN_OR_RETURN(o.fallback, ProviderFor({"NIC_STATE_FALLBACK_", "fallback"}, env, iterations, transport));
  if (!o.primary && !o.fallback) return std::unique_ptr<StateEncryption>();
  return std::make_unique<StateEncryption>(std::move(o));
}

}  // namespace nic
