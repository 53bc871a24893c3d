#include "tls/cert_store.hpp"

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <stdexcept>
#include <unordered_map>

#include "tls/pinned.hpp"
#include "tls/self_signed.hpp"

namespace portier::tls {

namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using NameMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

int source_rank(const std::string& source) {
  if (source == "file") return 0;
  if (source == "acme") return 1;
  if (source == "default") return 3;
  return 2;
}

// True when `a` should serve a name rather than `b`.
bool better(const CertEntry& a, const CertEntry& b) {
  int ra = source_rank(a.source), rb = source_rank(b.source);
  if (ra != rb) return ra < rb;
  return a.not_after > b.not_after;
}

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string hex(const unsigned char* p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

std::vector<std::string> names_of(X509* cert) {
  std::vector<std::string> names;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
    if (gn->type != GEN_DNS) continue;
    const ASN1_IA5STRING* s = gn->d.dNSName;
    std::string name(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
    std::string normal;
    if (normalize_host(name, normal)) names.push_back(std::move(normal));
  }
  GENERAL_NAMES_free(sans);
  if (!names.empty()) return names;
  char cn[256];
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  std::string normal;
  if (n > 0 && normalize_host(std::string_view(cn, n), normal)) names.push_back(std::move(normal));
  return names;
}

std::string issuer_of(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_issuer_name(cert), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, n) : std::string();
}

std::string ocsp_url_of(X509* cert) {
  STACK_OF(OPENSSL_STRING)* urls = X509_get1_ocsp(cert);
  std::string url;
  if (urls && sk_OPENSSL_STRING_num(urls) > 0) url = sk_OPENSSL_STRING_value(urls, 0);
  X509_email_free(urls);
  return url;
}

std::string fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  return hex(md, n);
}

}  // namespace

struct CertStore::Index {
  NameMap<CertEntryPtr> exact;
  NameMap<CertEntryPtr> wildcard;  // key: the suffix after "*."
  NameMap<CertEntryPtr> covering;  // acme/file names only, wildcards as written ("*.x.y")
  std::vector<CertEntryPtr> all;
  CertEntryPtr default_entry;
};

struct CertStore::Ocsp {
  NameMap<std::shared_ptr<const std::string>> by_id;
};

bool normalize_host(std::string_view name, std::string& out) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  out.assign(name);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return true;
}

std::string iso8601(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

std::shared_ptr<CertEntry> build_entry(std::vector<X509Ptr> chain, EvpPkeyPtr key, std::string source,
                                       std::string resolver, std::string& error) {
  X509* leaf = chain.empty() ? nullptr : chain.front().get();
  if (!leaf || !key) {
    error = leaf ? "no private key" : "no certificate";
    return nullptr;
  }
  if (X509_check_private_key(leaf, key.get()) != 1) {
    openssl_errors();  // drop the queue: the message below says it all
    error = "private key does not match the certificate";
    return nullptr;
  }
  auto entry = std::make_shared<CertEntry>();
  entry->id = fingerprint(leaf);
  entry->names = names_of(leaf);
  entry->issuer = issuer_of(leaf);
  entry->ocsp_url = ocsp_url_of(leaf);
  entry->not_before = to_time_point(X509_get0_notBefore(leaf));
  entry->not_after = to_time_point(X509_get0_notAfter(leaf));
  entry->chain.reset(sk_X509_new_null());
  for (size_t i = 1; i < chain.size(); ++i) sk_X509_push(entry->chain.get(), chain[i].release());
  entry->leaf = std::move(chain.front());
  entry->key = std::move(key);
  entry->source = std::move(source);
  entry->resolver = std::move(resolver);
  return entry;
}

}  // namespace

CertEntryResult make_cert_entry(std::vector<X509Ptr> chain, EvpPkeyPtr key, std::string source,
                                std::string resolver) {
  std::string error;
  auto entry = build_entry(std::move(chain), std::move(key), std::move(source), std::move(resolver), error);
  return {std::move(entry), std::move(error)};
}

CertEntryResult make_cert_entry(std::string_view chain_pem, std::string_view key_pem, std::string source,
                                std::string resolver) {
  std::string error;
  auto chain = load_certificates_pem(chain_pem, error);
  if (chain.empty()) return {nullptr, "certificate: " + error};
  auto key = load_private_key_pem(key_pem, error);
  if (!key) return {nullptr, "key: " + error};
  return make_cert_entry(std::move(chain), std::move(key), std::move(source), std::move(resolver));
}

CertEntryResult load_cert_entry(const std::string& cert_file, const std::string& key_file, std::string source) {
  std::string cert_pem, key_pem, error;
  if (!read_pem_source(cert_file, cert_pem, error)) return {nullptr, "certFile: " + error};
  if (!read_pem_source(key_file, key_pem, error)) return {nullptr, "keyFile: " + error};
  return make_cert_entry(cert_pem, key_pem, std::move(source));
}

CertEntryResult make_default_cert_entry() {
  std::string error;
  auto key = generate_key(KeyKind::ec_p256, error);
  if (!key) return {nullptr, error};
  CertRequest req;
  req.common_name = "PORTIER DEFAULT CERT";
  req.valid_days = 365;
  req.not_before_offset_days = -1;
  auto cert = make_certificate(key.get(), req, error);
  if (!cert) return {nullptr, error};
  std::vector<X509Ptr> chain;
  chain.push_back(std::move(cert));
  auto entry = build_entry(std::move(chain), std::move(key), "default", {}, error);
  // The CN is a label, not a host name: the default never matches by name.
  if (entry) entry->names.clear();
  return {std::move(entry), std::move(error)};
}

