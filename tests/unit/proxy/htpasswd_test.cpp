// basicAuth's credential parsing and hash checks (hashes made by htpasswd -m, -s, -B).
#include "proxy/htpasswd.hpp"

#include <catch2/catch.hpp>

#include "proxy/password_verifier.hpp"

using namespace portier::proxy;

namespace {
const std::string kApr1 = "$apr1$eNWI5oh5$YeVKwLvZ8O0bYsRpSPl5d0";   // s3cret
const std::string kSha = "{SHA}87u9ZqY9S/F0eUBXjsPQEDUw4h0=";         // hunter2
const std::string kBcrypt = "$2y$05$IX1yT/96ABBhDRKUWKhTJ.eGsbEnQwbE5et/ETOKZl3xfxafZM8Pu";  // p@ss:word
}  // namespace

TEST_CASE("htpasswd: each hash kind verifies its password and only it", "[basicauth]") {
  CHECK(password_matches("s3cret", kApr1));
  CHECK_FALSE(password_matches("s3cret!", kApr1));
  CHECK(password_matches("hunter2", kSha));
  CHECK_FALSE(password_matches("hunter3", kSha));
  CHECK(password_matches("p@ss:word", kBcrypt));
  std::string b = kBcrypt;
  b.replace(0, 4, "$2b$");
  CHECK(password_matches("p@ss:word", b));
  b.replace(0, 4, "$2a$");
  CHECK(password_matches("p@ss:word", b));
  CHECK_FALSE(password_matches("p@ss", kBcrypt));
  CHECK_FALSE(password_matches("", ""));
  CHECK_FALSE(password_matches("plain", "plain"));  // no clear-text passwords
}

TEST_CASE("htpasswd: file lines are trimmed, blanks and comments skipped", "[basicauth]") {
  HtpasswdUsers users;
  std::string error;
  REQUIRE(parse_htpasswd("# admins\n  alice:" + kApr1 + "  \r\n\n\tbob:" + kSha + "\n", users, &error));
  CHECK(users.size() == 2);
  CHECK(users.at("alice") == kApr1);
  CHECK(users.at("bob") == kSha);
  CHECK_FALSE(parse_htpasswd("alice:" + kApr1 + "\nnocolon\n", users, &error));
  CHECK(error == "line 2: expected name:hash");
  CHECK_FALSE(parse_htpasswd_list({"a:b", "a:b:c"}, users, &error));
  CHECK(error == "users[1]: expected name:hash");
}

TEST_CASE("htpasswd: the Authorization header as Go's Request.BasicAuth reads it", "[basicauth]") {
  auto c = parse_basic_authorization("Basic YWxpY2U6czNjcmV0");  // alice:s3cret
  REQUIRE(c);
  CHECK(c->user == "alice");
  CHECK(c->password == "s3cret");
  c = parse_basic_authorization("bAsIc Y2Fyb2w6cEBzczp3b3Jk");  // carol:p@ss:word
  REQUIRE(c);
  CHECK(c->user == "carol");
  CHECK(c->password == "p@ss:word");
  CHECK_FALSE(parse_basic_authorization("Bearer YWxpY2U6czNjcmV0"));
  CHECK_FALSE(parse_basic_authorization("Basic"));
  CHECK_FALSE(parse_basic_authorization("Basic !!!"));
  CHECK_FALSE(parse_basic_authorization("Basic YWxpY2U="));  // "alice": no colon
}

TEST_CASE("password verifier: remembers successes only, keyed by user, password and hash",
          "[basicauth]") {
  auto& v = PasswordVerifier::instance();
  CHECK_FALSE(v.cached("carol", "p@ss:word", kBcrypt));
  boost::asio::io_context io;
  bool ok = false, wrong = true;
  auto run = [&]() -> awaitable<void> {
    ok = co_await v.verify("carol", "p@ss:word", kBcrypt);
    wrong = co_await v.verify("carol", "nope", kBcrypt);
  };
  boost::asio::co_spawn(io, run(), boost::asio::detached);
  io.run();
  CHECK(ok);
  CHECK_FALSE(wrong);
  CHECK(v.cached("carol", "p@ss:word", kBcrypt));
  CHECK_FALSE(v.cached("carol", "nope", kBcrypt));
  CHECK_FALSE(v.cached("dave", "p@ss:word", kBcrypt));
  CHECK_FALSE(v.cached("carol", "p@ss:word", kSha));
}
