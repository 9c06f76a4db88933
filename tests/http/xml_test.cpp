#include <gtest/gtest.h>

#include "nic/aws_error.h"
#include "nic/http.h"
#include "nic/xml.h"

namespace nic {
namespace {

TEST(Xml, ParsesEc2ResponseWithNamespacesEntitiesAndCdata) {
  auto doc = xml::Parse(R"(<?xml version="1.0" encoding="UTF-8"?>
<!-- leading comment -->
<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>7a62c49f</requestId>
  <vpcSet>
    <item><vpcId>vpc-1</vpcId><tagSet><item><key>Name</key><value>a &amp; b &lt;c&gt; &#65;&#x42;</value></item></tagSet></item>
    <item><vpcId>vpc-2</vpcId><isDefault>true</isDefault><note><![CDATA[<raw> & text]]></note></item>
  </vpcSet>
  <ec2:extra attr='q&quot;'/>
</DescribeVpcsResponse>)");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->name, "DescribeVpcsResponse");
  EXPECT_EQ(doc->attributes.at("xmlns"), "http://ec2.amazonaws.com/doc/2016-11-15/");
  EXPECT_EQ(doc->ChildText("requestId"), "7a62c49f");
  auto items = doc->Child("vpcSet")->Children("item");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]->ChildText("vpcId"), "vpc-1");
  EXPECT_EQ(items[0]->Find("value")->text, "a & b <c> AB");
  EXPECT_EQ(items[1]->PathText("note"), "<raw> & text");
  EXPECT_EQ(doc->Find("extra")->attributes.at("attr"), "q\"");
  EXPECT_EQ(doc->PathText("vpcSet/item/vpcId"), "vpc-1");
  EXPECT_EQ(doc->PathText("vpcSet/missing"), "");
}

TEST(Xml, RejectsMalformedDocuments) {
  for (const char* bad : {"", "<a>", "<a></b>", "<a x=1></a>", "<a>&bogus;</a>", "text", "<a><b></a></b>"}) {
    auto r = xml::Parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), ErrorCode::kInvalidInput);
    }
  }
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "<a>";
  EXPECT_FALSE(xml::Parse(deep).ok());
  EXPECT_EQ(xml::Escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
}

TEST(AwsError, ParsesAllThreeShapes) {
  http::Request req;
  req.method = "GET";
  req.url = "https://x/b/k";
  req.service = "s3";
  http::Response s3{404, {}, "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
                             "<RequestId>R1</RequestId></Error>"};
  auto e = aws::ParseError(s3);
  EXPECT_EQ(e.code, "NoSuchKey");
  EXPECT_EQ(e.request_id, "R1");
  Status st = aws::ErrorStatus(req, s3);
  EXPECT_EQ(st.code(), ErrorCode::kNotFound);
  EXPECT_EQ(st.message(), "s3 GET https://x/b/k: HTTP 404 NoSuchKey: The specified key does not exist.");

  http::Response ec2{400, {}, "<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code><Message>gone</Message>"
                              "</Error></Errors><RequestID>R2</RequestID></Response>"};
  e = aws::ParseError(ec2);
  EXPECT_EQ(e.code, "InvalidVpcID.NotFound");
  EXPECT_EQ(e.request_id, "R2");
  EXPECT_EQ(aws::ErrorStatus(req, ec2).code(), ErrorCode::kNotFound);

  http::Response iam{409, {}, "<ErrorResponse><Error><Type>Sender</Type><Code>EntityAlreadyExists</Code>"
                              "<Message>dup</Message></Error><RequestId>R3</RequestId></ErrorResponse>"};
  EXPECT_EQ(aws::ErrorStatus(req, iam).code(), ErrorCode::kConflict);

  http::Response ddb{400, {}, R"({"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"})"};
  e = aws::ParseError(ddb);
  EXPECT_EQ(e.code, "ConditionalCheckFailedException");
  EXPECT_EQ(e.message, "The conditional request failed");
  EXPECT_EQ(aws::ErrorStatus(req, ddb).code(), ErrorCode::kConflict);

  http::Response eks{404, {}, R"({"message":"No cluster found for name: nope."})"};
  eks.headers.Set("x-amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/");
  e = aws::ParseError(eks);
  EXPECT_EQ(e.code, "ResourceNotFoundException");
  EXPECT_EQ(aws::ErrorStatus(req, eks).code(), ErrorCode::kNotFound);

  http::Response denied{403, {}, "<Error><Code>AccessDenied</Code><Message>no</Message></Error>"};
  EXPECT_EQ(aws::ErrorStatus(req, denied).code(), ErrorCode::kPermissionDenied);
  http::Response empty{403, {}, ""};  // S3 HEAD errors have no body
  EXPECT_EQ(aws::ErrorStatus(req, empty).code(), ErrorCode::kPermissionDenied);
}

TEST(Url, ParseAndEncode) {
  auto u = http::ParseUrl("https://S3.Amazonaws.com:8443/b/a%20b?x=1&y#frag");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "s3.amazonaws.com");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->path, "/b/a%20b");
  EXPECT_EQ(u->query, "x=1&y");
  EXPECT_EQ(u->authority(), "s3.amazonaws.com:8443");
  auto v6 = http::ParseUrl("http://[::1]:9000");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->path, "/");
  EXPECT_TRUE(http::IsLoopbackHost(v6->host));
  EXPECT_EQ(http::ParseUrl("https://h:443/").value().authority(), "h");
  EXPECT_FALSE(http::ParseUrl("ftp://x/").ok());
  EXPECT_FALSE(http::ParseUrl("no-scheme").ok());
  EXPECT_EQ(http::UriEncode("a b/c+d~"), "a%20b%2Fc%2Bd~");
  EXPECT_EQ(http::UriEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(http::UriDecode("a%20b%2fc+%zz%"), "a b/c+%zz%");
}

}  // namespace
}  // namespace nic
