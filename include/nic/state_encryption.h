// Client-side state encryption: what the backend stores when a key is configured.
//
// Modelled on OpenTofu's state encryption (key providers + one method + a read-only fallback):
// the whole serialized state document is sealed with AES-256-GCM under a 256-bit key from a
// key provider, with a fresh random 96-bit nonce on every write. The stored bytes are a
// self-describing JSON envelope (schemas/nic-state-envelope.schema.json):
//
//   {"nic_encryption": {"version": 1, "method": "aes-256-gcm", "key_provider": "passphrase",
//                       "key_id": "...", "nonce": "<b64>", "lineage": "...", "serial": 7,
//                       "state_format_version": 1, "salt": "<b64>", "iterations": 600000, ...},
//    "ciphertext": "<b64 of ciphertext || 16-byte tag>"}
//
// The whole `nic_encryption` object (canonical JSON) is the GCM additional authenticated data,
// so changing any byte of the metadata (lineage, serial, key id, salt, wrapped data key) or of
// the ciphertext makes decryption fail. Lineage and serial stay readable so an operator can
// tell which state a blob is without the key.
//
// Every backend stores the envelope unchanged (it sits between StateManager and Backend), the
// local backend's .backup is a copy of it, and the history database records the envelope, so
// no plaintext of an encrypted state reaches disk.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nic/status.h"

namespace nic {

// A 256-bit key that wipes itself (OPENSSL_cleanse) when destroyed or overwritten.
class SecretKey {
 public:
  static constexpr size_t kSize = 32;
  SecretKey() = default;
  explicit SecretKey(std::string_view raw);  // raw.size() must be kSize
  SecretKey(const SecretKey& other);
  SecretKey& operator=(const SecretKey& other);
  ~SecretKey();
  const unsigned char* data() const { return bytes_.data(); }
  bool empty() const { return !set_; }

 private:
  std::array<unsigned char, kSize> bytes_{};
  bool set_ = false;
};

// The envelope's metadata: everything needed to find the key and check the ciphertext.
struct EnvelopeHeader {
  int version = 1;
  std::string method = "aes-256-gcm";
  std::string key_provider;  // "passphrase" | "raw_key" | "aws_kms"
  std::string key_id;        // passphrase/raw: key fingerprint; aws_kms: the KMS key ARN
  std::string nonce;         // raw 12 bytes
  std::string lineage;
  uint64_t serial = 0;
  int state_format_version = 0;
  // passphrase
  std::string kdf;      // "pbkdf2-hmac-sha512"
  std::string salt;     // raw bytes
  int64_t iterations = 0;
  // aws_kms
  std::string encrypted_data_key;  // raw CiphertextBlob
};

// A key ready for AES-256-GCM plus the header fields that let a reader find it again.
struct DataKey {
  SecretKey key;
  EnvelopeHeader fields;  // key_provider, key_id and the provider's own fields
};

// Where keys come from. One instance per configured key; implementations cache what they
// derive or unwrap so one command pays for PBKDF2 or a KMS call once.
class KeyProvider {
 public:
  virtual ~KeyProvider() = default;
  // "passphrase", "raw_key", "aws_kms": the envelope's key_provider value.
  virtual std::string kind() const = 0;
  // Where the key is configured, for messages ("NIC_STATE_PASSPHRASE"); never the key itself.
  virtual std::string source() const = 0;
  // A key to encrypt a new version of the state of `lineage`.
  virtual Result<DataKey> KeyForWrite(const std::string& lineage) = 0;
  // The key for an envelope this provider kind wrote. kUnauthenticated when this key is not
  // the one the envelope was sealed with (the caller then tries the fallback).
  virtual Result<SecretKey> KeyForRead(const EnvelopeHeader& header) = 0;
};

// Passphrase -> PBKDF2-HMAC-SHA512(passphrase, 16-byte random salt, iterations) -> 32 bytes.
// The salt and iteration count are stored in the envelope. Derived keys are cached per
// (salt, iterations); writes reuse the salt of the last state read with this passphrase, so a
// command derives once. `iterations` below kMinPbkdf2Iterations is refused.
inline constexpr int64_t kMinPbkdf2Iterations = 600000;
inline constexpr int64_t kMaxPbkdf2Iterations = 10000000;  // a stored count above this is refused (DoS)
inline constexpr size_t kMinPassphraseLength = 16;
Result<std::unique_ptr<KeyProvider>> NewPassphraseKeyProvider(std::string passphrase, std::string source,
                                                              int64_t iterations = kMinPbkdf2Iterations);
// How many PBKDF2 derivations passphrase providers ran in this process (tests check "once").
int64_t Pbkdf2DerivationCount();

// A raw 32-byte key given as 64 hex digits or base64. `source` names where it came from.
Result<std::unique_ptr<KeyProvider>> NewRawKeyProvider(std::string_view encoded, std::string source);

// The fingerprint stored as key_id for passphrase and raw keys: "hmac-sha256:" + 16 hex
// digits of HMAC-SHA256(key, "nic-state-key-id"). Lets a reader tell "wrong key" from
// "tampered" without revealing anything usable about the key.
std::string KeyFingerprint(const SecretKey& key);

// What a read found, for callers that report it.
struct DecodeInfo {
  bool encrypted = false;
  bool used_fallback = false;
  std::string key_provider;
  std::string key_id;
};

// The encryption layer StateManager runs every stored byte through.
struct StateEncryptionOptions {
  std::unique_ptr<KeyProvider> primary;   // writes use it; null = writes are plaintext
  std::unique_ptr<KeyProvider> fallback;  // read-only: the previous key during a rotation
  // Reading a plaintext state while `primary` is set is refused unless this is set
  // (`nic state encrypt`: the one migration path into encryption).
  bool allow_plaintext_read = false;
  // Writes are plaintext even with `primary` set, and may replace an encrypted state
  // (`nic state decrypt`: the one migration path out of encryption). Without it, writing
  // plaintext over a state that was encrypted is refused.
  bool write_plaintext = false;
};

class StateEncryption {
 public:
  explicit StateEncryption(StateEncryptionOptions options);
  StateEncryption(const StateEncryption&) = delete;
  StateEncryption& operator=(const StateEncryption&) = delete;

