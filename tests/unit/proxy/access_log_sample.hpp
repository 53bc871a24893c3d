#pragma once
// The request both access-log tests format (access_log_format_test.cpp field by field,
// access_log_lines_test.cpp byte for byte): a GET proxied to app@file and answered 401, at
// 2024-05-01T10:20:30.123456789Z, with three request header fields to keep or redact.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "proxy/request_record.hpp"

namespace portier::proxy::test {

inline std::chrono::system_clock::time_point log_time(long seconds, long nanos) {
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos)));
}

struct AccessLogSample {
  std::vector<std::pair<std::string, std::string>> headers{{"Authorization", "Basic eDp5"},
                                                           {"Referer", "http://r.test/"},
                                                           {"User-Agent", "curl/8 \"q\""}};
  RequestRecord r;
  AccessLogSample() {
    r.start = log_time(1714558830, 123456789);
    r.duration = std::chrono::milliseconds(12);
    r.origin_duration = std::chrono::milliseconds(10);
    r.status = r.origin_status = 401;
    r.response_bytes = 17;
    r.request_bytes = 3;
    r.method = "GET";
    r.path = "/a b?x=1";
    r.host = "app.test:8080";
    r.client_ip = "127.0.0.9";
    r.client_port = 40000;
    r.entry_point = "web";
    r.router = "app@file";
    r.service = "app@file";
    r.served = true;
    r.server_url = "http://127.0.0.2:9000";
    r.server_addr = "127.0.0.2:9000";
    r.request_headers = &headers;
  }
  AccessLogSample(const AccessLogSample&) = delete;  // `r` points into `headers`
};

}  // namespace portier::proxy::test
