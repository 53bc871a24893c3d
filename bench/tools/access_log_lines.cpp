// Driver of bench/access_log_cost.sh: formats N access log lines of one format for records like
// callgrind_observe.sh's requests (a proxied GET / answered 200 with 1 KiB, 64 client ports,
// a request every 33 us, no header kept) into the worker's batch type, emptied every 64 KiB as
// WorkerObserver does. Built against the access_log_*.cpp of the tree under test, so it also
// compiles against trees from before LogBuffer (then the batch is a std::string).
// Usage: access_log_lines N json|common
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "proxy/access_log_format.hpp"
#if __has_include("proxy/log_buffer.hpp")
#include "proxy/log_buffer.hpp"
using Batch = portier::proxy::LogBuffer;
#else
using Batch = std::string;
#endif

using namespace portier;
using namespace portier::proxy;

// Counted by callgrind (--toggle-collect=run_lines): the lines alone, not the set-up.
[[gnu::noinline]] size_t run_lines(const AccessLogFormat& format, RequestRecord& r, long n, Batch& batch) {
  size_t bytes = 0;
  for (long i = 0; i < n; ++i) {
    r.client_port = static_cast<uint16_t>(40000 + i % 64);
    r.start += std::chrono::microseconds(33);
    r.duration = std::chrono::nanoseconds(180000 + i % 977);
    r.origin_duration = std::chrono::nanoseconds(150000 + i % 613);
    format.append(r, static_cast<uint64_t>(i) + 1, batch);
    if (batch.size() >= 64 * 1024) {
      bytes += batch.size();
      batch.clear();
    }
  }
  return bytes + batch.size();
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s N json|common\n", argv[0]);
    return 2;
  }
  config::AccessLogConfig cfg;
  cfg.enabled = true;
  cfg.format = std::strcmp(argv[2], "json") == 0 ? config::AccessLogConfig::Format::json
                                                 : config::AccessLogConfig::Format::common;
  AccessLogFormat format(cfg);
  RequestRecord r;
  r.start = std::chrono::system_clock::time_point(std::chrono::seconds(1765059000));
  r.status = r.origin_status = 200;
  r.response_bytes = 1024;
  r.method = "GET";
  r.path = "/";
  r.host = "127.0.0.1:41234";
  r.client_ip = "127.0.0.1";
  r.entry_point = "web";
  r.router = "all@file";
  r.service = "b@file";
  r.served = true;
  r.server_url = "http://127.0.0.1:38211";
  r.server_addr = "127.0.0.1:38211";
  // A routing snapshot's generation, as the pipeline records it (commits before the field
  // existed have no such member).
  [](auto& rec) {
    if constexpr (requires { rec.generation; }) rec.generation = 1;
  }(r);
  Batch batch;
  size_t bytes = run_lines(format, r, std::atol(argv[1]), batch);
  std::printf("%zu bytes\n", bytes);
  return 0;
}
