#include "nic/state_encryption.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <atomic>
#include <cctype>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "nic/json_limits.h"
#include "nic/crypto.h"

namespace nic {
namespace {

using json = nlohmann::json;

constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;
constexpr size_t kSaltSize = 16;
constexpr const char* kAadPrefix = "nic-state-encryption/v1\n";
constexpr const char* kKdfName = "pbkdf2-hmac-sha512";

std::atomic<int64_t> g_pbkdf2_derivations{0};

// A std::string that holds secret bytes and wipes them when it goes.
struct WipedString {
  std::string s;
  ~WipedString() {
    if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  }
};

Result<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return Status::Internal("the system random generator (RAND_bytes) failed; refusing to encrypt with a weak nonce or salt");
  }
  return out;
}

// The header as JSON: binary fields base64, provider fields only when set. std::map ordering
// makes dump() canonical, which is what the AAD is computed over.
json HeaderJson(const EnvelopeHeader& h) {
  json j = {{"version", h.version},
            {"method", h.method},
            {"key_provider", h.key_provider},
            {"key_id", h.key_id},
            {"nonce", crypto::Base64Encode(h.nonce)},
            {"lineage", h.lineage},
            {"serial", h.serial},
            {"state_format_version", h.state_format_version}};
  if (!h.kdf.empty()) j["kdf"] = h.kdf;
  if (!h.salt.empty()) j["salt"] = crypto::Base64Encode(h.salt);
  if (h.iterations != 0) j["iterations"] = h.iterations;
  if (!h.encrypted_data_key.empty()) j["encrypted_data_key"] = crypto::Base64Encode(h.encrypted_data_key);
  return j;
}

std::string Aad(const json& header) { return std::string(kAadPrefix) + header.dump(); }

struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};

Result<std::string> GcmSeal(const SecretKey& key, const std::string& nonce, const std::string& aad, std::string_view plaintext) {
  if (plaintext.size() > static_cast<size_t>(INT32_MAX) - kTagSize) return Status::InvalidInput("state document too large to encrypt");
  CipherCtx c;
  std::string out(plaintext.size() + kTagSize, '\0');
  int len = 0, total = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  bool ok = c.ctx != nullptr && EVP_EncryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) == 1 &&
            EVP_EncryptInit_ex(c.ctx, nullptr, nullptr, key.data(), reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
            EVP_EncryptUpdate(c.ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()), static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(c.ctx, o, &len, reinterpret_cast<const unsigned char*>(plaintext.data()), static_cast<int>(plaintext.size())) == 1;
  total = len;
  ok = ok && EVP_EncryptFinal_ex(c.ctx, o + total, &len) == 1;
  total += len;
  ok = ok && EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize), o + total) == 1;
  if (!ok) return Status::Internal("AES-256-GCM encryption failed in OpenSSL");
  out.resize(static_cast<size_t>(total) + kTagSize);
  return out;
}

// nullopt when the tag does not verify (wrong key, or ciphertext/metadata modified).
std::optional<std::string> GcmOpen(const SecretKey& key, const std::string& nonce, const std::string& aad, std::string_view sealed) {
  if (sealed.size() < kTagSize || sealed.size() > static_cast<size_t>(INT32_MAX)) return std::nullopt;
  const size_t n = sealed.size() - kTagSize;
  CipherCtx c;
  std::string out(n, '\0');
  int len = 0, total = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  std::string tag(sealed.substr(n));
  bool ok = c.ctx != nullptr && EVP_DecryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) == 1 &&
            EVP_DecryptInit_ex(c.ctx, nullptr, nullptr, key.data(), reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
            EVP_DecryptUpdate(c.ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()), static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(c.ctx, o, &len, reinterpret_cast<const unsigned char*>(sealed.data()), static_cast<int>(n)) == 1;
  total = len;
  ok = ok && EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), tag.data()) == 1;
  ok = ok && EVP_DecryptFinal_ex(c.ctx, o + total, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  out.resize(static_cast<size_t>(total + len));
  return out;
}