CertStore::CertStore() : id_(next_pin_owner_id()) {
  auto made = make_default_cert_entry();
  if (!made.entry) throw std::runtime_error("cannot generate the default certificate: " + made.error);
  generated_default_ = made.entry;
  std::lock_guard lock(write_mutex_);
  rebuild_locked();
  ocsp_.publish(std::make_shared<const Ocsp>());
}

void CertStore::set_source_entries(const std::string& source, std::vector<CertEntryPtr> entries) {
  std::unique_lock lock(write_mutex_);
  auto it = std::find_if(sources_.begin(), sources_.end(), [&](auto& s) { return s.first == source; });
  std::erase(entries, nullptr);
  if (it == sources_.end())
    sources_.emplace_back(source, std::move(entries));
  else
    it->second = std::move(entries);
  rebuild_locked();
  lock.unlock();
  if (on_change_) on_change_();
}

void CertStore::set_default(CertEntryPtr entry) {
  std::unique_lock lock(write_mutex_);
  configured_default_ = std::move(entry);
  rebuild_locked();
  lock.unlock();
  if (on_change_) on_change_();
}

void CertStore::on_change(std::function<void()> listener) { on_change_ = std::move(listener); }

void CertStore::rebuild_locked() {
  auto index = std::make_shared<Index>();
  index->default_entry = configured_default_ ? configured_default_ : generated_default_;
  auto place = [](NameMap<CertEntryPtr>& map, const std::string& key, const CertEntryPtr& e) {
    auto [it, inserted] = map.try_emplace(key, e);
    if (!inserted && better(*e, *it->second)) it->second = e;
  };
  for (const auto& [source, entries] : sources_) {
    bool covering = source == "acme" || source == "file";
    for (const auto& e : entries) {
      index->all.push_back(e);
      for (const auto& name : e->names) {
        if (covering) place(index->covering, name, e);
        if (name.size() > 2 && name.compare(0, 2, "*.") == 0)
          place(index->wildcard, name.substr(2), e);
        else if (name.find('*') == std::string::npos)
          place(index->exact, name, e);
      }
    }
  }
  index->all.push_back(index->default_entry);
  index_.publish(std::move(index));
}

const std::shared_ptr<const CertStore::Index>& CertStore::index() const { return pinned(index_, id_); }

CertMatch CertStore::find(std::string_view sni) const {
  const Index& idx = *index();
  char buf[256];
  if (!sni.empty() && sni.back() == '.') sni.remove_suffix(1);
  if (sni.empty() || sni.size() >= sizeof buf) return {idx.default_entry, SniMatch::fallback};
  for (size_t i = 0; i < sni.size(); ++i) {
    char c = sni[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  std::string_view name(buf, sni.size());
  if (auto it = idx.exact.find(name); it != idx.exact.end()) return {it->second, SniMatch::exact};
  auto dot = name.find('.');
  if (dot != std::string_view::npos && dot > 0) {
    if (auto it = idx.wildcard.find(name.substr(dot + 1)); it != idx.wildcard.end())
      return {it->second, SniMatch::wildcard};
  }
  return {idx.default_entry, SniMatch::fallback};
}

bool CertStore::covers(std::string_view name) const {
  std::string normal;
  if (!normalize_host(name, normal)) return false;
  const Index& idx = *index();
  if (idx.covering.count(normal)) return true;
  if (normal.compare(0, 2, "*.") == 0) return false;
  auto dot = normal.find('.');
  return dot != std::string::npos && dot > 0 && idx.covering.count("*." + normal.substr(dot + 1));
}

std::vector<CertInfo> CertStore::list() const {
  auto idx = index();  // copy: keep the pin while building
  std::vector<CertInfo> out;
  for (const auto& e : idx->all)
    out.push_back({e->id, e->names, e->issuer, iso8601(e->not_after), e->source, e->resolver});
  std::sort(out.begin(), out.end(), [](const CertInfo& a, const CertInfo& b) {
    std::string na = a.names.empty() ? "" : a.names.front(), nb = b.names.empty() ? "" : b.names.front();
    return std::tie(na, a.source, a.id) < std::tie(nb, b.source, b.id);
  });
  return out;
}

std::vector<CertEntryPtr> CertStore::entries(const std::string& source) const {
  auto idx = index();
  std::vector<CertEntryPtr> out;
  for (const auto& e : idx->all)
    if (e->source == source) out.push_back(e);
  return out;
}

std::vector<CertEntryPtr> CertStore::all_entries() const { return index()->all; }

CertEntryPtr CertStore::default_entry() const { return index()->default_entry; }

void CertStore::set_ocsp_response(const std::string& cert_id, std::string der) {
  std::lock_guard lock(write_mutex_);
  auto next = std::make_shared<Ocsp>(*ocsp_.load());
  if (der.empty())
    next->by_id.erase(cert_id);
  else
    next->by_id[cert_id] = std::make_shared<const std::string>(std::move(der));
  ocsp_.publish(std::move(next));
}

std::shared_ptr<const std::string> CertStore::ocsp_response(std::string_view cert_id) const {
  const Ocsp& o = *pinned(ocsp_, id_);
  auto it = o.by_id.find(cert_id);
  return it == o.by_id.end() ? nullptr : it->second;
}

}  // namespace portier::tls
