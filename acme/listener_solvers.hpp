#pragma once
// The challenge solvers answered by portier's own listeners through the shared
// tls::AcmeChallenges table (the proxy reads it):
//   Http01Solver     http-01 (RFC 8555 §8.3): the key authorization under
//                    /.well-known/acme-challenge/TOKEN on the httpChallenge entrypoint.
//   TlsAlpn01Solver  tls-alpn-01 (RFC 8737): a self-signed certificate for the domain with the
//                    acmeIdentifier extension, served to acme-tls/1 ClientHellos.
// Each waits `delay` (httpChallenge.delay / tlsChallenge.delay) after presenting, as lego's
// SetDelay does, before the CA is told to validate.
//
// Thread: control thread. `challenges` outlives the solver.
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "acme/acme_client.hpp"
#include "tls/acme_challenges.hpp"

namespace portier::acme {

// The certificate a TLS-ALPN-01 validation must see for `domain` (RFC 8737 §3): self-signed,
// SAN = domain, critical acmeIdentifier = SHA-256(key_authorization). Null + error on failure.
tls::CertEntryPtr make_tls_alpn_certificate(const std::string& domain, const std::string& key_authorization,
                                            std::string& error);

class Http01Solver : public ChallengeSolver {
 public:
  Http01Solver(boost::asio::any_io_executor executor, tls::AcmeChallenges& challenges, std::chrono::milliseconds delay)
      : executor_(std::move(executor)), challenges_(challenges), delay_(delay) {}
  std::string_view type() const override { return "http-01"; }
  boost::asio::awaitable<std::string> present(std::vector<Record> records) override;
  boost::asio::awaitable<void> cleanup() override;

 private:
  boost::asio::any_io_executor executor_;
  tls::AcmeChallenges& challenges_;
  std::chrono::milliseconds delay_;
  std::vector<Record> presented_;
};

class TlsAlpn01Solver : public ChallengeSolver {
 public:
  TlsAlpn01Solver(boost::asio::any_io_executor executor, tls::AcmeChallenges& challenges,
                  std::chrono::milliseconds delay)
      : executor_(std::move(executor)), challenges_(challenges), delay_(delay) {}
  std::string_view type() const override { return "tls-alpn-01"; }
  boost::asio::awaitable<std::string> present(std::vector<Record> records) override;
  boost::asio::awaitable<void> cleanup() override;

 private:
  boost::asio::any_io_executor executor_;
  tls::AcmeChallenges& challenges_;
  std::chrono::milliseconds delay_;
  std::vector<std::string> domains_;
};

}  // namespace portier::acme
