// errors, as Traefik: an answer made inside the middleware (the service's response, a later
// middleware's reply, portier's own 502/503/504) whose status is in `status` is replaced by a
// page fetched from `service`: a GET of `query` ({status}: the status sent, after
// statusRewrites; {originalStatus}; {url}: the request's URL, query-escaped) with the
// request's Host and its header fields (all, or errorRequestHeaders), forwarded as a request
// to that service would be (X-Forwarded-*). The client gets the page's header fields and body
// with the status (rewritten by the first statusRewrites entry, in key order, whose codes hold
// it). When the page cannot be fetched the client gets that status with portier's error body.
// 1xx answers and upgrades are never replaced. The page is read whole (at most 4 MiB).
#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/log.hpp"
#include "config/value_parsers.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/http_errors.hpp"
#include "proxy/middleware.hpp"
#include "proxy/runtime_config.hpp"
#include "proxy/service_choice.hpp"
#include "proxy/subrequest.hpp"
#include "proxy/upstream_conn.hpp"

namespace portier::proxy {
namespace {

constexpr std::chrono::milliseconds kTimeout{30000};
constexpr int64_t kMaxPage = 4 << 20;

struct StatusRewrite {
  config::StatusRanges from;
  int to = 0;
};

// Go's url.QueryEscape.
std::string query_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

struct ErrorsPolicy {
  config::StatusRanges status;
  std::vector<StatusRewrite> rewrites;
  std::string service;
  std::string query;  // "/" + the configured query without its leading slash, or ""
  std::vector<std::string> headers;  // empty: all
};

class PageFetch final : public ErrorPage {
 public:
  PageFetch(const ErrorsPolicy& policy, const RequestContext& ctx) : policy_(policy) {
    host_.assign(ctx.head.host);
    url_ = request_scheme(ctx.tls) + "://" + host_ + std::string(ctx.head.path);
    if (!ctx.head.query.empty()) url_ += "?" + std::string(ctx.head.query);
    for (const auto& h : ctx.head.headers) {
      if (!policy.headers.empty() &&
          std::none_of(policy.headers.begin(), policy.headers.end(),
                       [&](const std::string& n) { return iequals(n, h.name); }))
        continue;
      fields_.emplace_back(h.name, h.value);
    }
  }

  bool catches(int status) const override {
    return status >= 200 && config::in_status_ranges(policy_.status, status);
  }

  awaitable<LocalReply> fetch(int status, Worker& worker, const RuntimeConfig& rc,
                              const ClientInfo& client) override {
    int code = status;
    for (const auto& r : policy_.rewrites)
      if (config::in_status_ranges(r.from, status)) {
        code = r.to;
        break;
      }
    LocalReply reply;
    reply.status = code;
    std::string target = page_target(code, status);
    auto index = rc.service_index(policy_.service);
    ServiceChoice choice;
    if (index) choice = pick_server(worker, RequestHead{}, rc, *index);
    if (!choice.server || !upstream_supported(*choice.server)) {
      core::log_warn("errors: service ", policy_.service, " has no server for the page of ", status);
      co_return fallback(code);
    }
    std::string head = build_upstream_head(page_head(target), *choice.service, *choice.server, client);
    SubrequestResult page = co_await send_subrequest(worker, *choice.server, head, false, kMaxPage, kTimeout);
    if (page.status == 0 || page.too_large) {
      core::log_warn("errors: fetching ", target, " from ", policy_.service, ": ",
                     page.too_large ? "the page is over 4 MiB" : page.error);
      co_return fallback(code);
    }
    for (auto& [name, value] : page.headers)
      if (!is_hop_by_hop(name, "") && !iequals(name, "content-length"))
        reply.headers.emplace_back(std::move(name), std::move(value));
    reply.body = std::move(page.body);
    co_return reply;
  }

 private:
  std::string page_target(int code, int original) const {
    std::string q = policy_.query.empty() ? "/" : policy_.query;
    replace_all(q, "{status}", std::to_string(code));
    replace_all(q, "{originalStatus}", std::to_string(original));
    replace_all(q, "{url}", query_escape(url_));
    return q;
  }

  // The page's request: GET of `target` with the request's Host and the copied fields.
  RequestHead page_head(const std::string& target) {
    target_ = target;
    RequestHead head;
    head.method = "GET";
    head.target = target_;
    size_t q = target_.find('?');
    head.path = std::string_view(target_).substr(0, q);
    if (q != std::string::npos) head.query = std::string_view(target_).substr(q + 1);
    head.host = host_;
    for (const auto& [name, value] : fields_) {
      if (iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
          iequals(name, "expect"))
        continue;
      head.headers.push_back(HeaderField{name, value});
    }
    return head;
  }

  static LocalReply fallback(int code) {
    LocalReply reply;
    reply.status = code;
    reply.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    reply.body = error_body(code);
    return reply;
  }

  const ErrorsPolicy& policy_;  // the middleware's: it outlives the request
  std::string host_, url_, target_;
  std::vector<std::pair<std::string, std::string>> fields_;
};

class ErrorsMiddleware final : public Middleware {
 public:
  explicit ErrorsMiddleware(ErrorsPolicy policy) : policy_(std::move(policy)) {}
  unsigned phases() const override { return kErrorPagePhase; }
  std::unique_ptr<ErrorPage> plan_error_page(const RequestContext& ctx) const override {
    if (ctx.head.upgrade) return nullptr;
    return std::make_unique<PageFetch>(policy_, ctx);
  }

 private:
  ErrorsPolicy policy_;
};

}  // namespace

MiddlewarePtr make_errors_middleware(const config::ErrorsMw& spec, std::string* error) {
  ErrorsPolicy policy;
  auto status = config::parse_status_ranges(spec.status, error);
  if (!status) return *error = "errors.status: " + *error, nullptr;
  policy.status = std::move(*status);
  for (const auto& [from, to] : spec.status_rewrites) {
    auto ranges = config::parse_status_ranges({from}, error);
    if (!ranges) return *error = "errors.statusRewrites: " + *error, nullptr;
    int code = 0;
    auto [end, ec] = std::from_chars(to.data(), to.data() + to.size(), code);
    if (ec != std::errc() || end != to.data() + to.size() || code < 100 || code > 599)
      return *error = "errors.statusRewrites." + from + ": \"" + to + "\" is not a status code", nullptr;
    policy.rewrites.push_back({std::move(*ranges), code});
  }
  policy.service = spec.service;
  if (!spec.query.empty()) {
    std::string_view q = spec.query;
    if (q.front() == '/') q.remove_prefix(1);
    policy.query = "/" + std::string(q);
  }
  policy.headers = spec.error_request_headers;
  return std::make_shared<ErrorsMiddleware>(std::move(policy));
}

}  // namespace portier::proxy
