#include "core/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>

namespace portier::core {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
constexpr auto tok = asio::as_tuple(asio::use_awaitable);
using UnixStream = beast::basic_stream<asio::local::stream_protocol>;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string describe(const boost::system::error_code& ec, std::string_view what) {
  if (ec == beast::error::timeout) return std::string(what) + ": timeout";
  return std::string(what) + ": " + ec.message();
}

template <class Fields>
void copy_headers(const Fields& fields, HttpResponse& out) {
  for (const auto& f : fields) out.headers.emplace_back(lower(f.name_string()), std::string(f.value()));
}

http::request<http::string_body> build_request(HttpRequest& in, const HttpEndpoint& ep) {
  http::request<http::string_body> req;
  req.method_string(in.method);
  req.target(in.target);
  req.version(11);
  req.set(http::field::host, ep.host_header);
  req.set(http::field::user_agent, "portier");
  for (auto& [name, value] : in.headers) req.set(name, value);
  req.keep_alive(false);
  if (!in.body.empty() || in.method == "POST" || in.method == "PUT") {
    req.body() = std::move(in.body);
    req.prepare_payload();
  }
  return req;
}

// Whole exchange under one deadline.
template <class Stream>
awaitable<HttpResult> exchange(Stream& stream, http::request<http::string_body>& req,
                               const HttpClientOptions& opt) {
  HttpResult result;
  stream.expires_after(opt.request_timeout);
  auto [wec, wn] = co_await http::async_write(stream, req, tok);
  if (wec) co_return HttpResult{{}, describe(wec, "write")};
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(opt.body_limit);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, tok);
  if (rec) co_return HttpResult{{}, describe(rec, "read")};
  auto& res = parser.get();
  result.response.status = res.result_int();
  copy_headers(res.base(), result.response);
  result.response.body = std::move(res.body());
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::socket_base::shutdown_both, ignored);
  co_return result;
}

template <class Stream>
awaitable<HttpResult> exchange_stream(Stream& stream, http::request<http::string_body>& req,
                                      const HttpClientOptions& opt,
                                      const std::function<void(std::string_view)>& on_data) {
  HttpResult result;
  stream.expires_after(opt.request_timeout);
  auto [wec, wn] = co_await http::async_write(stream, req, tok);
  if (wec) co_return HttpResult{{}, describe(wec, "write")};
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, tok);
  if (hec) co_return HttpResult{{}, describe(hec, "read header")};
  stream.expires_never();
  result.response.status = parser.get().result_int();
  copy_headers(parser.get().base(), result.response);
  const bool success = result.response.status / 100 == 2;
  if (!success) stream.expires_after(opt.request_timeout);
  char chunk[16384];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    auto [ec, n] = co_await http::async_read_some(stream, buffer, parser, tok);
    if (ec == http::error::need_buffer) ec = {};
    std::size_t got = sizeof chunk - parser.get().body().size;
    if (got > 0) {
      if (success) on_data(std::string_view(chunk, got));
      else if (result.response.body.size() < opt.body_limit) result.response.body.append(chunk, got);
    }
    if (ec) {
      result.error = ec == http::error::end_of_stream || ec == http::error::partial_message ||
                             ec == asio::error::eof
                         ? "end of stream"
                         : describe(ec, "stream");
      co_return result;
    }
  }
  co_return result;
}

template <class Stream>
std::shared_ptr<std::function<void()>> make_closer(Stream& stream) {
  return std::make_shared<std::function<void()>>([&stream] {
    boost::system::error_code ignored;
    stream.socket().cancel(ignored);
    stream.socket().close(ignored);
  });
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  std::string key = lower(name);
  for (const auto& [k, v] : headers)
    if (k == key) return v;
  return {};
}

void StreamCanceller::cancel() const {
  if (close_ && *close_) (*close_)();
}