std::string KindWord(const std::string& kind) {
  if (kind == "passphrase") return "passphrase";
  if (kind == "raw_key") return "raw key";
  if (kind == "aws_kms") return "AWS KMS key";
  return kind + " key";
}

// Where to configure a key of `kind`; the names are the CLI's (state_encryption_config.h).
std::string HowToConfigure(const std::string& kind) {
  if (kind == "passphrase") return "NIC_STATE_PASSPHRASE (or NIC_STATE_FALLBACK_PASSPHRASE while rotating)";
  if (kind == "raw_key") return "NIC_STATE_KEY (or NIC_STATE_FALLBACK_KEY while rotating)";
  if (kind == "aws_kms") return "NIC_STATE_KMS_KEY_ID with AWS credentials (or NIC_STATE_FALLBACK_KMS_KEY_ID while rotating)";
  return "a key provider this NIC version supports";
}

// ---- passphrase ------------------------------------------------------------------------------

class PassphraseKeyProvider final : public KeyProvider {
 public:
  PassphraseKeyProvider(std::string passphrase, std::string source, int64_t iterations)
      : source_(std::move(source)), iterations_(iterations) {
    passphrase_.s = std::move(passphrase);
  }

  std::string kind() const override { return "passphrase"; }
  std::string source() const override { return source_; }

  Result<DataKey> KeyForWrite(const std::string& /*lineage*/) override {
    std::lock_guard<std::mutex> g(mu_);
    if (!write_salt_) {
      NIC_ASSIGN_OR_RETURN(std::string salt, RandomBytes(kSaltSize));
      write_salt_ = salt;
    }
    NIC_ASSIGN_OR_RETURN(SecretKey key, Derive(*write_salt_, iterations_));
    DataKey dk;
    dk.key = key;
    dk.fields.key_provider = kind();
    dk.fields.key_id = KeyFingerprint(key);
    dk.fields.kdf = kKdfName;
    dk.fields.salt = *write_salt_;
    dk.fields.iterations = iterations_;
    return dk;
  }

  Result<SecretKey> KeyForRead(const EnvelopeHeader& h) override {
    if (h.kdf != kKdfName) {
      return Status::InvalidState("nic_encryption.kdf is \"" + h.kdf + "\"; this NIC reads only " + kKdfName);
    }
    if (h.iterations < kMinPbkdf2Iterations || h.iterations > kMaxPbkdf2Iterations) {
      return Status::InvalidState("nic_encryption.iterations is " + std::to_string(h.iterations) + "; expected " +
                                  std::to_string(kMinPbkdf2Iterations) + " to " + std::to_string(kMaxPbkdf2Iterations));
    }
    if (h.salt.size() < kSaltSize) return Status::InvalidState("nic_encryption.salt is shorter than 16 bytes");
    std::lock_guard<std::mutex> g(mu_);
    NIC_ASSIGN_OR_RETURN(SecretKey key, Derive(h.salt, h.iterations));
    if (KeyFingerprint(key) != h.key_id) {
      return Status::Unauthenticated("the passphrase in " + source_ + " is not the one the state was encrypted with");
    }
    // Later writes in this command reuse this salt, so they need no second derivation.
    if (h.iterations == iterations_) write_salt_ = h.salt;
    return key;
  }

 private:
  Result<SecretKey> Derive(const std::string& salt, int64_t iterations) {
    std::string cache_key = salt + "/" + std::to_string(iterations);
    auto it = cache_.find(cache_key);
    if (it != cache_.end()) return it->second;
    unsigned char out[SecretKey::kSize];
    int rc = PKCS5_PBKDF2_HMAC(passphrase_.s.data(), static_cast<int>(passphrase_.s.size()),
                               reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                               static_cast<int>(iterations), EVP_sha512(), SecretKey::kSize, out);
    g_pbkdf2_derivations.fetch_add(1);
    if (rc != 1) {
      OPENSSL_cleanse(out, sizeof out);
      return Status::Internal("PBKDF2-HMAC-SHA512 failed in OpenSSL");
    }
    SecretKey key(std::string_view(reinterpret_cast<const char*>(out), sizeof out));
    OPENSSL_cleanse(out, sizeof out);
    cache_.emplace(cache_key, key);
    return key;
  }

