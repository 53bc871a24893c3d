// digestAuth, as Traefik (go-http-auth): RFC 7616 Digest with MD5 and qop=auth. A request
// without valid credentials gets 401 with a fresh nonce:
//   WWW-Authenticate: Digest realm="traefik", nonce="...", opaque="...", algorithm="MD5", qop="auth"
// A valid one goes on with headerField set to the user name and, with removeHeader, without
// its Authorization header. Credentials are valid when the opaque is this middleware's, the
// uri is the request's (or a path prefix of it, as go-http-auth allows), the response is
// MD5(HA1:nonce:nc:cnonce:qop:MD5(method:uri)) for the user's HA1 in the realm, and the nonce
// is one this middleware issued with a count above the last one seen (a replay or an unknown
// nonce, e.g. after a configuration change, answers the challenge with stale=true, and
// clients retry without asking the user again).
// Nonces live in one table shared by the workers (a mutex; MD5 checks are cheap, so the whole
// check runs in the synchronous request phase); past 1100 entries the 200 least recently used
// are forgotten (go-http-auth's cache size and tolerance). usersFile is read when the
// middleware is built (control thread), as Traefik does.
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "proxy/htdigest.hpp"
#include "proxy/middleware.hpp"

namespace portier::proxy {
namespace {

constexpr size_t kNonceCache = 1100;
constexpr size_t kNoncePurge = 200;

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// Issued nonces and the highest nonce count each was used with. Any thread.
class NonceTable {
 public:
  std::string issue() {
    std::string nonce = random_hex(16);
    std::lock_guard lock(mu_);
    if (clients_.size() >= kNonceCache) purge();
    clients_[nonce] = Client{0, std::chrono::steady_clock::now()};
    return nonce;
  }
  // Records `nc` for `nonce`: false when the nonce is unknown or nc does not grow (stale).
  bool use(const std::string& nonce, uint64_t nc) {
    std::lock_guard lock(mu_);
    auto it = clients_.find(nonce);
    if (it == clients_.end() || (it->second.nc != 0 && it->second.nc >= nc)) return false;
    it->second = Client{nc, std::chrono::steady_clock::now()};
    return true;
  }

 private:
  struct Client {
    uint64_t nc = 0;
    std::chrono::steady_clock::time_point last_seen;
  };
  void purge() {
    std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> by_age;
    for (const auto& [nonce, c] : clients_) by_age.emplace_back(c.last_seen, nonce);
    size_t n = std::min(kNoncePurge, by_age.size());
    std::partial_sort(by_age.begin(), by_age.begin() + n, by_age.end());
    for (size_t i = 0; i < n; ++i) clients_.erase(by_age[i].second);
  }
  std::mutex mu_;
  std::unordered_map<std::string, Client> clients_;
};

bool same_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

class DigestAuthMiddleware final : public Middleware {
 public:
  DigestAuthMiddleware(const config::DigestAuthMw& spec, HtdigestUsers users)
      : users_(std::move(users)),
        realm_(spec.realm.empty() ? "traefik" : spec.realm),
        opaque_(random_hex(16)),
        header_field_(spec.header_field),
        remove_header_(spec.remove_header) {}

  std::optional<LocalReply> on_request(const RequestContext& ctx, RequestEdits& request,
                                       HeaderEdits&) const override {
    std::optional<std::map<std::string, std::string>> auth;
    for (const auto& h : ctx.head.headers) {
      if (!iequals(h.name, "Authorization")) continue;
      auth = parse_digest_authorization(h.value);
      break;  // Go reads the first
    }
    if (auth) request.user = (*auth)["username"];  // logged whether it passes or not, as Traefik does
    bool stale = false;
    if (!auth || !valid(ctx, *auth, &stale)) return unauthorized(stale);
    const std::string& user = (*auth)["username"];
    if (!header_field_.empty()) request.headers.set_header(header_field_, user);
    if (remove_header_) request.headers.remove_header("Authorization");
    return std::nullopt;
  }

 private:
  bool valid(const RequestContext& ctx, std::map<std::string, std::string>& auth, bool* stale) const {
    if (auth["opaque"] != opaque_ || auth["algorithm"] != "MD5" || auth["qop"] != "auth") return false;
    if (!uri_matches(ctx.head, auth["uri"])) return false;
    auto it = users_.find(auth["username"] + ":" + realm_);
    std::string ha1 = it == users_.end() ? std::string() : it->second;
    std::string ha2 = md5_hex(std::string(ctx.head.method) + ":" + auth["uri"]);
    std::string expected = md5_hex(ha1 + ":" + auth["nonce"] + ":" + auth["nc"] + ":" + auth["cnonce"] + ":" +
                                   auth["qop"] + ":" + ha2);
    if (it == users_.end() || !same_secret(expected, auth["response"])) return false;
    const std::string& nc_text = auth["nc"];
    if (nc_text.empty() || nc_text.size() > 16 ||
        nc_text.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      return false;
    *stale = !nonces_.use(auth["nonce"], std::stoull(nc_text, nullptr, 16));
    return !*stale;
  }

  // The digest's uri is the request target, or (go-http-auth's allowance) a prefix of its path.
  static bool uri_matches(const RequestHead& head, const std::string& uri) {
    if (uri == head.target) return true;
    std::string_view path = std::string_view(uri).substr(0, uri.find('?'));
    return !path.empty() && head.path.starts_with(path);
  }

  LocalReply unauthorized(bool stale) const {
    LocalReply reply;
    reply.status = 401;
    reply.headers.emplace_back("WWW-Authenticate", "Digest realm=\"" + realm_ + "\", nonce=\"" + nonces_.issue() +
                                                       "\", opaque=\"" + opaque_ +
                                                       "\", algorithm=\"MD5\", qop=\"auth\"" +
                                                       (stale ? ", stale=true" : ""));
    reply.headers.emplace_back("Content-Type", "text/plain");
    reply.body = "401 Unauthorized\n";
    return reply;
  }

  HtdigestUsers users_;
  std::string realm_;
  std::string opaque_;
  std::string header_field_;
  bool remove_header_;
  mutable NonceTable nonces_;
};

}  // namespace

MiddlewarePtr make_digest_auth_middleware(const config::DigestAuthMw& spec, std::string* error) {
  HtdigestUsers users;
  if (!spec.users_file.empty()) {
    std::ifstream in(spec.users_file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return *error = "usersFile " + spec.users_file + ": cannot read it", nullptr;
    if (!parse_htdigest(text.str(), users, error))
      return *error = "usersFile " + spec.users_file + ": " + *error, nullptr;
  }
  if (!parse_htdigest_list(spec.users, users, error)) return nullptr;
  if (users.empty()) return *error = "no users found", nullptr;
  return std::make_shared<DigestAuthMiddleware>(spec, std::move(users));
}

}  // namespace portier::proxy
