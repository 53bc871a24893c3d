// The one set of value parsers (config/value_parsers.hpp) every reader uses.
#include <catch2/catch.hpp>

#include "config/value_parsers.hpp"

using namespace portier::config;
using std::chrono::milliseconds;

TEST_CASE("booleans are Go's strconv.ParseBool", "[values]") {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True", " true "}) CHECK(parse_bool(t) == true);
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) CHECK(parse_bool(f) == false);
  for (const char* bad : {"yes", "no", "on", "off", "tRUE", "y", "", "2", "truee"}) {
    INFO(bad);
    CHECK_FALSE(parse_bool(bad));
  }
  bool out = false;
  CHECK(read_bool("yes", out) == "invalid boolean \"yes\" (true or false)");
}

TEST_CASE("durations: Go syntax and bare seconds", "[values]") {
  CHECK(parse_duration("10") == milliseconds(10000));
  CHECK(parse_duration("0") == milliseconds(0));
  CHECK(parse_duration("1m30s") == milliseconds(90000));
  CHECK(parse_duration("1.5s") == milliseconds(1500));
  CHECK(parse_duration("250ms") == milliseconds(250));
  CHECK(parse_duration("1h2m3s4ms") == milliseconds(3723004));
  CHECK(parse_duration("1500us") == milliseconds(1));
  CHECK(parse_duration("\xC2\xB5s") == std::nullopt);
  CHECK(parse_duration("2000\xC2\xB5s") == milliseconds(2));
  CHECK(parse_duration("+5s") == milliseconds(5000));
  for (const char* bad : {"", ".", "..s", "1..5s", "-5s", "5", "10x", "s", "1e999s", "99999999999999999999h",
                          "1234567890123"}) {
    if (std::string(bad) == "5") continue;  // bare seconds are fine
    INFO(bad);
    CHECK_FALSE(parse_duration(bad));
  }
  milliseconds out{};
  CHECK(read_duration("soon", out).rfind("invalid duration \"soon\"", 0) == 0);
}

TEST_CASE("integers, ports and sizes have ranges", "[values]") {
  CHECK(parse_int("-12") == -12);
  CHECK(parse_int("+12") == 12);
  CHECK(parse_int(" 7 ") == 7);
  CHECK_FALSE(parse_int("9223372036854775808"));
  CHECK_FALSE(parse_int("1.5"));
  CHECK_FALSE(parse_int("0x10"));
  int64_t v = 0;
  CHECK(read_int("65535", kPort, v).empty());
  CHECK(v == 65535);
  CHECK(read_int("0", kPort, v) == "invalid port \"0\": out of range 1..65535");
  CHECK(read_int("0", kPortOrZero, v).empty());
  CHECK(read_int("-1", kSize, v) == "invalid size \"-1\": out of range 0..9223372036854775807");
  CHECK(read_int("high", kAnyInt, v) == "invalid integer \"high\"");
  CHECK(read_int("600", kHttpStatus, v) == "invalid status code \"600\": out of range 0..599");
  CHECK(parse_port("443") == uint16_t(443));
  CHECK_FALSE(parse_port("65536"));
  CHECK(split_comma_list(" a, b,,c ") == std::vector<std::string>{"a", "b", "c"});
}
