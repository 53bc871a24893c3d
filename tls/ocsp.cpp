#include "tls/ocsp.hpp"

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

namespace portier::tls {

namespace {

using Clock = std::chrono::system_clock;

struct OcspRequestFree { void operator()(OCSP_REQUEST* p) const { OCSP_REQUEST_free(p); } };
struct OcspResponseFree { void operator()(OCSP_RESPONSE* p) const { OCSP_RESPONSE_free(p); } };
struct OcspBasicFree { void operator()(OCSP_BASICRESP* p) const { OCSP_BASICRESP_free(p); } };
struct OcspCertIdFree { void operator()(OCSP_CERTID* p) const { OCSP_CERTID_free(p); } };
struct X509StoreFree { void operator()(X509_STORE* p) const { X509_STORE_free(p); } };

std::unique_ptr<OCSP_CERTID, OcspCertIdFree> cert_id(const CertEntry& entry, std::string& error) {
  X509* issuer = find_issuer(entry);
  if (!issuer) {
    error = "the issuer certificate is not in the chain";
    return nullptr;
  }
  std::unique_ptr<OCSP_CERTID, OcspCertIdFree> id(OCSP_cert_to_id(EVP_sha1(), entry.leaf.get(), issuer));
  if (!id) error = "cannot build the OCSP CertID: " + openssl_errors();
  return id;
}

Clock::time_point to_time_point(const ASN1_GENERALIZEDTIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  return Clock::from_time_t(timegm(&tm));
}

// Signature and signer checks: the issuer is the only trust anchor (partial chain), so a
// response is accepted when the issuer signed it or certified a delegated responder for it.
std::string check_signature(OCSP_BASICRESP* basic, const CertEntry& entry, X509* issuer) {
  std::unique_ptr<X509_STORE, X509StoreFree> store(X509_STORE_new());
  if (!store || X509_STORE_add_cert(store.get(), issuer) != 1) return "cannot build the trust store";
  X509_STORE_set_flags(store.get(), X509_V_FLAG_PARTIAL_CHAIN);
  if (OCSP_basic_verify(basic, entry.chain.get(), store.get(), 0) != 1) {
    std::string why = openssl_errors();
    return "signature not verified" + (why.empty() ? "" : ": " + why);
  }
  return {};
}

}  // namespace

X509* find_issuer(const CertEntry& entry) {
  if (!entry.leaf || !entry.chain) return nullptr;
  for (int i = 0; i < sk_X509_num(entry.chain.get()); ++i) {
    X509* candidate = sk_X509_value(entry.chain.get(), i);
    if (X509_check_issued(candidate, entry.leaf.get()) == X509_V_OK) return candidate;
  }
  return nullptr;
}

OcspRequest make_ocsp_request(const CertEntry& entry) {
  OcspRequest out;
  auto id = cert_id(entry, out.error);
  if (!id) return out;
  std::unique_ptr<OCSP_REQUEST, OcspRequestFree> req(OCSP_REQUEST_new());
  if (!req || !OCSP_request_add0_id(req.get(), id.get())) {
    out.error = "cannot build the OCSP request: " + openssl_errors();
    return out;
  }
  id.release();  // owned by the request now
  unsigned char* der = nullptr;
  int n = i2d_OCSP_REQUEST(req.get(), &der);
  if (n <= 0) {
    out.error = "cannot encode the OCSP request: " + openssl_errors();
    return out;
  }
  out.der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

OcspVerdict verify_ocsp_response(const CertEntry& entry, std::string_view der, Clock::time_point now) {
  OcspVerdict v;
  auto fail = [&v](std::string why) {
    v.error = std::move(why);
    return v;
  };
  auto id = cert_id(entry, v.error);
  if (!id) return v;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<OCSP_RESPONSE, OcspResponseFree> resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!resp) {
    openssl_errors();
    return fail("not a DER OCSP response");
  }
  int rs = OCSP_response_status(resp.get());
  if (rs != OCSP_RESPONSE_STATUS_SUCCESSFUL)
    return fail(std::string("response status ") + OCSP_response_status_str(rs));
  std::unique_ptr<OCSP_BASICRESP, OcspBasicFree> basic(OCSP_response_get1_basic(resp.get()));
  if (!basic) {
    openssl_errors();
    return fail("no basic OCSP response");
  }
  if (auto err = check_signature(basic.get(), entry, find_issuer(entry)); !err.empty()) return fail(err);

  int status = -1, reason = -1;
  ASN1_GENERALIZEDTIME *revoked_at = nullptr, *this_upd = nullptr, *next_upd = nullptr;
  if (OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &revoked_at, &this_upd, &next_upd) != 1)
    return fail("the response does not cover this certificate");
  if (status == V_OCSP_CERTSTATUS_GOOD)
    v.status = OcspCertStatus::good;
  else if (status == V_OCSP_CERTSTATUS_REVOKED)
    v.status = OcspCertStatus::revoked;
  else
    return fail("certificate status unknown to the responder");

  v.this_update = to_time_point(this_upd);
  if (v.this_update == Clock::time_point{}) return fail("no valid thisUpdate");
  if (v.this_update > now + std::chrono::minutes(5)) return fail("thisUpdate is in the future");
  if (next_upd) {
    v.next_update = to_time_point(next_upd);
    if (v.next_update <= v.this_update) return fail("nextUpdate is not after thisUpdate");
    if (v.next_update <= now) return fail("expired (nextUpdate " + iso8601(v.next_update) + ")");
  } else {
    v.next_update = now + std::chrono::hours(1);
  }
  return v;
}

const char* to_string(OcspCertStatus status) {
  return status == OcspCertStatus::good ? "good" : "revoked";
}

}  // namespace portier::tls
