// Azure Storage SharedKey and SAS against Azurite (which verifies signatures), connection
// strings, and Entra client-credentials against a local token endpoint.
#include <gtest/gtest.h>

#include <ctime>

#include "nic/azure_auth.h"
#include "nic/retry.h"
#include "tests/support/azurite.h"
#include "tests/support/local_http_server.h"

namespace nic {
namespace {

using testing::LocalHttpServer;
using testing::ReceivedRequest;
using testing::ScriptedResponse;

class AzuriteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto a = testing::Azurite::Start();
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    azurite_ = std::move(a).value().release();
    transport_ = http::NewCurlTransport().release();
  }
  static void TearDownTestSuite() {
    delete transport_;
    delete azurite_;
  }

  static azure::StorageAccount Account(const std::string& key = testing::Azurite::kKey) {
    auto a = azure::ParseConnectionString(azurite_->connection_string());
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    azure::StorageAccount acct = *a;
    acct.key = key;
    return acct;
  }

  static Result<http::Response> Send(http::Request req, const azure::StorageAccount& acct) {
    azure::StorageAuthorizer auth(acct);
    req.service = "azure-blob";
    return http::SendWithRetry(*transport_, req, &auth);
  }

  static http::Request PutBlob(const std::string& container, const std::string& blob, const std::string& body) {
    http::Request r;
    r.method = "PUT";
    r.url = azurite_->blob_endpoint() + "/" + container + "/" + http::UriEncode(blob, true);
    r.headers.Set("x-ms-blob-type", "BlockBlob");
    r.headers.Set("Content-Type", "application/octet-stream");
    r.body = body;
    return r;
  }

  static testing::Azurite* azurite_;
  static http::Transport* transport_;
};

testing::Azurite* AzuriteTest::azurite_ = nullptr;
http::Transport* AzuriteTest::transport_ = nullptr;

TEST_F(AzuriteTest, SharedKeyGoodKeyCreatesWritesReadsAndLists) {
  auto acct = Account();
  http::Request mk;
  mk.method = "PUT";
  mk.url = azurite_->blob_endpoint() + "/tfstate?restype=container";
  auto r = Send(mk, acct);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->status, 201) << r->body;

  auto put = PutBlob("tfstate", "env/dev state.json", R"({"serial":3})");
  put.headers.Set("If-None-Match", "*");
  r = Send(put, acct);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 201) << r->body;
  // The precondition is signed and enforced: a second create-only put conflicts.
  r = Send(put, acct);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 409);
  Status st = azure::StorageErrorStatus(put, *r);
  EXPECT_EQ(st.code(), ErrorCode::kConflict) << st.ToString();
  EXPECT_EQ(st.details().at("azure_code"), "BlobAlreadyExists");

  http::Request get;
  get.url = put.url;
  r = Send(get, acct);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, put.body);

  http::Request list;
  list.url = azurite_->blob_endpoint() + "/tfstate?restype=container&comp=list&prefix=env%2F";
  r = Send(list, acct);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("env/dev state.json"), std::string::npos) << r->body;
}

