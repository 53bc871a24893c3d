#pragma once
// Shared inputs of the micro-benchmarks: a static config with one entrypoint "web" and a
// dynamic configuration of N Host-only routers (the shape Docker labels produce).
#include <string>

#include "config/dynamic.hpp"
#include "config/static_config.hpp"

namespace portier::bench {

inline config::StaticConfig one_entry_point() {
  config::StaticConfig cfg;
  config::EntryPoint ep;
  ep.name = "web";
  ep.protocol = config::EntryPoint::Protocol::tcp;
  cfg.entry_points["web"] = ep;
  return cfg;
}

inline void add_router(config::Dynamic& dyn, const std::string& name, const std::string& rule,
                       const std::string& url) {
  config::HttpRouter r;
  r.rule = rule;
  r.service = name;
  r.entry_points = {"web"};
  dyn.http.routers[name] = r;
  config::LoadBalancer lb;
  config::HttpServer server;
  server.url = url;
  lb.servers.push_back(server);
  config::HttpService s;
  s.load_balancer = lb;
  dyn.http.services[name] = s;
}

// Routers r0..r{n-1} with rule Host(`sI.bench.local`), each with its own one-server service.
inline config::Dynamic host_routers(int n) {
  config::Dynamic dyn;
  for (int i = 0; i < n; ++i)
    add_router(dyn, "r" + std::to_string(i), "Host(`s" + std::to_string(i) + ".bench.local`)",
               "http://127.0.0.1:" + std::to_string(10000 + i % 50000));
  return dyn;
}

// A typical browser request head (Chrome-like, ~700 bytes).
inline const std::string kBrowserRequest =
    "GET /app/dashboard/index.html?tab=overview&lang=en HTTP/1.1\r\n"
    "Host: s9999.bench.local\r\n"
    "Connection: keep-alive\r\n"
    "sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
    "Sec-Fetch-Site: none\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-User: ?1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n"
    "Cookie: session=3f1c2a9b7e6d5c4b3a291817; theme=dark; _ga=GA1.1.123456789.1700000000\r\n"
    "\r\n";

}  // namespace portier::bench