  WipedString passphrase_;
  std::string source_;
  int64_t iterations_;
  std::mutex mu_;
  std::optional<std::string> write_salt_;
  std::map<std::string, SecretKey> cache_;
};

// ---- raw key ---------------------------------------------------------------------------------

class RawKeyProvider final : public KeyProvider {
 public:
  RawKeyProvider(SecretKey key, std::string source) : key_(std::move(key)), source_(std::move(source)) {}
  std::string kind() const override { return "raw_key"; }
  std::string source() const override { return source_; }
  Result<DataKey> KeyForWrite(const std::string& /*lineage*/) override {
    DataKey dk;
    dk.key = key_;
    dk.fields.key_provider = kind();
    dk.fields.key_id = KeyFingerprint(key_);
    return dk;
  }
  Result<SecretKey> KeyForRead(const EnvelopeHeader& h) override {
    if (KeyFingerprint(key_) != h.key_id) {
      return Status::Unauthenticated("the key in " + source_ + " (key id " + KeyFingerprint(key_) +
                                     ") is not the one the state was encrypted with");
    }
    return key_;
  }

 private:
  SecretKey key_;
  std::string source_;
};

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

// ---- SecretKey -------------------------------------------------------------------------------

SecretKey::SecretKey(std::string_view raw) {
  if (raw.size() == kSize) {
    std::memcpy(bytes_.data(), raw.data(), kSize);
    set_ = true;
  }
}
SecretKey::SecretKey(const SecretKey& other) : bytes_(other.bytes_), set_(other.set_) {}
SecretKey& SecretKey::operator=(const SecretKey& other) {
  if (this != &other) {
    OPENSSL_cleanse(bytes_.data(), kSize);
    bytes_ = other.bytes_;
    set_ = other.set_;
  }
  return *this;
}
SecretKey::~SecretKey() { OPENSSL_cleanse(bytes_.data(), kSize); }

std::string KeyFingerprint(const SecretKey& key) {
  std::string mac = crypto::HmacSha256(std::string_view(reinterpret_cast<const char*>(key.data()), SecretKey::kSize),
                                       "nic-state-key-id");
  return "hmac-sha256:" + crypto::HexEncode(mac).substr(0, 16);
}

int64_t Pbkdf2DerivationCount() { return g_pbkdf2_derivations.load(); }

Result<std::unique_ptr<KeyProvider>> NewPassphraseKeyProvider(std::string passphrase, std::string source, int64_t iterations) {
  if (passphrase.size() < kMinPassphraseLength) {
    OPENSSL_cleanse(passphrase.data(), passphrase.size());
    return Status::Usage(source + " is shorter than " + std::to_string(kMinPassphraseLength) +
                         " characters; use a longer passphrase (a random one from a password manager is best)");
  }
  if (iterations < kMinPbkdf2Iterations || iterations > kMaxPbkdf2Iterations) {
    OPENSSL_cleanse(passphrase.data(), passphrase.size());
    return Status::Usage("PBKDF2 iterations must be between " + std::to_string(kMinPbkdf2Iterations) + " and " +
                         std::to_string(kMaxPbkdf2Iterations) + ", not " + std::to_string(iterations));
  }
  std::unique_ptr<KeyProvider> p = std::make_unique<PassphraseKeyProvider>(std::move(passphrase), std::move(source), iterations);
  return p;
}