TEST_F(AzuriteTest, SharedKeyBadKeyIsRejectedClearly) {
  // A valid base64 key that is not the account's.
  std::string bad = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
  http::Request mk;
  mk.method = "PUT";
  mk.url = azurite_->blob_endpoint() + "/badkey?restype=container";
  mk.service = "azure-blob";
  auto r = Send(mk, Account(bad));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 403);
  Status st = azure::StorageErrorStatus(mk, *r);
  EXPECT_EQ(st.code(), ErrorCode::kUnauthenticated) << st.ToString();
  EXPECT_NE(st.message().find("azure-blob PUT"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("AuthorizationFailure"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find(bad), std::string::npos);
}

TEST_F(AzuriteTest, ServiceSasGrantsOnlyItsPermissions) {
  auto acct = Account();
  http::Request mk;
  mk.method = "PUT";
  mk.url = azurite_->blob_endpoint() + "/sas-test?restype=container";
  ASSERT_TRUE(Send(mk, acct).ok());
  auto put = PutBlob("sas-test", "obj", "payload");
  auto r = Send(put, acct);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 201);

  azure::BlobSasOptions o;
  o.permissions = "r";
  o.start = static_cast<int64_t>(std::time(nullptr)) - 300;
  o.expiry = static_cast<int64_t>(std::time(nullptr)) + 3600;
  auto sas = azure::MakeBlobSas(acct, "sas-test", "obj", o);
  ASSERT_TRUE(sas.ok()) << sas.status().ToString();
  azure::StorageAccount sas_only = acct;
  sas_only.key.clear();
  sas_only.sas = *sas;

  http::Request get;
  get.url = put.url;
  r = Send(get, sas_only);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, "payload");

  // Read-only SAS: writing is refused.
  r = Send(PutBlob("sas-test", "obj", "overwrite"), sas_only);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 403) << r->body;

  // A SAS signed with the wrong key is refused too.
  azure::StorageAccount wrong = acct;
  wrong.key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
  auto bad_sas = azure::MakeBlobSas(wrong, "sas-test", "obj", o);
  ASSERT_TRUE(bad_sas.ok());
  sas_only.sas = *bad_sas;
  r = Send(get, sas_only);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 403);
}

// Azurite keeps connections alive (moto does not), so it shows the connection cache at work.
TEST_F(AzuriteTest, KeepAliveReusesConnectionsAndParallelismIsBounded) {
  auto acct = Account();
  http::Request mk;
  mk.method = "PUT";
  mk.url = azurite_->blob_endpoint() + "/keepalive?restype=container";
  ASSERT_TRUE(Send(mk, acct).ok());
  ASSERT_TRUE(Send(PutBlob("keepalive", "b", "x"), acct).ok());

  http::TransportOptions to;
  to.parallelism = 3;
  auto t = http::NewCurlTransport(to);
  azure::StorageAuthorizer auth(acct);
  http::Request head;
  head.method = "HEAD";
  head.url = azurite_->blob_endpoint() + "/keepalive/b";
  for (int i = 0; i < 10; ++i) {
    auto r = http::SendWithRetry(*t, head, &auth);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200);
  }
  http::TransportStats s = t->stats();
  EXPECT_EQ(s.requests, 10);
  EXPECT_LE(s.connections_opened, 2) << "sequential requests should reuse the kept-alive connection";

  std::vector<http::Request> many(30, head);
  auto results = http::SendAllWithRetry(*t, many, &auth);
  for (const auto& r : results) EXPECT_TRUE(r.ok() && r->status == 200);
  s = t->stats();
  EXPECT_EQ(s.requests, 40);
  EXPECT_LE(s.max_in_flight, 3);
  EXPECT_LE(s.connections_opened, 2 + 3) << "at most one connection per parallel slot";
}

TEST(AzureConnectionString, Forms) {
  auto dev = azure::ParseConnectionString("UseDevelopmentStorage=true");
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->name, "devstoreaccount1");
  EXPECT_EQ(dev->key, azure::kDevAccountKey);
  EXPECT_EQ(dev->blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");

  auto full = azure::ParseConnectionString(
      "DefaultEndpointsProtocol=https;AccountName=nebari;AccountKey=a2V5;EndpointSuffix=core.usgovcloudapi.net");
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->name, "nebari");
  EXPECT_EQ(full->key, "a2V5");
  EXPECT_EQ(full->blob_endpoint, "https://nebari.blob.core.usgovcloudapi.net");

  auto sas = azure::ParseConnectionString("BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=?sv=1&sig=abc");
  ASSERT_TRUE(sas.ok());
  EXPECT_EQ(sas->name, "acct");
  EXPECT_EQ(sas->sas, "sv=1&sig=abc");

  auto bad = azure::ParseConnectionString("AccountName=a;AccountKey=not*base64!!");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("not*base64"), std::string::npos);

  auto env = azure::StorageAccountFromEnv(auth::MapEnv({{"ARM_STORAGE_ACCOUNT_NAME", "x"}, {"ARM_ACCESS_KEY", "a2V5"}}));
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->name, "x");
  EXPECT_EQ(env->key, "a2V5");
}

