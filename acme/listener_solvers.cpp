#include "acme/listener_solvers.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "acme/jws.hpp"
#include "core/log.hpp"
#include "tls/self_signed.hpp"

namespace portier::acme {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

awaitable<void> wait(asio::any_io_executor executor, std::chrono::milliseconds delay) {
  if (delay.count() <= 0) co_return;
  asio::steady_timer timer(executor, delay);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace

tls::CertEntryPtr make_tls_alpn_certificate(const std::string& domain, const std::string& key_authorization,
                                            std::string& error) {
  tls::EvpPkeyPtr key = tls::generate_key(tls::KeyKind::ec_p256, error);
  if (!key) return nullptr;
  tls::CertRequest req;
  req.common_name = "ACME challenge";
  req.dns_names = {domain};
  req.valid_days = 1;
  req.acme_identifier = sha256(key_authorization);
  tls::X509Ptr cert = tls::make_certificate(key.get(), req, error);
  if (!cert) return nullptr;
  std::vector<tls::X509Ptr> chain;
  chain.push_back(std::move(cert));
  auto entry = tls::make_cert_entry(std::move(chain), std::move(key), "acme-challenge");
  if (!entry.entry) error = entry.error;
  return entry.entry;
}

awaitable<std::string> Http01Solver::present(std::vector<Record> records) {
  for (auto& r : records) {
    challenges_.set_http(r.token, r.domain, r.key_authorization);
    core::log_info("acme: http-01 challenge for ", r.domain, " served under /.well-known/acme-challenge/");
    presented_.push_back(std::move(r));
  }
  co_await wait(executor_, delay_);
  co_return std::string();
}

awaitable<void> Http01Solver::cleanup() {
  for (const auto& r : presented_) challenges_.remove_http(r.token, r.domain);
  presented_.clear();
  co_return;
}

awaitable<std::string> TlsAlpn01Solver::present(std::vector<Record> records) {
  for (const auto& r : records) {
    std::string error;
    tls::CertEntryPtr cert = make_tls_alpn_certificate(r.domain, r.key_authorization, error);
    if (!cert) co_return "tls-alpn-01 certificate for " + r.domain + ": " + error;
    challenges_.set_tls_alpn(r.domain, std::move(cert));
    domains_.push_back(r.domain);
    core::log_info("acme: tls-alpn-01 challenge certificate for ", r.domain, " served to acme-tls/1 clients");
  }
  co_await wait(executor_, delay_);
  co_return std::string();
}

awaitable<void> TlsAlpn01Solver::cleanup() {
  for (const auto& d : domains_) challenges_.remove_tls_alpn(d);
  domains_.clear();
  co_return;
}

}  // namespace portier::acme