Result<std::unique_ptr<KeyProvider>> NewRawKeyProvider(std::string_view encoded, std::string source) {
  WipedString raw;
  std::string_view text = encoded;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.size() == 2 * SecretKey::kSize && IsHex(text)) {
    raw.s.resize(SecretKey::kSize);
    // Decoded by hand: no temporary strings holding key digits are left behind.
    auto nibble = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(static_cast<unsigned char>(c)) - 'a' + 10); };
    for (size_t i = 0; i < SecretKey::kSize; ++i) {
      raw.s[i] = static_cast<char>((nibble(text[2 * i]) << 4) | nibble(text[2 * i + 1]));
    }
  } else {
    auto decoded = crypto::Base64Decode(text);
    if (decoded.ok()) raw.s = std::move(decoded).value();
  }
  if (raw.s.size() != SecretKey::kSize) {
    // Never echo the value: it may be a real key with a typo.
    return Status::Usage(source + " must be a 32-byte key as 64 hex digits or base64 (e.g. from: openssl rand -base64 32)");
  }
  std::unique_ptr<KeyProvider> p = std::make_unique<RawKeyProvider>(SecretKey(raw.s), std::move(source));
  return p;
}

// ---- envelope --------------------------------------------------------------------------------

bool IsEncryptedState(std::string_view stored) {
  // Cheap test first: a plaintext state normally never contains the member name at all.
  // memmem rather than string_view::find: find scans for the first byte, '"', which is
  // everywhere in JSON, while glibc's memmem skips ahead on the whole needle.
  static constexpr std::string_view kMember = "\"nic_encryption\"";
  if (memmem(stored.data(), stored.size(), kMember.data(), kMember.size()) == nullptr) return false;
  json j = ParseJsonBounded(stored);
  return j.is_object() && j.contains("nic_encryption");
}

Result<EnvelopeHeader> ParseEnvelope(std::string_view stored, const std::string& location, std::string* ciphertext,
                                     std::string* aad) {
  auto bad = [&](const std::string& what) {
    return Status::InvalidState(location + ": the encrypted state envelope is damaged: " + what)
        .WithSuggestion("restore the state from the backend's previous version, the local .backup or nic state history");
  };
  json j = ParseJsonBounded(stored);
  if (!j.is_object() || !j.contains("nic_encryption") || !j["nic_encryption"].is_object()) return bad("not a JSON envelope");
  const json& m = j["nic_encryption"];
  EnvelopeHeader h;
  auto str = [&](const char* k, std::string* out, bool required, bool b64) -> Status {
    if (!m.contains(k)) return required ? bad(std::string("nic_encryption.") + k + " is missing") : Status::OK();
    if (!m[k].is_string()) return bad(std::string("nic_encryption.") + k + " must be a string");
    if (!b64) {
      *out = m[k].get<std::string>();
      return Status::OK();
    }
    auto d = crypto::Base64Decode(m[k].get<std::string>());
    if (!d.ok()) return bad(std::string("nic_encryption.") + k + " is not base64");
    *out = std::move(d).value();
    return Status::OK();
  };
  if (!m.contains("version") || !m["version"].is_number_integer()) return bad("nic_encryption.version must be an integer");
  h.version = m["version"].get<int>();
  if (h.version != 1) {
    return Status::InvalidState(location + ": the state is encrypted with envelope version " + std::to_string(h.version) +
                                ", which this NIC does not know")
        .WithSuggestion("upgrade NIC to the version that wrote the state");
  }
  NIC_RETURN_IF_ERROR(str("method", &h.method, true, false));
  if (h.method != "aes-256-gcm") return bad("nic_encryption.method \"" + h.method + "\" is not supported (only aes-256-gcm)");
  NIC_RETURN_IF_ERROR(str("key_provider", &h.key_provider, true, false));
  NIC_RETURN_IF_ERROR(str("key_id", &h.key_id, true, false));
  NIC_RETURN_IF_ERROR(str("nonce", &h.nonce, true, true));
  if (h.nonce.size() != kNonceSize) return bad("nic_encryption.nonce must be 12 bytes");
  NIC_RETURN_IF_ERROR(str("lineage", &h.lineage, true, false));
  if (!m.contains("serial") || !m["serial"].is_number_unsigned()) return bad("nic_encryption.serial must be a non-negative integer");
  h.serial = m["serial"].get<uint64_t>();
  if (m.contains("state_format_version")) {
    if (!m["state_format_version"].is_number_integer()) return bad("nic_encryption.state_format_version must be an integer");
    h.state_format_version = m["state_format_version"].get<int>();
  }
  NIC_RETURN_IF_ERROR(str("kdf", &h.kdf, false, false));
  NIC_RETURN_IF_ERROR(str("salt", &h.salt, false, true));
  if (m.contains("iterations")) {
    if (!m["iterations"].is_number_integer()) return bad("nic_encryption.iterations must be an integer");
    h.iterations = m["iterations"].get<int64_t>();
  }
  NIC_RETURN_IF_ERROR(str("encrypted_data_key", &h.encrypted_data_key, false, true));
  if (!j.contains("ciphertext") || !j["ciphertext"].is_string()) return bad("ciphertext is missing");
  auto ct = crypto::Base64Decode(j["ciphertext"].get<std::string>());
  if (!ct.ok()) return bad("ciphertext is not base64");
  if (ct->size() < kTagSize) return bad("ciphertext is shorter than the GCM tag");
  if (ciphertext != nullptr) *ciphertext = std::move(ct).value();
  if (aad != nullptr) *aad = Aad(m);
  return h;
}

