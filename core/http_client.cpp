#include "core/http_client.hpp"

#include "core/byte_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cctype>
#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace portier::core {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
constexpr auto tok = asio::as_tuple(asio::use_awaitable);
using UnixStream = beast::basic_stream<asio::local::stream_protocol>;

bool is_end_of_stream(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof ||
         ec == asio::ssl::error::stream_truncated;
}

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
  req.target(ep.base_path + in.target);
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
awaitable<HttpResult> exchange(ByteStream& stream, http::request<http::string_body>& req,
                               const HttpClientOptions& opt) {
  HttpResult result;
  stream.transport().expires_after(opt.request_timeout);
  auto [wec, wn] = co_await http::async_write(stream, req, tok);
  if (wec) co_return HttpResult{{}, describe(wec, "write")};
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  if (req.method() == http::verb::head) parser.skip(true);
  parser.body_limit(opt.body_limit);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, tok);
  if (rec) co_return HttpResult{{}, describe(rec, "read")};
  auto& res = parser.get();
  result.response.status = res.result_int();
  copy_headers(res.base(), result.response);
  result.response.body = std::move(res.body());
  stream.transport().shutdown();
  co_return result;
}

awaitable<HttpResult> exchange_stream(ByteStream& stream, http::request<http::string_body>& req,
                                      const HttpClientOptions& opt,
                                      const std::function<void(std::string_view)>& on_data) {
  HttpResult result;
  auto& lowest = stream.transport();
  lowest.expires_after(opt.request_timeout);
  auto [wec, wn] = co_await http::async_write(stream, req, tok);
  if (wec) co_return HttpResult{{}, describe(wec, "write")};
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, tok);
  if (hec) co_return HttpResult{{}, describe(hec, "read header")};
  lowest.expires_never();
  result.response.status = parser.get().result_int();
  copy_headers(parser.get().base(), result.response);
  const bool success = result.response.status / 100 == 2;
  if (!success) lowest.expires_after(opt.request_timeout);
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
      result.error = is_end_of_stream(ec) ? "end of stream" : describe(ec, "stream");
      co_return result;
    }
  }
  co_return result;
}

}  // namespace

class TlsStream : public beast::ssl_stream<beast::tcp_stream> {
 public:
  using beast::ssl_stream<beast::tcp_stream>::ssl_stream;
};

std::string HttpResponse::header(std::string_view name) const {
  std::string key = lower(name);
  for (const auto& [k, v] : headers)
    if (k == key) return v;
  return {};
}

void StreamCanceller::cancel() const {
  if (close_) close_();
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
  std::string default_port = "2375";
  if (take("https://")) {
    out.tls = true;
    default_port = "443";
  } else if (take("http://")) {
    default_port = "80";
  } else if (!take("tcp://")) {
    return "endpoint must start with unix://, tcp://, http:// or https://";
  }
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  if (std::size_t slash = url.find('/'); slash != std::string_view::npos) {
    out.base_path = std::string(url.substr(slash));
    url = url.substr(0, slash);
  }
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
  if (out.port.empty()) out.port = default_port;
  if (out.host.empty()) return "endpoint has no host";
  for (char c : out.port)
    if (!std::isdigit(static_cast<unsigned char>(c))) return "invalid port \"" + out.port + "\"";
  return {};
}

HttpClient::HttpClient(asio::any_io_executor executor, std::string endpoint, HttpClientOptions options)
    : executor_(std::move(executor)), endpoint_text_(std::move(endpoint)), options_(std::move(options)) {
  endpoint_error_ = HttpEndpoint::parse(endpoint_text_, endpoint_);
  if (options_.tls_over_tcp && endpoint_text_.rfind("tcp://", 0) == 0) endpoint_.tls = true;
  if (endpoint_error_.empty() && endpoint_.tls) endpoint_error_ = make_tls_context();
}

HttpClient::~HttpClient() = default;