std::string HttpEndpoint::parse(std::string_view url, HttpEndpoint& out) {
  out = {};
  auto take = [&](std::string_view prefix) {
    if (url.substr(0, prefix.size()) != prefix) return false;
    url.remove_prefix(prefix.size());
    return true;
  };
  if (take("unix://")) {
    if (url.empty() || url.front() != '/') return "unix endpoint needs an absolute path";
    out.kind = Kind::unix_socket;
    out.path = std::string(url);
    out.host_header = "localhost";  // what the docker CLI sends
    return {};
  }
  if (take("https://")) return "https endpoints are not supported yet";
  if (!take("tcp://") && !take("http://")) return "endpoint must start with unix://, tcp:// or http://";
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  out.kind = Kind::tcp;
  out.host_header = std::string(url);
  std::size_t colon = url.rfind(':');
  if (!url.empty() && url.front() == '[') {
    std::size_t close = url.find(']');
    if (close == std::string_view::npos) return "unterminated IPv6 address";
    out.host = std::string(url.substr(1, close - 1));
    out.port = close + 1 < url.size() && url[close + 1] == ':' ? std::string(url.substr(close + 2)) : "";
  } else if (colon != std::string_view::npos) {
    out.host = std::string(url.substr(0, colon));
    out.port = std::string(url.substr(colon + 1));
  } else {
    out.host = std::string(url);
  }
  if (out.port.empty()) out.port = "2375";
  if (out.host.empty()) return "endpoint has no host";
  for (char c : out.port)
    if (!std::isdigit(static_cast<unsigned char>(c))) return "invalid port \"" + out.port + "\"";
  return {};
}

HttpClient::HttpClient(asio::any_io_executor executor, std::string endpoint, HttpClientOptions options)
    : executor_(std::move(executor)), endpoint_text_(std::move(endpoint)), options_(options) {
  endpoint_error_ = HttpEndpoint::parse(endpoint_text_, endpoint_);
}

awaitable<HttpResult> HttpClient::request(HttpRequest in) {
  co_return co_await stream(std::move(in), nullptr, nullptr);
}

awaitable<HttpResult> HttpClient::stream(HttpRequest in, std::function<void(std::string_view)> on_data,
                                         StreamCanceller* canceller) {
  if (!endpoint_error_.empty()) co_return HttpResult{{}, endpoint_text_ + ": " + endpoint_error_};
  auto req = build_request(in, endpoint_);
  std::shared_ptr<std::function<void()>> slot;
  HttpResult result;
  if (endpoint_.kind == HttpEndpoint::Kind::unix_socket) {
    UnixStream s(executor_);
    s.expires_after(options_.connect_timeout);
    auto [ec] = co_await s.async_connect(asio::local::stream_protocol::endpoint(endpoint_.path), tok);
    if (ec) co_return HttpResult{{}, describe(ec, "connect " + endpoint_text_)};
    if (canceller) canceller->close_ = slot = make_closer(s);
    if (on_data) result = co_await exchange_stream(s, req, options_, on_data);
    else result = co_await exchange(s, req, options_);
  } else {
    asio::ip::tcp::resolver resolver(executor_);
    auto [rec, endpoints] = co_await resolver.async_resolve(endpoint_.host, endpoint_.port, tok);
    if (rec) co_return HttpResult{{}, describe(rec, "resolve " + endpoint_.host)};
    beast::tcp_stream s(executor_);
    s.expires_after(options_.connect_timeout);
    auto [ec, ep] = co_await s.async_connect(endpoints, tok);
    if (ec) co_return HttpResult{{}, describe(ec, "connect " + endpoint_text_)};
    if (canceller) canceller->close_ = slot = make_closer(s);
    if (on_data) result = co_await exchange_stream(s, req, options_, on_data);
    else result = co_await exchange(s, req, options_);
  }
  if (slot) *slot = nullptr;  // the stream dies with this frame
  co_return result;
}

}  // namespace portier::core