Result<std::string> SealEnvelope(const SecretKey& key, EnvelopeHeader header, std::string_view plaintext) {
  if (key.empty()) return Status::Internal("encrypting the state without a key");
  NIC_ASSIGN_OR_RETURN(header.nonce, RandomBytes(kNonceSize));
  json h = HeaderJson(header);
  NIC_ASSIGN_OR_RETURN(std::string sealed, GcmSeal(key, header.nonce, Aad(h), plaintext));
  // Metadata first so `head` on the file shows which state and key it is.
  return "{\n  \"nic_encryption\": " + h.dump() + ",\n  \"ciphertext\": \"" + crypto::Base64Encode(sealed) + "\"\n}\n";
}

// ---- StateEncryption -------------------------------------------------------------------------

StateEncryption::StateEncryption(StateEncryptionOptions options) : options_(std::move(options)) {}

Status StateEncryption::CheckPlaintextRead(const std::string& location, bool allow_plaintext) const {
  if (options_.primary != nullptr && !options_.allow_plaintext_read && !allow_plaintext) {
    return Status::Refused("the state at " + location + " is not encrypted, but state encryption is configured (" +
                           options_.primary->source() + "); refusing to read it so it is not silently trusted")
        .WithSuggestion("to encrypt it now: nic state encrypt (same state options); it writes one new, encrypted serial")
        .WithSuggestion("or unset " + options_.primary->source() + " if this state is meant to stay unencrypted");
  }
  return Status::OK();
}

Result<std::string> StateEncryption::Decode(std::string_view stored, const std::string& location, DecodeInfo* info,
                                            bool allow_plaintext) {
  if (!IsEncryptedState(stored)) {
    if (info != nullptr) *info = DecodeInfo{};
    NIC_RETURN_IF_ERROR(CheckPlaintextRead(location, allow_plaintext));
    return std::string(stored);
  }
  return DecodeEnvelope(stored, location, info);
}

