#pragma once
// CertStore: every certificate portier can serve (files, tls.certificates, ACME, the default),
// indexed by name for SNI. One store is shared by all threads: the control thread replaces the
// entries of a source, workers look names up without taking a lock (a thread-local pin of the
// current immutable index, refreshed when its generation moves). A replaced certificate is
// used by new handshakes only; handshakes in flight keep the entry they pinned.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/snapshot.hpp"
#include "tls/openssl_ptr.hpp"

namespace portier::tls {

// One certificate chain and its key. Immutable once built; share it by CertEntryPtr.
struct CertEntry {
  std::string id;                  // hex SHA-256 of the leaf's DER
  X509Ptr leaf;
  X509StackPtr chain;              // intermediates, leaf excluded; never null (maybe empty)
  EvpPkeyPtr key;
  std::vector<std::string> names;  // lowercase; SAN DNS names, else the subject CN
  std::string source;              // "acme", "file", "default"
  std::string resolver;            // ACME certificate resolver, "" for other sources
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
  std::string issuer;              // RFC 2253 one-liner, e.g. "CN=R3,O=Let's Encrypt,C=US"
  std::string ocsp_url;            // first OCSP responder URL of the leaf, "" when none
};
using CertEntryPtr = std::shared_ptr<const CertEntry>;

// Value-or-error result of building an entry.
struct CertEntryResult {
  CertEntryPtr entry;
  std::string error;
};

// Builds an entry from a PEM chain (leaf first) and a PEM key; checks the key matches.
CertEntryResult make_cert_entry(std::string_view chain_pem, std::string_view key_pem,
                                std::string source, std::string resolver = {});
CertEntryResult make_cert_entry(std::vector<X509Ptr> chain, EvpPkeyPtr key, std::string source,
                                std::string resolver = {});

// Traefik's certFile/keyFile pair: each is inline PEM or a path. Control thread (file I/O).
CertEntryResult load_cert_entry(const std::string& cert_file, const std::string& key_file,
                                std::string source = "file");

// A self-signed ECDSA P-256 certificate, CN "PORTIER DEFAULT CERT", source "default".
CertEntryResult make_default_cert_entry();

// What /certificates shows of an entry.
struct CertInfo {
  std::string id;
  std::vector<std::string> names;
  std::string issuer;
  std::string not_after;  // ISO-8601 UTC, "2025-01-31T12:00:00Z"
  std::string source;
  std::string resolver;
};

enum class SniMatch { exact, wildcard, fallback };

struct CertMatch {
  CertEntryPtr entry;  // never null: the default when nothing matches
  SniMatch match = SniMatch::fallback;
};

// Lowercases and drops one trailing dot. Returns false when `name` is not a plausible DNS
// name (empty, longer than 253 bytes).
bool normalize_host(std::string_view name, std::string& out);

class CertStore {
 public:
  // Generates the self-signed default certificate (throws std::runtime_error if OpenSSL
  // cannot, which only happens when the library is broken).
  CertStore();
  CertStore(const CertStore&) = delete;
  CertStore& operator=(const CertStore&) = delete;

  // Control thread. Replaces every entry of `source` ("acme", "file", …) with `entries`.
  void set_source_entries(const std::string& source, std::vector<CertEntryPtr> entries);
  // Control thread. The configured default certificate; null restores the generated one.
  void set_default(CertEntryPtr entry);

  // Any thread, lock-free on the hot path. Exact name, then one-label wildcard, then default.
  // An acme/file entry wins over other sources for the same name, then the later not_after.
  CertMatch find(std::string_view sni) const;

  // Any thread. Whether an acme or file certificate already serves `name` (exact or through
  // a wildcard; a wildcard request "*.x.y" is covered only by "*.x.y").
  bool covers(std::string_view name) const;

  // Any thread. Every entry, the default included, sorted by first name then source.
  std::vector<CertInfo> list() const;
  std::vector<CertEntryPtr> entries(const std::string& source) const;
  std::vector<CertEntryPtr> all_entries() const;  // every source and the default
  CertEntryPtr default_entry() const;

  // Control thread. `listener` runs after every set_source_entries/set_default, on the
  // calling thread and outside the store's lock (the OCSP refresher uses it to fetch for new
  // certificates promptly). One listener; an empty function removes it.
  void on_change(std::function<void()> listener);

  // OCSP responses stapled by the TLS layer, keyed by CertEntry::id. Control thread sets
  // (empty `der` removes); any thread reads, lock-free.
  void set_ocsp_response(const std::string& cert_id, std::string der);
  std::shared_ptr<const std::string> ocsp_response(std::string_view cert_id) const;

  struct Index;  // the published snapshot (defined in cert_store.cpp)
  struct Ocsp;

 private:
  void rebuild_locked();
  const std::shared_ptr<const Index>& index() const;

  uint64_t id_;  // distinguishes stores in the thread-local caches
  std::mutex write_mutex_;
  std::vector<std::pair<std::string, std::vector<CertEntryPtr>>> sources_;  // under write_mutex_
  CertEntryPtr generated_default_;
  CertEntryPtr configured_default_;  // under write_mutex_
  core::Snapshot<Index> index_;
  core::Snapshot<Ocsp> ocsp_;
  std::function<void()> on_change_;  // control thread
};

std::string iso8601(std::chrono::system_clock::time_point t);

}  // namespace portier::tls
