#include "tls/client_cert_header.hpp"

#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>

#include "tls/base64.hpp"

namespace portier::tls {

namespace {

// An attribute value as Go's encoding/asn1 reads it into a string; false for the types Go
// does not read as strings (Go's pkix.Name skips those attributes).
bool attribute_text(const ASN1_STRING* value, std::string& out) {
  switch (ASN1_STRING_type(value)) {
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_IA5STRING:
    case V_ASN1_T61STRING:
    case V_ASN1_NUMERICSTRING:
    case V_ASN1_UTF8STRING:
      out.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                 static_cast<size_t>(ASN1_STRING_length(value)));
      return true;
    case V_ASN1_BMPSTRING: {
      unsigned char* utf8 = nullptr;
      int n = ASN1_STRING_to_UTF8(&utf8, value);
      if (n < 0) return false;
      out.assign(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
      OPENSSL_free(utf8);
      return true;
    }
    default:
      return false;
  }
}

// The attributes of a name grouped as Go's pkix.Name holds them.
struct Dn {
  std::vector<std::string> dc, c, st, l, o, ou;
  std::string sn, cn;  // the last one wins, as in Go
};

// Where each attribute goes: a list (repeatable in Go's pkix.Name) or a single value.
struct DnSlot {
  int nid;
  std::vector<std::string> Dn::*list;
  std::string Dn::*single;
};
constexpr DnSlot kDnSlots[] = {
    {NID_domainComponent, &Dn::dc, nullptr},     {NID_countryName, &Dn::c, nullptr},
    {NID_stateOrProvinceName, &Dn::st, nullptr}, {NID_localityName, &Dn::l, nullptr},
    {NID_organizationName, &Dn::o, nullptr},     {NID_organizationalUnitName, &Dn::ou, nullptr},
    {NID_serialNumber, nullptr, &Dn::sn},        {NID_commonName, nullptr, &Dn::cn},
};

Dn read_dn(const X509_NAME* name) {
  Dn dn;
  for (int i = 0; name && i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    std::string text;
    if (!attribute_text(X509_NAME_ENTRY_get_data(e), text)) continue;
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    for (const auto& slot : kDnSlots) {
      if (slot.nid != nid) continue;
      if (slot.list)
        (dn.*slot.list).push_back(std::move(text));
      else
        dn.*slot.single = std::move(text);
      break;
    }
  }
  return dn;
}

void parts(std::string& out, bool want, const std::vector<std::string>& values,
           const char* prefix) {
  if (!want) return;
  for (const auto& v : values)
    if (!v.empty()) out += std::string(prefix) + "=" + v + ",";
}

// "DC=…,C=…,ST=…,L=…,O=…,OU=…,SN=…,CN=…" without the last ","; OU only for a subject.
std::string dn_text(const X509_NAME* name, const config::ClientCertDn& want, bool subject) {
  Dn dn = read_dn(name);
  std::string out;
  if (want.domain_component)
    for (const auto& v : dn.dc) out += "DC=" + v + ",";  // Go writes these even when empty
  parts(out, want.country, dn.c, "C");
  parts(out, want.province, dn.st, "ST");
  parts(out, want.locality, dn.l, "L");
  parts(out, want.organization, dn.o, "O");
  parts(out, subject && want.organizational_unit, dn.ou, "OU");
  parts(out, want.serial_number, {dn.sn}, "SN");
  parts(out, want.common_name, {dn.cn}, "CN");
  if (!out.empty()) out.pop_back();
  return out;
}

std::string serial_text(X509* cert) {
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr), BN_free);
  if (!bn) return {};
  char* dec = BN_bn2dec(bn.get());
  std::string out = dec ? dec : "";
  OPENSSL_free(dec);
  return out;
}

// Seconds since the epoch as Go's uint64(t.Unix()) prints them (a time before 1970 wraps).
std::string unix_text(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return "0";
  return std::to_string(static_cast<uint64_t>(static_cast<int64_t>(timegm(&tm))));
}

