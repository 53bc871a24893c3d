#include <catch2/catch.hpp>

#include <thread>

#include "tls/cert_store.hpp"
#include "tls_test_util.hpp"

using namespace portier::tls;
using namespace portier::tls::test;

TEST_CASE("CertStore: a generated default certificate answers every name") {
  CertStore store;
  auto def = store.default_entry();
  REQUIRE(def);
  CHECK(def->source == "default");
  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(def->leaf.get()), NID_commonName, cn, sizeof cn);
  CHECK(std::string(cn) == "PORTIER DEFAULT CERT");
  CHECK(EVP_PKEY_get_base_id(def->key.get()) == EVP_PKEY_EC);
  auto m = store.find("anything.example.com");
  CHECK(m.match == SniMatch::fallback);
  CHECK(m.entry == def);
  CHECK(store.find("").entry == def);
  CHECK(store.find("PORTIER DEFAULT CERT").entry == def);
}

TEST_CASE("CertStore: exact, then one-label wildcard, then default") {
  CertStore store;
  auto exact = entry_for({"app.example.com"});
  auto wild = entry_for({"*.example.com"});
  auto apex = entry_for({"example.com"});
  store.set_source_entries("file", {exact, wild, apex});

  CHECK(store.find("app.example.com").entry == exact);
  CHECK(store.find("app.example.com").match == SniMatch::exact);
  CHECK(store.find("other.example.com").entry == wild);
  CHECK(store.find("other.example.com").match == SniMatch::wildcard);
  CHECK(store.find("example.com").entry == apex);
  CHECK(store.find("a.b.example.com").match == SniMatch::fallback);
  CHECK(store.find("example.org").match == SniMatch::fallback);
  CHECK(store.find(".example.com").match == SniMatch::fallback);

  SECTION("case-insensitive, trailing dot ignored") {
    CHECK(store.find("APP.Example.COM").entry == exact);
    CHECK(store.find("app.example.com.").entry == exact);
    CHECK(store.find("Other.EXAMPLE.com.").entry == wild);
  }
  SECTION("wildcard alone does not cover the apex") {
    store.set_source_entries("file", {wild});
    CHECK(store.find("example.com").match == SniMatch::fallback);
  }
}

TEST_CASE("CertStore: names come from SAN DNS entries, CN only without them") {
  Issued both = issue({"San.Example.com", "www.example.com"}, "cn.example.com");
  std::vector<X509Ptr> chain;
  chain.push_back(std::move(both.cert));
  auto e = make_cert_entry(std::move(chain), std::move(both.key), "file").entry;
  REQUIRE(e);
  CHECK(e->names == std::vector<std::string>{"san.example.com", "www.example.com"});

  Issued cn_only = issue({}, "Legacy.Example.com");
  std::vector<X509Ptr> chain2;
  chain2.push_back(std::move(cn_only.cert));
  auto e2 = make_cert_entry(std::move(chain2), std::move(cn_only.key), "file").entry;
  REQUIRE(e2);
  CHECK(e2->names == std::vector<std::string>{"legacy.example.com"});
}

TEST_CASE("CertStore: make_cert_entry from PEM, chain and key checks") {
  Issued ca = issue({}, "Test CA", KeyKind::ec_p256, nullptr, true);
  Issued leaf = issue({"chain.example.com"}, "", KeyKind::ec_p256, &ca, false, "http://ocsp.example.test/");
  std::string pem = to_pem(leaf.cert.get()) + to_pem(ca.cert.get());
  auto r = make_cert_entry(pem, to_pem(leaf.key.get()), "acme", "le");
  REQUIRE(r.entry);
  CHECK(r.error.empty());
  CHECK(sk_X509_num(r.entry->chain.get()) == 1);
  CHECK(r.entry->issuer == "CN=Test CA");
  CHECK(r.entry->resolver == "le");
  CHECK(r.entry->ocsp_url == "http://ocsp.example.test/");
  CHECK(r.entry->id.size() == 64);
  CHECK(r.entry->not_after > std::chrono::system_clock::now());

  auto wrong_key = make_cert_entry(pem, to_pem(ca.key.get()), "file");
  CHECK_FALSE(wrong_key.entry);
  CHECK(wrong_key.error == "private key does not match the certificate");
  auto no_cert = make_cert_entry("garbage", to_pem(leaf.key.get()), "file");
  CHECK_FALSE(no_cert.entry);
  CHECK(no_cert.error.find("certificate") != std::string::npos);
}