  bool writes_encrypted() const { return options_.primary != nullptr && !options_.write_plaintext; }
  bool configured() const { return options_.primary != nullptr || options_.fallback != nullptr; }
  void set_allow_plaintext_read(bool v) { options_.allow_plaintext_read = v; }
  void set_write_plaintext(bool v) { options_.write_plaintext = v; }
  const KeyProvider* primary() const { return options_.primary.get(); }
  const KeyProvider* fallback() const { return options_.fallback.get(); }

  // Stored bytes -> the plaintext document. Plaintext input passes through (or is refused, see
  // allow_plaintext_read). Errors: no key / wrong key -> kUnauthenticated (exit 9); tampered
  // or malformed envelope -> kInvalidState (exit 6); plaintext refused -> kRefused (exit 10).
  // `location` names the state in messages. `allow_plaintext` accepts plaintext regardless
  // (versions in the history database written before encryption was turned on).
  Result<std::string> Decode(std::string_view stored, const std::string& location, DecodeInfo* info = nullptr,
                             bool allow_plaintext = false);

  // The encrypted half of Decode, for bytes already known to be an envelope (IsEncryptedState):
  // the same errors, without testing the bytes again.
  Result<std::string> DecodeEnvelope(std::string_view stored, const std::string& location, DecodeInfo* info = nullptr);

  // The plaintext half of Decode without its copy: OK when a plaintext (not encrypted, see
  // IsEncryptedState) state may be read as it is, else Decode's kRefused. Lets a reader parse
  // the bytes where the backend put them.
  Status CheckPlaintextRead(const std::string& location, bool allow_plaintext = false) const;

  // Plaintext document -> what the backend stores (the envelope, or the plaintext unchanged
  // when no primary key is configured). `lineage`, `serial` and `format_version` are bound
  // into the authenticated metadata.
  Result<std::string> Encode(std::string_view plaintext, const std::string& lineage, uint64_t serial,
                             int format_version);

  // Checks a write is allowed: plaintext may not replace an encrypted state, and is never
  // written while only a fallback key is configured, unless write_plaintext (nic state decrypt).
  Status CheckPlaintextWrite(bool previous_was_encrypted, const std::string& location) const;

 private:
  StateEncryptionOptions options_;
};

// Whether `stored` is an encryption envelope (a JSON object with a "nic_encryption" member).
bool IsEncryptedState(std::string_view stored);

// Parses an envelope; kInvalidState naming the field when malformed. `ciphertext` gets the
// raw ciphertext || tag; `aad` the additional authenticated data: a fixed prefix and the
// canonical JSON of `nic_encryption` exactly as stored (members unknown to this NIC included).
Result<EnvelopeHeader> ParseEnvelope(std::string_view stored, const std::string& location, std::string* ciphertext,
                                     std::string* aad = nullptr);

// AES-256-GCM over `plaintext` with a fresh random nonce; returns the serialized envelope.
// Exposed for tests; StateEncryption::Encode is the normal entry.
Result<std::string> SealEnvelope(const SecretKey& key, EnvelopeHeader header, std::string_view plaintext);

}  // namespace nic
