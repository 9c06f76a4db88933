// State encryption configuration: the environment variables that choose the key providers,
// and the AWS KMS data-key provider (which needs the HTTP stack, so it lives outside nic_core).
//
// Keys are taken from the environment only, never from flags: a passphrase or key on the
// command line would be visible to every user through ps and land in shell history.
//
//   primary (writes; reads first)   fallback (reads only, during a key rotation)
//   NIC_STATE_PASSPHRASE            NIC_STATE_FALLBACK_PASSPHRASE
//   NIC_STATE_KEY                   NIC_STATE_FALLBACK_KEY        (32 bytes: 64 hex or base64)
//   NIC_STATE_KMS_KEY_ID            NIC_STATE_FALLBACK_KMS_KEY_ID (key id, ARN or alias/NAME)
//   NIC_STATE_PBKDF2_ITERATIONS     (default and minimum 600000)
//
// At most one primary and one fallback variable may be set. KMS uses the AWS credential chain,
// AWS_REGION / AWS_DEFAULT_REGION (or NIC_STATE_KMS_REGION) and AWS_ENDPOINT_URL_KMS /
// AWS_ENDPOINT_URL, as the other AWS clients do.
#pragma once

#include <memory>
#include <string>

#include "nic/auth.h"
#include "nic/aws_auth.h"
#include "nic/http.h"
#include "nic/retry.h"
#include "nic/state_encryption.h"
#include "nic/status.h"

namespace nic {

struct AwsKmsKeyOptions {
  std::string key_id;    // as configured: key id, ARN, alias/NAME or alias ARN
  std::string region;
  std::string endpoint;  // e.g. https://kms.us-west-2.amazonaws.com or a moto URL
  std::shared_ptr<aws::CredentialProvider> credentials;
  std::shared_ptr<http::Transport> transport;
  http::RetryOptions retry;
  std::string source = "NIC_STATE_KMS_KEY_ID";  // named in messages
};

// AWS KMS envelope encryption: GenerateDataKey (AES_256) once per lineage per process, the
// wrapped key stored in the envelope as encrypted_data_key, Decrypt on read (with KeyId, so a
// state sealed under another KMS key fails with a clear error). The state lineage is passed as
// the KMS encryption context {"nic_state_lineage": LINEAGE}.
Result<std::unique_ptr<KeyProvider>> NewAwsKmsKeyProvider(AwsKmsKeyOptions options);

// Reads the variables above through `env`. Returns null when none is set (no encryption).
// `transport` is used for KMS (a curl transport is made when null). Usage errors name the
// variable and never echo its value.
Result<std::unique_ptr<StateEncryption>> StateEncryptionFromEnv(const auth::EnvLookup& env,
                                                                std::shared_ptr<http::Transport> transport = nullptr);

}  // namespace nic
