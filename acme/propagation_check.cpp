#include "acme/propagation_check.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>

#include "acme/dns_query.hpp"
#include "core/log.hpp"

namespace portier::acme {
namespace {

namespace asio = boost::asio;
using asio::awaitable;

awaitable<void> sleep_for(asio::any_io_executor ex, std::chrono::milliseconds d) {
  asio::steady_timer timer(ex, d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

// "" when `server` answers the TXT question with `value`.
awaitable<std::string> served_by(asio::any_io_executor ex, std::string server, const PropagationTarget& t,
                                 bool recursion) {
  DnsQuery q;
  q.name = t.fqdn;
  q.type = DnsType::txt;
  if (!server.empty()) q.servers.push_back(server);  // "" = the system's resolvers
  q.recursion = recursion;
  std::string who = server.empty() ? "system resolver" : server;
  DnsAnswer a = co_await dns_query(ex, q);
  if (!a.ok()) co_return who + ": " + a.error;
  if (std::find(a.records.begin(), a.records.end(), t.value) == a.records.end())
    co_return who + " does not serve the TXT value of " + t.fqdn + " yet";
  co_return std::string();
}

// The IPv4 addresses ("ip:53") of the zone's authoritative nameservers.
awaitable<std::vector<std::string>> authoritative_servers(asio::any_io_executor ex, const std::vector<std::string>& resolvers,
                                                          const std::string& zone, std::string& error) {
  DnsQuery ns;
  ns.name = zone;
  ns.type = DnsType::ns;
  ns.servers = resolvers;
  DnsAnswer names = co_await dns_query(ex, ns);
  std::vector<std::string> out;
  if (!names.ok() || names.records.empty()) {
    error = names.ok() ? "no NS records for zone " + zone : names.error;
    co_return out;
  }
  for (const auto& host : names.records) {
    DnsQuery a;
    a.name = host;
    a.type = DnsType::a;
    a.servers = resolvers;
    DnsAnswer addrs = co_await dns_query(ex, a);
    for (const auto& ip : addrs.records) out.push_back(ip + ":53");
    if (addrs.records.empty()) error = "nameserver " + host + " has no IPv4 address";
  }
  co_return out;
}

awaitable<std::string> check_once(asio::any_io_executor ex, const config::DnsChallenge& s,
                                  const std::vector<std::string>& resolvers, const PropagationTarget& t) {
  if (s.disable_ans_checks || s.require_all_rns) {
    std::vector<std::string> asked = resolvers;
    if (asked.empty()) asked.emplace_back();
    std::string last;
    bool any = false;
    for (const auto& r : asked) {
      std::string why = co_await served_by(ex, r, t, true);
      if (why.empty()) any = true;
      else last = why;
      if (!why.empty() && s.require_all_rns) co_return why;
    }
    if (!any) co_return last;
  }
  if (s.disable_ans_checks) co_return std::string();
  std::string error;
  auto servers = co_await authoritative_servers(ex, resolvers, t.zone, error);
  if (servers.empty()) co_return error;
  for (const auto& server : servers) {
    std::string why = co_await served_by(ex, server, t, false);
    if (!why.empty()) co_return "authoritative nameserver " + why;
  }
  co_return std::string();
}

}  // namespace

std::string with_dns_port(const std::string& server) {
  if (server.empty()) return server;
  if (server.front() == '[') return server.find("]:") == std::string::npos ? server + ":53" : server;
  if (std::count(server.begin(), server.end(), ':') == 1) return server;
  if (server.find(':') != std::string::npos) return "[" + server + "]:53";  // bare IPv6
  return server + ":53";
}

awaitable<std::string> wait_for_propagation(asio::any_io_executor ex, config::DnsChallenge settings,
                                            PropagationTarget target, std::chrono::milliseconds poll_interval) {
  if (settings.delay_before_checks.count() > 0) co_await sleep_for(ex, settings.delay_before_checks);
  if (settings.disable_checks) co_return std::string();
  std::vector<std::string> resolvers;
  for (const auto& r : settings.resolvers) resolvers.push_back(with_dns_port(r));
  auto deadline = std::chrono::steady_clock::now() + settings.propagation_timeout;
  std::string why;
  for (;;) {
    why = co_await check_once(ex, settings, resolvers, target);
    if (why.empty()) co_return why;
    core::log_debug("acme: waiting for ", target.fqdn, ": ", why);
    if (std::chrono::steady_clock::now() + poll_interval > deadline) break;
    co_await sleep_for(ex, poll_interval);
  }
  co_return "DNS propagation of " + target.fqdn + " not seen within " +
         std::to_string(settings.propagation_timeout.count() / 1000) + " s: " + why;
}

}  // namespace portier::acme