std::string HttpClient::make_tls_context() {
  ssl_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  ssl_->set_verify_mode(asio::ssl::verify_peer);
  SSL_CTX_set_min_proto_version(ssl_->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  if (options_.system_roots) ssl_->set_default_verify_paths(ec);  // missing roots: extra files may do
  for (const auto& file : options_.extra_ca_files) {
    ssl_->load_verify_file(file, ec);
    if (ec) return "CA certificate file " + file + ": " + ec.message();
  }
  if (options_.insecure_skip_verify) ssl_->set_verify_mode(asio::ssl::verify_none);
  if (!options_.client_cert_file.empty()) {
    ssl_->use_certificate_chain_file(options_.client_cert_file, ec);
    if (ec) return "client certificate file " + options_.client_cert_file + ": " + ec.message();
    ssl_->use_private_key_file(options_.client_key_file, asio::ssl::context::pem, ec);
    if (ec) return "client key file " + options_.client_key_file + ": " + ec.message();
  }
  return {};
}

// Handshake on a connected TLS stream: SNI for DNS names, chain and name verification.
awaitable<std::string> HttpClient::tls_handshake(TlsStream& s) {
  SSL* ssl = s.native_handle();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  boost::system::error_code aec;
  asio::ip::make_address(endpoint_.host, aec);
  if (aec) {
    SSL_set_tlsext_host_name(ssl, endpoint_.host.c_str());
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    X509_VERIFY_PARAM_set1_host(param, endpoint_.host.c_str(), 0);
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(param, endpoint_.host.c_str());
  }
  auto [ec] = co_await s.async_handshake(asio::ssl::stream_base::client, tok);
  if (!ec) co_return std::string();
  std::string why = describe(ec, "TLS handshake with " + endpoint_text_);
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) why += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
  co_return why;
}

// A connected (and for TLS, handshaken) stream to the endpoint, or why not.
awaitable<std::string> HttpClient::connect(std::unique_ptr<ByteStream>& out) {
  if (endpoint_.kind == HttpEndpoint::Kind::unix_socket) {
    auto t = std::make_unique<TransportOf<UnixStream>>(executor_);
    t->stream().expires_after(options_.connect_timeout);
    auto [ec] = co_await t->stream().async_connect(asio::local::stream_protocol::endpoint(endpoint_.path), tok);
    if (ec) co_return describe(ec, "connect " + endpoint_text_);
    out = std::make_unique<ByteStream>(std::move(t));
    co_return std::string();
  }
  asio::ip::tcp::resolver resolver(executor_);
  auto [rec, endpoints] = co_await resolver.async_resolve(endpoint_.host, endpoint_.port, tok);
  if (rec) co_return describe(rec, "resolve " + endpoint_.host);
  if (endpoint_.tls) {
    auto t = std::make_unique<TransportOf<TlsStream>>(executor_, *ssl_);
    auto& lowest = beast::get_lowest_layer(t->stream());
    lowest.expires_after(options_.connect_timeout);
    auto [ec, ep] = co_await lowest.async_connect(endpoints, tok);
    if (ec) co_return describe(ec, "connect " + endpoint_text_);
    std::string hs = co_await tls_handshake(t->stream());
    if (!hs.empty()) co_return hs;
    out = std::make_unique<ByteStream>(std::move(t));
    co_return std::string();
  }
  auto t = std::make_unique<TransportOf<beast::tcp_stream>>(executor_);
  t->stream().expires_after(options_.connect_timeout);
  auto [ec, ep] = co_await t->stream().async_connect(endpoints, tok);
  if (ec) co_return describe(ec, "connect " + endpoint_text_);
  out = std::make_unique<ByteStream>(std::move(t));
  co_return std::string();
}

awaitable<HttpResult> HttpClient::request(HttpRequest in) {
  co_return co_await stream(std::move(in), nullptr, nullptr);
}

awaitable<HttpResult> HttpClient::stream(HttpRequest in, std::function<void(std::string_view)> on_data,
                                         StreamCanceller* canceller) {
  if (!endpoint_error_.empty()) co_return HttpResult{{}, endpoint_text_ + ": " + endpoint_error_};
  auto req = build_request(in, endpoint_);
  std::unique_ptr<ByteStream> connected;
  std::string error = co_await connect(connected);
  if (!error.empty()) co_return HttpResult{{}, error};
  // The canceller holds the stream weakly: however this frame ends (the exchange done, an
  // exception, the frame destroyed at shutdown), cancel() afterwards finds nothing to close.
  std::shared_ptr<ByteStream> s = std::move(connected);
  if (canceller) {
    canceller->close_ = [weak = std::weak_ptr<ByteStream>(s)] {
      if (auto stream = weak.lock()) stream->transport().close();
    };
  }
  if (on_data) co_return co_await exchange_stream(*s, req, options_, on_data);
  co_return co_await exchange(*s, req, options_);
}

}  // namespace portier::core
