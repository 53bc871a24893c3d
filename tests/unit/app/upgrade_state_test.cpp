#include <catch2/catch.hpp>

#include "app/upgrade_state.hpp"

using portier::app::decode_upgrade_state;
using portier::app::encode_upgrade_state;
using portier::app::UpgradeState;

TEST_CASE("the upgrade state round-trips ticket keys and OCSP responses as bytes") {
  UpgradeState in{std::string("PTK1\0\x01\xff", 7), {{"ab12", std::string("\x30\x82\0\x05", 4)}, {"cd34", "x"}}};
  auto out = decode_upgrade_state(encode_upgrade_state(in));
  REQUIRE(out);
  CHECK(out->ticket_keys == in.ticket_keys);
  CHECK(out->ocsp == in.ocsp);
}

TEST_CASE("the bare ticket-key blob of earlier versions is a state without OCSP responses") {
  auto out = decode_upgrade_state("PTK1-raw-key-bytes");
  REQUIRE(out);
  CHECK(out->ticket_keys == "PTK1-raw-key-bytes");
  CHECK(out->ocsp.empty());
}

TEST_CASE("an unreadable upgrade state is refused, never thrown") {
  for (const char* bad : {"", "{", "[]", "{\"ocsp\":{}}", "{\"ticketKeys\":5}", "{\"ticketKeys\":\"!!\"}",
                          "{\"ticketKeys\":\"\",\"ocsp\":{\"id\":7}}", "{\"ticketKeys\":\"\",\"ocsp\":{\"id\":\"%%\"}}"}) {
    INFO(bad);
    CHECK_FALSE(decode_upgrade_state(bad));
  }
}