TEST_CASE("CertStore: replacing a source, priority, default, covers, list") {
  CertStore store;
  auto acme = entry_for({"x.example.com"}, "acme");
  auto file = entry_for({"x.example.com"}, "file");
  store.set_source_entries("acme", {acme});
  CHECK(store.find("x.example.com").entry == acme);
  store.set_source_entries("file", {file});
  CHECK(store.find("x.example.com").entry == file);  // a configured file wins over ACME
  store.set_source_entries("file", {});
  CHECK(store.find("x.example.com").entry == acme);
  auto acme2 = entry_for({"y.example.com"}, "acme");
  store.set_source_entries("acme", {acme2});
  CHECK(store.find("x.example.com").match == SniMatch::fallback);
  CHECK(store.find("y.example.com").entry == acme2);

  auto configured = entry_for({"default.example.com"}, "file");
  store.set_default(configured);
  CHECK(store.find("nothing.example.org").entry == configured);
  store.set_default(nullptr);
  CHECK(store.find("nothing.example.org").entry->source == "default");

  store.set_source_entries("acme", {entry_for({"*.apps.example.com", "apps.example.com"}, "acme")});
  CHECK(store.covers("apps.example.com"));
  CHECK(store.covers("One.Apps.example.com."));
  CHECK(store.covers("*.apps.example.com"));
  CHECK_FALSE(store.covers("a.b.apps.example.com"));
  CHECK_FALSE(store.covers("*.example.com"));
  CHECK_FALSE(store.covers("example.com"));
  store.set_source_entries("tls-alpn", {entry_for({"z.example.com"}, "tls-alpn")});
  CHECK_FALSE(store.covers("z.example.com"));  // only acme and file count

  auto list = store.list();
  REQUIRE(list.size() == 3);  // the default, *.apps…, z…
  CHECK(list[0].source == "default");
  CHECK(list[1].names == std::vector<std::string>{"*.apps.example.com", "apps.example.com"});
  CHECK(list[1].source == "acme");
  CHECK(list[1].not_after.size() == 20);
  CHECK(list[1].not_after.back() == 'Z');
  CHECK(list[1].not_after[10] == 'T');
}

TEST_CASE("CertStore: the later expiry wins between two certificates of one source") {
  CertStore store;
  auto older = entry_for({"dup.example.com"}, "acme");
  std::string error;
  CertRequest req;
  req.dns_names = {"dup.example.com"};
  req.valid_days = 3650;
  auto key = generate_key(KeyKind::ec_p256, error);
  std::vector<X509Ptr> chain;
  chain.push_back(make_certificate(key.get(), req, error));
  auto newer = make_cert_entry(std::move(chain), std::move(key), "acme").entry;
  store.set_source_entries("acme", {newer, older});
  CHECK(store.find("dup.example.com").entry == newer);
  store.set_source_entries("acme", {older, newer});
  CHECK(store.find("dup.example.com").entry == newer);
}

TEST_CASE("CertStore: lookups from other threads see published updates") {
  CertStore store;
  auto first = entry_for({"t.example.com"});
  auto second = entry_for({"t.example.com"});
  store.set_source_entries("file", {first});
  CertEntryPtr seen1, seen2;
  std::thread([&] { seen1 = store.find("t.example.com").entry; }).join();
  store.set_source_entries("file", {second});
  std::thread([&] { seen2 = store.find("t.example.com").entry; }).join();
  CHECK(seen1 == first);
  CHECK(seen2 == second);
  CHECK(store.find("t.example.com").entry == second);
}

TEST_CASE("CertStore: two stores on one thread do not share a cache") {
  CertStore a, b;
  auto ea = entry_for({"s.example.com"});
  a.set_source_entries("file", {ea});
  CHECK(a.find("s.example.com").entry == ea);
  CHECK(b.find("s.example.com").match == SniMatch::fallback);
  CHECK(a.find("s.example.com").entry == ea);
}

TEST_CASE("CertStore: OCSP responses by certificate id") {
  CertStore store;
  CHECK_FALSE(store.ocsp_response("abc"));
  store.set_ocsp_response("abc", "DER");
  REQUIRE(store.ocsp_response("abc"));
  CHECK(*store.ocsp_response("abc") == "DER");
  store.set_ocsp_response("abc", "");
  CHECK_FALSE(store.ocsp_response("abc"));
}

TEST_CASE("normalize_host and iso8601") {
  std::string out;
  CHECK(normalize_host("Foo.Example.COM.", out));
  CHECK(out == "foo.example.com");
  CHECK_FALSE(normalize_host("", out));
  CHECK_FALSE(normalize_host(".", out));
  CHECK_FALSE(normalize_host(std::string(254, 'a'), out));
  CHECK(iso8601(std::chrono::system_clock::from_time_t(0)) == "1970-01-01T00:00:00Z");
}
