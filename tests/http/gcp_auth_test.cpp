// Google service-account JWTs, verified with the public key (independently of NIC's signer),
// the token exchange against a local token_uri that itself checks the signature, the metadata
// server, GOOGLE_OAUTH_ACCESS_TOKEN and STORAGE_EMULATOR_HOST.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "nic/gcp_auth.h"
#include "tests/support/local_http_server.h"
#include "tests/support/process.h"

namespace nic {
namespace {

using nlohmann::json;
using testing::LocalHttpServer;
using testing::ReceivedRequest;
using testing::ScriptedResponse;

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

KeyPair GenerateRsaKey() {
  EVP_PKEY* pkey = EVP_RSA_gen(2048);
  BIO* priv = BIO_new(BIO_s_mem());
  BIO* pub = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(priv, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  PEM_write_bio_PUBKEY(pub, pkey);
  auto read = [](BIO* b) {
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    return std::string(data, static_cast<size_t>(n));
  };
  KeyPair k{read(priv), read(pub)};
  BIO_free(priv);
  BIO_free(pub);
  EVP_PKEY_free(pkey);
  return k;
}

std::string B64UrlDecode(std::string s) {
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4) s += '=';
  std::string out(s.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(s.data()),
                          static_cast<int>(s.size()));
  size_t pad = s.size() >= 2 ? (s[s.size() - 1] == '=') + (s[s.size() - 2] == '=') : 0;
  out.resize(static_cast<size_t>(std::max(0, n)) - pad);
  return out;
}

// Verifies an RS256 JWT with the public key using OpenSSL directly.
bool VerifyJwt(const std::string& jwt, const std::string& public_pem, json* claims) {
  size_t d1 = jwt.find('.'), d2 = jwt.rfind('.');
  if (d1 == std::string::npos || d1 == d2) return false;
  std::string input = jwt.substr(0, d2);
  std::string sig = B64UrlDecode(jwt.substr(d2 + 1));
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = key != nullptr && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  if (ok && claims != nullptr) *claims = json::parse(B64UrlDecode(jwt.substr(d1 + 1, d2 - d1 - 1)));
  return ok;
}

std::string KeyJson(const KeyPair& k, const std::string& token_uri) {
  return json{{"type", "service_account"},
              {"project_id", "nebari-dev"},
              {"private_key_id", "kid-123"},
              {"private_key", k.private_pem},
              {"client_email", "nic@nebari-dev.iam.gserviceaccount.com"},
              {"token_uri", token_uri}}
      .dump();
}

const KeyPair& TestKey() {
  static const KeyPair k = GenerateRsaKey();
  return k;
}

TEST(GcpJwt, SignatureVerifiesWithPublicKeyAndClaimsAreRight) {
  auto key = gcp::ParseServiceAccountKey(KeyJson(TestKey(), "https://oauth2.googleapis.com/token"));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  auto jwt = gcp::MakeServiceAccountJwt(*key, gcp::kStorageScope, 1'700'000'000);
  ASSERT_TRUE(jwt.ok()) << jwt.status().ToString();
  json claims;
  ASSERT_TRUE(VerifyJwt(*jwt, TestKey().public_pem, &claims));
  EXPECT_EQ(claims["iss"], "nic@nebari-dev.iam.gserviceaccount.com");
  EXPECT_EQ(claims["aud"], "https://oauth2.googleapis.com/token");
  EXPECT_EQ(claims["scope"], gcp::kStorageScope);
  EXPECT_EQ(claims["iat"], 1'700'000'000);
  EXPECT_EQ(claims["exp"], 1'700'003'600);
  json header = json::parse(B64UrlDecode(jwt->substr(0, jwt->find('.'))));
  EXPECT_EQ(header["alg"], "RS256");
  EXPECT_EQ(header["kid"], "kid-123");

  // Tampering breaks verification; another key does not verify.
  std::string tampered = *jwt;
  tampered[tampered.find('.') + 5] ^= 1;
  EXPECT_FALSE(VerifyJwt(tampered, TestKey().public_pem, nullptr));
  EXPECT_FALSE(VerifyJwt(*jwt, GenerateRsaKey().public_pem, nullptr));
}

TEST(GcpJwt, BadKeyFilesAreClearErrorsWithoutSecrets) {
  auto user = gcp::ParseServiceAccountKey(R"({"type":"authorized_user","refresh_token":"rt-canary"})");
  ASSERT_FALSE(user.ok());
  EXPECT_EQ(user.status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(user.status().message().find("rt-canary"), std::string::npos);
  gcp::ServiceAccountKey broken{"a@b", "-----BEGIN PRIVATE KEY-----\nnot-a-key-canary\n-----END PRIVATE KEY-----\n", "", "https://x", ""};
  auto jwt = gcp::MakeServiceAccountJwt(broken, gcp::kStorageScope, 1);
  ASSERT_FALSE(jwt.ok());
  EXPECT_EQ(jwt.status().message().find("not-a-key-canary"), std::string::npos);
}

TEST(GcpAuth, ServiceAccountTokenExchangeAndCaching) {
  LocalHttpServer token_server([](const ReceivedRequest& r) {
    // The fake token_uri checks the assertion like Google does: signature and audience.
    std::string prefix = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
    if (r.body.rfind(prefix, 0) != 0) return ScriptedResponse{400, {}, R"({"error":"unsupported_grant_type"})", false};
    json claims;
    if (!VerifyJwt(r.body.substr(prefix.size()), TestKey().public_pem, &claims)) {
      return ScriptedResponse{400, {}, R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})", false};
    }
    return ScriptedResponse{200, {{"Content-Type", "application/json"}},
                            R"({"access_token":"ya29.test-token","expires_in":3599,"token_type":"Bearer"})", false};
  });
  testing::TempDir dir;
  std::string key_path = dir.Write("sa.json", KeyJson(TestKey(), token_server.url("/token")));
  auto t = http::NewCurlTransport();
  int64_t now = 2'000'000'000;
  gcp::DefaultOptions o;
  o.env = auth::MapEnv({{"GOOGLE_APPLICATION_CREDENTIALS", key_path}});
  o.transport = t.get();
  o.clock = [&now] { return now; };
  auto ga = gcp::DefaultGoogleAuth(o);
  ASSERT_TRUE(ga.ok()) << ga.status().ToString();
  EXPECT_EQ(ga->description, "service account nic@nebari-dev.iam.gserviceaccount.com");
  http::Request req;
  req.url = "https://storage.googleapis.com/storage/v1/b/x/o";
  ASSERT_TRUE(ga->authorizer->Authorize(req).ok());
  EXPECT_EQ(req.headers.GetOr("Authorization"), "Bearer ya29.test-token");
  ASSERT_TRUE(ga->authorizer->Authorize(req).ok());
  EXPECT_EQ(token_server.request_count(), 1u);  // cached
  now += 3500;                                  // within 5 minutes of expiry
  ASSERT_TRUE(ga->authorizer->Authorize(req).ok());
  EXPECT_EQ(token_server.request_count(), 2u);

  // A key the server does not trust: kUnauthenticated with Google's reason.
  testing::TempDir dir2;
  KeyPair other = GenerateRsaKey();
  o.env = auth::MapEnv({{"GOOGLE_CREDENTIALS", KeyJson(other, token_server.url("/token"))}});
  auto bad = gcp::DefaultGoogleAuth(o);
  ASSERT_TRUE(bad.ok());
  Status st = bad->authorizer->Authorize(req);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kUnauthenticated) << st.ToString();
  EXPECT_NE(st.message().find("invalid_grant"), std::string::npos) << st.message();
}

TEST(GcpAuth, MetadataServerToken) {
  LocalHttpServer md([](const ReceivedRequest& r) {
    if (r.headers.count("metadata-flavor") == 0 || r.headers.at("metadata-flavor") != "Google") {
      return ScriptedResponse{403, {}, "", false};
    }
    if (r.target != "/computeMetadata/v1/instance/service-accounts/default/token") return ScriptedResponse{404, {}, "", false};
    return ScriptedResponse{200, {}, R"({"access_token":"ya29.metadata","expires_in":1800,"token_type":"Bearer"})", false};
  });
  auto t = http::NewCurlTransport();
  gcp::DefaultOptions o;
  o.env = auth::MapEnv({{"GCE_METADATA_HOST", "127.0.0.1:" + std::to_string(md.port())}});
  o.transport = t.get();
  auto ga = gcp::DefaultGoogleAuth(o);
  ASSERT_TRUE(ga.ok());
  http::Request req;
  req.url = "https://container.googleapis.com/v1/x";
  ASSERT_TRUE(ga->authorizer->Authorize(req).ok());
  EXPECT_EQ(req.headers.GetOr("Authorization"), "Bearer ya29.metadata");
}

TEST(GcpAuth, AccessTokenEnvAndStorageEmulator) {
  gcp::DefaultOptions o;
  o.env = auth::MapEnv({{"GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.fixed"}, {"STORAGE_EMULATOR_HOST", "127.0.0.1:9199"}});
  auto ga = gcp::DefaultGoogleAuth(o);
  ASSERT_TRUE(ga.ok());
  http::Request req;
  req.url = "https://www.googleapis.com/x";
  ASSERT_TRUE(ga->authorizer->Authorize(req).ok());
  EXPECT_EQ(req.headers.GetOr("Authorization"), "Bearer ya29.fixed");
  EXPECT_EQ(ga->storage_endpoint, "https://storage.googleapis.com");

  o.for_storage = true;
  auto emu = gcp::DefaultGoogleAuth(o);
  ASSERT_TRUE(emu.ok());
  EXPECT_EQ(emu->storage_endpoint, "http://127.0.0.1:9199");
  http::Request plain;
  plain.url = emu->storage_endpoint + "/storage/v1/b/tfstate/o";
  ASSERT_TRUE(emu->authorizer->Authorize(plain).ok());
  EXPECT_FALSE(plain.headers.Has("Authorization"));
}

}  // namespace
}  // namespace nic