TEST(AzureSharedKey, StringToSignShape) {
  http::Request r;
  r.method = "GET";
  r.url = "http://127.0.0.1:10000/devstoreaccount1/c?restype=container&comp=list&Prefix=a%2Fb";
  r.headers.Set("x-ms-date", "Sun, 22 Nov 2026 00:00:00 GMT");
  r.headers.Set("x-ms-version", "2021-12-02");
  auto s = azure::ComputeSharedKey(r, "devstoreaccount1", azure::kDevAccountKey);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->string_to_sign,
            "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Sun, 22 Nov 2026 00:00:00 GMT\nx-ms-version:2021-12-02\n"
            "/devstoreaccount1/devstoreaccount1/c\ncomp:list\nprefix:a/b\nrestype:container");
  EXPECT_EQ(s->authorization.rfind("SharedKey devstoreaccount1:", 0), 0u);
}

TEST(Entra, ClientCredentialsTokenCachingAndAliases) {
  LocalHttpServer server([](const ReceivedRequest& r) {
    if (r.target != "/tenant-1/oauth2/v2.0/token") return ScriptedResponse{404, {}, "", false};
    if (r.body.find("client_secret=s3cr3t-value") == std::string::npos) {
      return ScriptedResponse{401, {{"Content-Type", "application/json"}},
                              R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."})",
                              false};
    }
    return ScriptedResponse{200, {{"Content-Type", "application/json"}},
                            R"({"token_type":"Bearer","expires_in":3599,"access_token":"eyJ.entra.token"})", false};
  });
  auto t = http::NewCurlTransport();
  auto opts = azure::EntraOptionsFromEnv(auth::MapEnv({{"ARM_TENANT_ID", "tenant-1"},
                                                       {"ARM_CLIENT_ID", "app-1"},
                                                       {"ARM_CLIENT_SECRET", "s3cr3t-value"},
                                                       {"AZURE_AUTHORITY_HOST", server.url("/")}}),
                                         azure::kStorageScope);
  ASSERT_TRUE(opts.ok()) << opts.status().ToString();
  int64_t now = 1'000'000;
  auto clock = [&now] { return now; };
  auto tokens = std::make_shared<auth::CachedTokenSource>(azure::NewEntraClientCredentials(*opts, t.get(), clock), clock);
  auth::BearerAuthorizer bearer(tokens);
  http::Request req;
  req.url = "https://example.invalid/x";
  ASSERT_TRUE(bearer.Authorize(req).ok());
  EXPECT_EQ(req.headers.GetOr("Authorization"), "Bearer eyJ.entra.token");
  ASSERT_TRUE(bearer.Authorize(req).ok());
  EXPECT_EQ(tokens->fetch_count(), 1);  // cached
  now += 3599 - 200;                    // inside the 5-minute refresh margin
  ASSERT_TRUE(bearer.Authorize(req).ok());
  EXPECT_EQ(tokens->fetch_count(), 2);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[0].body.find("grant_type=client_credentials"), std::string::npos);
  EXPECT_NE(reqs[0].body.find("client_id=app-1"), std::string::npos);
  EXPECT_NE(reqs[0].body.find("scope=https%3A%2F%2Fstorage.azure.com%2F.default"), std::string::npos);

  // A wrong secret: kUnauthenticated naming the app and tenant, never the secret.
  auto wrong = *opts;
  wrong.client_secret = "wrong-secret-canary";
  auto bad = azure::NewEntraClientCredentials(wrong, t.get())->Fetch();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(bad.status().message().find("invalid_client"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("app-1"), std::string::npos);
  EXPECT_EQ(bad.status().message().find("wrong-secret-canary"), std::string::npos);

  auto missing = azure::EntraOptionsFromEnv(auth::MapEnv({{"AZURE_TENANT_ID", "t"}}));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("AZURE_CLIENT_ID"), std::string::npos);
}

}  // namespace
}  // namespace nic
