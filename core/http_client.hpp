#pragma once
// A small HTTP/1.1 client for the control plane (Docker Engine API, later ACME and
// Cloudflare): one connection per request, every network step under a deadline.
//
// Endpoints: "unix:///path/to.sock", "tcp://host:port", "http://host[:port][/base]",
// "https://host[:port][/base]". A base path is prepended to every request target. https
// verifies the server's chain against the system roots plus options.extra_ca_files and its
// name (DNS name or IP address) against the URL's host; SNI is sent for DNS names.
//
// Thread: an HttpClient lives on one io_context (the control thread) and is used only from
// coroutines running there. Requests may run concurrently on one client.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace boost::asio::ssl {
class context;
}
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portier::core {

class ByteStream;
class TlsStream;  // beast::ssl_stream<beast::tcp_stream>, kept out of this header

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";  // origin-form: "/containers/json?all=0"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponse {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercase
  std::string body;  // empty in streaming mode

  // First value of header `name` (case-insensitive), "" when absent.
  std::string header(std::string_view name) const;
};

// Value-or-error: `error` is empty on success (any HTTP status is a success here).
struct HttpResult {
  HttpResponse response;
  std::string error;
  bool ok() const { return error.empty(); }
};

// A parsed endpoint.
struct HttpEndpoint {
  enum class Kind { unix_socket, tcp };
  Kind kind = Kind::tcp;
  std::string path;  // unix socket path
  std::string host;  // tcp host
  std::string port;  // tcp port
  std::string host_header;  // value for the Host header
  bool tls = false;          // https://
  std::string base_path;     // "/client/v4" for "https://api.cloudflare.com/client/v4", else ""

  // Parses `url`; returns "" or what is wrong.
  static std::string parse(std::string_view url, HttpEndpoint& out);
};

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};  // whole exchange, non-streaming
  std::size_t body_limit = 64 * 1024 * 1024;
  // https only: PEM files of extra trusted roots (LEGO_CA_CERTIFICATES), and whether the
  // system's default roots are trusted too.
  std::vector<std::string> extra_ca_files;
  bool system_roots = true;
  // tcp:// endpoints speak TLS too (Docker's --tlsverify), verified as https is.
  bool tls_over_tcp = false;
  // Client certificate presented in TLS handshakes, PEM file paths ("" = none).
  std::string client_cert_file;
  std::string client_key_file;
  bool insecure_skip_verify = false;  // no chain or name verification of the server
};

// Cancels a running `stream()` call from the same thread: closes its connection. A no-op
// before the call connected and once its stream is gone, however its frame ended.
class StreamCanceller {
 public:
  void cancel() const;
  explicit operator bool() const { return static_cast<bool>(close_); }

 private:
  friend class HttpClient;
  std::function<void()> close_;  // holds the stream weakly
};

class HttpClient {
 public:
  // `endpoint` must parse (see HttpEndpoint::parse); a bad one (or an unreadable CA file)
  // makes every call fail with that error.
  HttpClient(boost::asio::any_io_executor executor, std::string endpoint,
             HttpClientOptions options = {});

  ~HttpClient();
  const std::string& endpoint() const { return endpoint_text_; }
  // "" when the endpoint and its TLS settings are usable, else why not.
  const std::string& error() const { return endpoint_error_; }

  // One request/response exchange, body read whole (up to options.body_limit).
  boost::asio::awaitable<HttpResult> request(HttpRequest request);

  // Streaming mode: sends `request`, reads the header under the request timeout, then
  // delivers body bytes to `on_data` as they arrive (chunked decoding done), without a read
  // deadline, until the server closes, a read fails, or `canceller.cancel()` is called.
  // Returns the response header; `error` tells why the stream ended ("" = clean end of body).
  // `on_data` is not called when the status is not 2xx; then the body is in response.body.
  boost::asio::awaitable<HttpResult> stream(HttpRequest request,
                                            std::function<void(std::string_view)> on_data,
                                            StreamCanceller* canceller = nullptr);

 private:
  boost::asio::any_io_executor executor_;
  std::string endpoint_text_;
  HttpEndpoint endpoint_;
  std::string endpoint_error_;
  HttpClientOptions options_;
  std::shared_ptr<boost::asio::ssl::context> ssl_;  // https only

  std::string make_tls_context();
  boost::asio::awaitable<std::string> connect(std::unique_ptr<ByteStream>& out);
  boost::asio::awaitable<std::string> tls_handshake(TlsStream& stream);
};

}  // namespace portier::core
