#include "nic/crypto.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>
#include <memory>

namespace nic::crypto {
namespace {

struct MdCtxFree { void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); } };

// SHA-256 fetched from the provider once. EVP_sha256() and HMAC() make OpenSSL 3 look the
// algorithm up again on every call (an implicit fetch); with SigV4 hashing and signing every
// request, that lookup cost more than the hashing itself.
const EVP_MD* FetchedSha256() {
  static const EVP_MD* md = [] {
    const EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return m != nullptr ? m : EVP_sha256();
  }();
  return md;
}

// One digest context per thread, re-initialised for each use.
EVP_MD_CTX* ThreadCtx() {
  static thread_local std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  return ctx.get();
}

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
struct PkeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
struct X509Free { void operator()(X509* x) const { X509_free(x); } };

}  // namespace

std::string Sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* c = ThreadCtx();
  EVP_DigestInit_ex(c, FetchedSha256(), nullptr);
  EVP_DigestUpdate(c, data.data(), data.size());
  EVP_DigestFinal_ex(c, out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}
std::string Md5(std::string_view data) { return Digest(EVP_md5(), data); }

struct Sha256Hasher::Ctx {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md{EVP_MD_CTX_new()};
};

Sha256Hasher::Sha256Hasher() : ctx_(new Ctx) { EVP_DigestInit_ex(ctx_->md.get(), FetchedSha256(), nullptr); }
Sha256Hasher::~Sha256Hasher() = default;
Sha256Hasher::Sha256Hasher(Sha256Hasher&&) noexcept = default;
Sha256Hasher& Sha256Hasher::operator=(Sha256Hasher&&) noexcept = default;

void Sha256Hasher::Update(std::string_view data) { EVP_DigestUpdate(ctx_->md.get(), data.data(), data.size()); }

Sha256Hasher Sha256Hasher::Fork() const {
  Sha256Hasher copy;
  EVP_MD_CTX_copy_ex(copy.ctx_->md.get(), ctx_->md.get());
  return copy;
}

std::string Sha256Hasher::FinalHex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->md.get(), out, &len);
  return HexEncode(std::string_view(reinterpret_cast<char*>(out), len));
}

// RFC 2104 over the fetched digest: H((K ^ opad) || H((K ^ ipad) || data)), K zero-padded to the
// 64-byte block (hashed first when longer).
std::string HmacSha256(std::string_view key, std::string_view data) {
  constexpr size_t kBlock = 64;
  unsigned char k[kBlock] = {0};
  unsigned char pad[kBlock];
  unsigned char inner[EVP_MAX_MD_SIZE];
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* c = ThreadCtx();
  const EVP_MD* md = FetchedSha256();
  if (key.size() > kBlock) {
    EVP_DigestInit_ex(c, md, nullptr);
    EVP_DigestUpdate(c, key.data(), key.size());
    EVP_DigestFinal_ex(c, k, &len);
  } else {
    std::memcpy(k, key.data(), key.size());
  }
  for (size_t i = 0; i < kBlock; ++i) pad[i] = static_cast<unsigned char>(k[i] ^ 0x36);
  EVP_DigestInit_ex(c, md, nullptr);
  EVP_DigestUpdate(c, pad, kBlock);
  EVP_DigestUpdate(c, data.data(), data.size());
  EVP_DigestFinal_ex(c, inner, &len);
  const unsigned int inner_len = len;
  for (size_t i = 0; i < kBlock; ++i) pad[i] = static_cast<unsigned char>(k[i] ^ 0x5c);
  EVP_DigestInit_ex(c, md, nullptr);
  EVP_DigestUpdate(c, pad, kBlock);
  EVP_DigestUpdate(c, inner, inner_len);
  EVP_DigestFinal_ex(c, out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string HexEncode(std::string_view raw) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string Base64Encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  std::string in;
  for (char c : text) {
    if (c != '\n' && c != '\r' && c != ' ') in += c;
  }
  if (in.size() % 4 != 0) return Status::InvalidInput("malformed base64 (length)");
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return Status::InvalidInput("malformed base64");
  size_t pad = 0;
  if (!in.empty() && in.back() == '=') ++pad;
  if (in.size() > 1 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string Base64UrlEncode(std::string_view raw) {
  std::string s = Base64Encode(raw);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return s;
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  std::string s(text);
  for (char& c : s) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
  }
  while (s.size() % 4 != 0) s += '=';
  return Base64Decode(s);
}

Result<std::string> RsaSha256Sign(std::string_view pem, std::string_view data) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<EVP_PKEY, PkeyFree> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::InvalidInput("the private key is not a readable PEM RSA key");
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return Status::Internal("RS256 signing failed");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return Status::Internal("RS256 signing failed");
  }
  sig.resize(len);
  return sig;
}

Result<bool> RsaSha256Verify(std::string_view pem, std::string_view data, std::string_view signature) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<EVP_PKEY, PkeyFree> key;
  if (pem.find("CERTIFICATE") != std::string_view::npos) {
    std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert) key.reset(X509_get_pubkey(cert.get()));
  } else {
    key.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  }
  if (!key) return Status::InvalidInput("not a readable PEM public key");
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) {
    return Status::Internal("RS256 verify init failed");
  }
  int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                            reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return rc == 1;
}

std::string Sha256Hex(std::string_view data) { return HexEncode(Sha256(data)); }
std::string Md5Hex(std::string_view data) { return HexEncode(Md5(data)); }

}  // namespace nic::crypto
