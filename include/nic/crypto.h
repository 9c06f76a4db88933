// Digests, HMAC, base64 and RSA signatures over OpenSSL: the one place NIC hashes or encodes
// bytes (state checksums, history digests, request signing, Content-MD5, lock records).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "nic/status.h"

namespace nic::crypto {

std::string Sha256(std::string_view data);                           // raw 32 bytes

// Incremental SHA-256: for data produced in pieces, and for several messages that share a
// prefix (hash the prefix once, Fork, finish each copy with its own tail).
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(Sha256Hasher&&) noexcept;
  Sha256Hasher& operator=(Sha256Hasher&&) noexcept;
  void Update(std::string_view data);
  Sha256Hasher Fork() const;  // an independent copy of the state so far
  std::string FinalHex();     // lower-case hex; the hasher is spent afterwards

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string Md5(std::string_view data);                              // raw 16 bytes
std::string HexEncode(std::string_view raw);                         // lower-case
std::string Sha256Hex(std::string_view data);                        // hex of Sha256
std::string Md5Hex(std::string_view data);                           // hex of Md5
std::string Base64Encode(std::string_view raw);
Result<std::string> Base64Decode(std::string_view text);
std::string Base64UrlEncode(std::string_view raw);  // no padding (JWT)
Result<std::string> Base64UrlDecode(std::string_view text);
// RSASSA-PKCS1-v1_5 with SHA-256 using a PEM private key (PKCS#8 or PKCS#1).
Result<std::string> RsaSha256Sign(std::string_view pem_private_key, std::string_view data);
// Verifies an RS256 signature with a PEM public key or certificate; for tests.
Result<bool> RsaSha256Verify(std::string_view pem_public_key, std::string_view data, std::string_view signature);

}  // namespace nic::crypto
