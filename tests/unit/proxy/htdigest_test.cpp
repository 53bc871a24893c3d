// digestAuth's parsing: htdigest lines, the Digest Authorization header, MD5.
#include "proxy/htdigest.hpp"

#include <catch2/catch.hpp>

using namespace portier::proxy;

TEST_CASE("htdigest: lines name:realm:hash", "[digestauth]") {
  HtdigestUsers users;
  std::string error;
  REQUIRE(parse_htdigest("# c\nalice:traefik:79bed6ed34cf665f5400486fabef2ad4\n\n bob:r:x \n", users, &error));
  CHECK(users.at("alice:traefik") == "79bed6ed34cf665f5400486fabef2ad4");
  CHECK(users.at("bob:r") == "x");
  CHECK_FALSE(parse_htdigest("alice:traefik\n", users, &error));
  CHECK(error == "line 1: expected name:realm:hash");
  CHECK_FALSE(parse_htdigest_list({"a:b:c", "a:b:c:d"}, users, &error));
  CHECK(error == "users[1]: expected name:realm:hash");
}

TEST_CASE("htdigest: the Digest header's parameters", "[digestauth]") {
  auto p = parse_digest_authorization(
      "DIGEST username=\"al\\\"ice\", realm=\"a, b\", nc=00000001 ,qop=auth,uri=\"/p?q=1\"");
  REQUIRE(p);
  CHECK(p->at("username") == "al\"ice");
  CHECK(p->at("realm") == "a, b");
  CHECK(p->at("nc") == "00000001");
  CHECK(p->at("qop") == "auth");
  CHECK(p->at("uri") == "/p?q=1");
  CHECK_FALSE(parse_digest_authorization("Basic YTpi"));
  CHECK_FALSE(parse_digest_authorization("Digest"));
  CHECK_FALSE(parse_digest_authorization("Digest a=1, a=2"));
  CHECK_FALSE(parse_digest_authorization("Digest a=\"open"));
  CHECK_FALSE(parse_digest_authorization("Digest a=1 b=2"));
}

TEST_CASE("htdigest: MD5 as htdigest computes HA1", "[digestauth]") {
  CHECK(md5_hex("alice:realm1:pw1") == "79bed6ed34cf665f5400486fabef2ad4");
  CHECK(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
}