Result<std::string> StateEncryption::DecodeEnvelope(std::string_view stored, const std::string& location,
                                                    DecodeInfo* info) {
  DecodeInfo local;
  DecodeInfo& di = info ? *info : local;
  di = DecodeInfo{};
  std::string ciphertext, aad;
  NIC_ASSIGN_OR_RETURN(EnvelopeHeader h, ParseEnvelope(stored, location, &ciphertext, &aad));
  di.encrypted = true;
  di.key_provider = h.key_provider;
  di.key_id = h.key_id;
  const std::string what = "the state at " + location + " (lineage " + h.lineage + ", serial " + std::to_string(h.serial) +
                           ") is encrypted with " + KindWord(h.key_provider) + " " + h.key_id;
  std::vector<std::string> tried;
  KeyProvider* candidates[] = {options_.primary.get(), options_.fallback.get()};
  for (int i = 0; i < 2; ++i) {
    KeyProvider* p = candidates[i];
    if (p == nullptr) continue;
    if (p->kind() != h.key_provider) {
      tried.push_back(p->source() + " is a " + KindWord(p->kind()));
      continue;
    }
    auto key = p->KeyForRead(h);
    if (!key.ok()) {
      if (key.status().code() == ErrorCode::kUnauthenticated) {
        tried.push_back(key.status().message());
        continue;
      }
      Status st = key.status();
      return st.Prepend("decrypting the state at " + location);
    }
    // The AAD is what is stored, so any member added to or changed in nic_encryption fails.
    auto plain = GcmOpen(key.value(), h.nonce, aad, ciphertext);
    if (!plain) {
      return Status::InvalidState(what + ", and the key from " + p->source() +
                                  " matches its key id, but authentication failed: the ciphertext or its metadata "
                                  "(lineage, serial, key id, nonce) was modified or damaged")
          .WithSuggestion("nothing was written; restore an intact copy (backend object version, .backup, or nic state history)");
    }
    di.used_fallback = (i == 1);
    return std::move(*plain);
  }
  Status st = Status::Unauthenticated(what + "; " +
                                      (tried.empty() ? std::string("no state encryption key is configured")
                                                     : "no configured key opens it: " + [&] {
                                                         std::string s;
                                                         for (const auto& t : tried) s += (s.empty() ? "" : "; ") + t;
                                                         return s;
                                                       }()));
  st.WithDetail("key_provider", h.key_provider).WithDetail("key_id", h.key_id);
  st.WithSuggestion("set the key it was encrypted with: " + HowToConfigure(h.key_provider));
  st.WithSuggestion("nothing was read or written; see docs/BACKENDS.md, \"State encryption\"");
  return st;
}

Result<std::string> StateEncryption::Encode(std::string_view plaintext, const std::string& lineage, uint64_t serial,
                                            int format_version) {
  if (!writes_encrypted()) return std::string(plaintext);
  NIC_ASSIGN_OR_RETURN(DataKey dk, options_.primary->KeyForWrite(lineage));
  EnvelopeHeader h = dk.fields;
  h.version = 1;
  h.method = "aes-256-gcm";
  h.lineage = lineage;
  h.serial = serial;
  h.state_format_version = format_version;
  return SealEnvelope(dk.key, h, plaintext);
}

Status StateEncryption::CheckPlaintextWrite(bool previous_was_encrypted, const std::string& location) const {
  if (writes_encrypted() || options_.write_plaintext) return Status::OK();
  // A fallback key alone means "this state is encrypted": writing plaintext anywhere (over it,
  // or to a migration destination) must be asked for explicitly.
  if (!previous_was_encrypted && options_.fallback == nullptr) return Status::OK();
  return Status::Refused("the state at " + location + (previous_was_encrypted ? " is encrypted, but" : ":") +
                         " no primary encryption key is configured for writing (only a fallback key); refusing to "
                         "store the state unencrypted")
      .WithSuggestion("set the primary key (NIC_STATE_PASSPHRASE, NIC_STATE_KEY or NIC_STATE_KMS_KEY_ID); a fallback key "
                      "is only used for reading")
      .WithSuggestion("to store the state unencrypted on purpose: nic state decrypt");
}

}  // namespace nic
