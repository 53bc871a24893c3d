// basicAuth, as Traefik: a request without valid credentials gets 401 with
// `WWW-Authenticate: Basic realm="<realm>"` ("traefik" by default); a valid one goes on with
// headerField set to the user name and, with removeHeader, without its Authorization header.
// Passwords are checked by PasswordVerifier (off the event loop, with a cache of successes).
// An unknown user costs a check against another user's hash, so timing does not tell users
// apart (Traefik does the same).
// usersFile is read when the middleware is built (control thread) and again, on the verifier's
// pool, when its modification time or size changed: checked at most once a second, triggered
// by requests; a file that turns unreadable or malformed keeps the previous users (logged).
#include <sys/stat.h>

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <fstream>
#include <sstream>

#include "core/log.hpp"
#include "proxy/htpasswd.hpp"
#include "proxy/middleware.hpp"
#include "proxy/password_verifier.hpp"

namespace portier::proxy {
namespace {

// The current users: the inline list plus the file's, swapped whole on a reload.
class UsersSource : public std::enable_shared_from_this<UsersSource> {
 public:
  UsersSource(std::vector<std::string> inline_users, std::string file)
      : inline_(std::move(inline_users)), file_(std::move(file)) {}

  // Reads everything now (control thread at build; the pool on reload).
  bool load(std::string* error) {
    HtpasswdUsers users;
    struct stat st {};
    if (!file_.empty()) {
      if (::stat(file_.c_str(), &st) != 0) return *error = "usersFile " + file_ + ": cannot read it", false;
      std::ifstream in(file_, std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      if (!in) return *error = "usersFile " + file_ + ": cannot read it", false;
      if (!parse_htpasswd(text.str(), users, error)) return *error = "usersFile " + file_ + ": " + *error, false;
    }
    // Traefik: the file's users first, then the list's (a name in both: the list wins).
    if (!parse_htpasswd_list(inline_, users, error)) return false;
    if (users.empty()) return *error = "no users found" + (file_.empty() ? "" : " in " + file_), false;
    auto fresh = std::make_shared<const HtpasswdUsers>(std::move(users));
    std::lock_guard lock(mu_);
    users_ = std::move(fresh);
    stamp_ = {st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_size};
    return true;
  }

  std::shared_ptr<const HtpasswdUsers> users() {
    if (!file_.empty()) maybe_reload();
    std::lock_guard lock(mu_);
    return users_;
  }

 private:
  void maybe_reload() {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto last = last_check_.load(std::memory_order_relaxed);
    if (now - last < std::chrono::steady_clock::duration(std::chrono::seconds(1)).count()) return;
    if (!last_check_.compare_exchange_strong(last, now)) return;
    PasswordVerifier::instance().post([self = shared_from_this()] { self->reload_if_changed(); });
  }

  void reload_if_changed() {
    struct stat st {};
    std::array<int64_t, 3> stamp{};
    if (::stat(file_.c_str(), &st) == 0) stamp = {st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_size};
    {
      std::lock_guard lock(mu_);
      if (stamp == stamp_) return;
    }
    std::string error;
    if (!load(&error)) {
      core::log_warn("basicAuth: keeping the previous users: ", error);
      std::lock_guard lock(mu_);
      stamp_ = stamp;  // logged once per change
    } else {
      core::log_info("basicAuth: reloaded ", file_);
    }
  }

  const std::vector<std::string> inline_;
  const std::string file_;
  std::atomic<std::chrono::steady_clock::rep> last_check_{0};
  std::mutex mu_;
  std::shared_ptr<const HtpasswdUsers> users_;
  std::array<int64_t, 3> stamp_{};  // mtime s, ns, size of the file last read
};

class BasicAuthMiddleware final : public Middleware {
 public:
  BasicAuthMiddleware(const config::BasicAuthMw& spec, std::shared_ptr<UsersSource> users)
      : users_(std::move(users)),
        challenge_("Basic realm=\"" + (spec.realm.empty() ? std::string("traefik") : spec.realm) + "\""),
        header_field_(spec.header_field),
        remove_header_(spec.remove_header) {}

  unsigned phases() const override { return kAsyncRequestPhase; }

  awaitable<std::optional<LocalReply>> on_request_async(const RequestContext& ctx,
                                                        RequestEdits& request, HeaderEdits&,
                                                        Worker&) const override {
    std::optional<BasicCredentials> creds;
    for (const auto& h : ctx.head.headers) {
      if (!iequals(h.name, "Authorization")) continue;
      creds = parse_basic_authorization(h.value);
      break;  // Go reads the first
    }
    if (!creds) co_return unauthorized();
    request.user = creds->user;  // logged whether it passes or not, as Traefik does
    auto users = users_->users();
    auto it = users->find(creds->user);
    bool known = it != users->end();
    const std::string& hash = known ? it->second : users->begin()->second;
    bool ok = co_await PasswordVerifier::instance().verify(creds->user, creds->password, hash);
    if (!ok || !known) co_return unauthorized();
    if (!header_field_.empty()) request.headers.set_header(header_field_, creds->user);
    if (remove_header_) request.headers.remove_header("Authorization");
    co_return std::nullopt;
  }

 private:
  LocalReply unauthorized() const {
    LocalReply reply;
    reply.status = 401;
    reply.headers.emplace_back("WWW-Authenticate", challenge_);
    reply.headers.emplace_back("Content-Type", "text/plain");  // go-http-auth's
    reply.body = "401 Unauthorized\n";
    return reply;
  }

  std::shared_ptr<UsersSource> users_;
  std::string challenge_;
  std::string header_field_;
  bool remove_header_;
};

}  // namespace

MiddlewarePtr make_basic_auth_middleware(const config::BasicAuthMw& spec, std::string* error) {
  auto users = std::make_shared<UsersSource>(spec.users, spec.users_file);
  if (!users->load(error)) return nullptr;
  return std::make_shared<BasicAuthMiddleware>(spec, std::move(users));
}

}  // namespace portier::proxy
