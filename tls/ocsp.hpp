#pragma once
// OCSP (RFC 6960) for stapling: the request for a certificate and the verification of the
// responder's answer. Pure functions over OpenSSL, no I/O; any thread. The fetching and the
// refresh schedule live in app/ocsp_refresher.*.
#include <openssl/x509.h>

#include <chrono>
#include <string>
#include <string_view>

#include "tls/cert_store.hpp"

namespace portier::tls {

// The certificate in `entry.chain` that issued the leaf, or null (a self-signed leaf, or a
// chain without its intermediate).
X509* find_issuer(const CertEntry& entry);

// A DER OCSPRequest for the leaf of `entry` (SHA-1 CertID, no nonce: responders such as
// Let's Encrypt's serve cached, pre-signed answers). `error` says why there is none.
struct OcspRequest {
  std::string der;
  std::string error;
};
OcspRequest make_ocsp_request(const CertEntry& entry);

enum class OcspCertStatus { good, revoked };

// A verified response. Valid for stapling from `this_update` until `next_update`.
struct OcspVerdict {
  std::string error;  // empty when the response can be stapled
  OcspCertStatus status = OcspCertStatus::good;
  std::chrono::system_clock::time_point this_update;
  std::chrono::system_clock::time_point next_update;
  bool ok() const { return error.empty(); }
};

// Verifies `der` for the leaf of `entry` at time `now`: response status successful, signed by
// the issuer or by a responder the issuer delegated (id-kp-OCSPSigning), a single response for
// this certificate with status good or revoked ("unknown" is an error), thisUpdate not in the
// future (5 minutes of clock skew allowed) and nextUpdate after both thisUpdate and `now`.
// A response without nextUpdate is taken as valid for one hour from `now`.
OcspVerdict verify_ocsp_response(const CertEntry& entry, std::string_view der,
                                 std::chrono::system_clock::time_point now);

const char* to_string(OcspCertStatus status);

}  // namespace portier::tls
