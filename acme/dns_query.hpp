#pragma once
// One DNS query through c-ares, driven by the io_context (c-ares' socket-state callback only
// records which descriptors to watch; Asio waits on them). Used by the DNS-01 propagation check.
//
// Thread: control thread; the coroutine and every c-ares callback run on `executor`.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace portier::acme {

enum class DnsType { a, ns, txt };

struct DnsQuery {
  std::string name;
  DnsType type = DnsType::txt;
  // "ip", "ip:port" or "[ipv6]:port"; empty = the system's resolvers (/etc/resolv.conf).
  std::vector<std::string> servers;
  bool recursion = true;  // false for questions to an authoritative server
  std::chrono::milliseconds timeout{3000};  // per try; two tries
};

struct DnsAnswer {
  std::vector<std::string> records;  // TXT strings (chunks joined), NS host names, or IPv4 addresses
  std::string error;                 // "" on success (NXDOMAIN/NODATA are successes with no records)
  bool ok() const { return error.empty(); }
};

boost::asio::awaitable<DnsAnswer> dns_query(boost::asio::any_io_executor executor, DnsQuery query);

}  // namespace portier::acme