// Go's net.IP.String(): dotted IPv4 (also for an IPv4-mapped IPv6 address), else RFC 5952
// (lowercase hex, the first longest run of two or more zero groups as "::").
std::string ip_text(const unsigned char* p, int len) {
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (len == 16 && std::equal(mapped, mapped + 12, p)) p += 12, len = 4;
  if (len == 4)
    return std::to_string(p[0]) + "." + std::to_string(p[1]) + "." + std::to_string(p[2]) + "." +
           std::to_string(p[3]);
  if (len != 16) return {};
  unsigned g[8];
  for (int i = 0; i < 8; ++i) g[i] = (unsigned(p[2 * i]) << 8) | p[2 * i + 1];
  int best = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) best = i, best_len = j - i;
    i = j == i ? i + 1 : j;
  }
  std::string out;
  char buf[8];
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", g[i]);
    out += buf;
  }
  return out;
}

// DNS names, then e-mail addresses, then IP addresses, then URIs (Go's field order).
std::string sans_text(X509* cert) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return {};
  std::string out;
  for (int type : {GEN_DNS, GEN_EMAIL, GEN_IPADD, GEN_URI}) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
      if (n->type != type) continue;
      const ASN1_STRING* s = n->d.ia5;  // every member used here is an ASN1_STRING
      const auto* data = ASN1_STRING_get0_data(s);
      std::string v = type == GEN_IPADD
                          ? ip_text(data, ASN1_STRING_length(s))
                          : std::string(reinterpret_cast<const char*>(data), ASN1_STRING_length(s));
      out += (out.empty() ? "" : ",") + v;
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

void value(std::string& out, const char* key, const std::string& v) {
  if (!out.empty()) out += ';';
  out += std::string(key) + "=\"" + v + "\"";
}

std::string one_cert_info(X509* cert, const config::ClientCertInfo& info) {
  std::string out;
  if (info.subject)
    if (auto s = dn_text(X509_get_subject_name(cert), *info.subject, true); !s.empty())
      value(out, "Subject", s);
  if (info.issuer)
    if (auto s = dn_text(X509_get_issuer_name(cert), *info.issuer, false); !s.empty())
      value(out, "Issuer", s);
  if (info.serial_number)
    if (auto s = serial_text(cert); !s.empty()) value(out, "SerialNumber", s);
  if (info.not_before) value(out, "NB", unix_text(X509_get0_notBefore(cert)));
  if (info.not_after) value(out, "NA", unix_text(X509_get0_notAfter(cert)));
  if (info.sans)
    if (auto s = sans_text(cert); !s.empty()) value(out, "SAN", s);
  return out;
}

}  // namespace

std::vector<X509*> peer_certificates(const SSL* ssl) {
  std::vector<X509*> out;
  X509* leaf = ssl ? SSL_get0_peer_certificate(ssl) : nullptr;
  if (!leaf) return out;
  out.push_back(leaf);
  // Server side, the chain does not hold the client's own certificate.
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl))
    for (int i = 0; i < sk_X509_num(chain); ++i) out.push_back(sk_X509_value(chain, i));
  return out;
}

std::string client_cert_pem_header(const std::vector<X509*>& certs) {
  std::string out;
  for (X509* cert : certs) {
    unsigned char* der = nullptr;
    int n = i2d_X509(cert, &der);
    if (!out.empty()) out += ',';
    if (n > 0)
      out += base64_encode(
          std::string_view(reinterpret_cast<const char*>(der), static_cast<size_t>(n)));
    OPENSSL_free(der);
  }
  return out;
}

std::string client_cert_info_header(const std::vector<X509*>& certs,
                                    const config::ClientCertInfo& info) {
  std::string out;
  for (size_t i = 0; i < certs.size(); ++i) {
    if (i > 0) out += ',';
    out += one_cert_info(certs[i], info);
  }
  return query_escape(out);
}

std::string query_escape(std::string_view text) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char ch : text) {
    bool keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                ch == '-' || ch == '_' || ch == '.' || ch == '~';
    if (keep)
      out += static_cast<char>(ch);
    else if (ch == ' ')
      out += '+';
    else
      out += {'%', hex[ch >> 4], hex[ch & 15]};
  }
  return out;
}

}  // namespace portier::tls
