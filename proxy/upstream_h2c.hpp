#pragma once
// h2c upstreams (cleartext HTTP/2 with prior knowledge, e.g. gRPC servers): an nghttp2 client
// session on the upstream socket that presents HTTP/1.1 bytes to the proxy's sessions, so
// they forward to h2c servers exactly as to HTTP/1.1 ones.
//
// What the session writes (one HTTP/1.1 request: head, then a Content-Length or chunked
// body) becomes HEADERS and DATA on a new stream; the response HEADERS, DATA and trailers are
// rendered as an HTTP/1.1 response for read_some (chunked, with the trailers, unless the
// server sent a Content-Length). One request at a time per connection: the connection is
// pooled and reused sequentially (a new stream per request). No Upgrade requests.
// Owned by an UpstreamConn, on its thread; the nghttp2 callbacks only record state.
#include <nghttp2/nghttp2.h>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "proxy/asio.hpp"
#include "proxy/http1_parser.hpp"
#include "proxy/http2_chunked_decoder.hpp"
#include "proxy/io_buffer.hpp"

namespace portier::proxy {

class H2cChannel {
 public:
  using IoResult = std::tuple<error_code, size_t>;

  explicit H2cChannel(tcp::socket& socket) : socket_(socket) {}
  ~H2cChannel();
  H2cChannel(const H2cChannel&) = delete;
  H2cChannel& operator=(const H2cChannel&) = delete;

  // Once connected: creates the client session and queues the preface and SETTINGS.
  bool open();
  // Takes HTTP/1.1 request bytes; returns once they are handed to the connection (the body
  // may wait for flow control, bounded). Errors: a malformed or unsupported request, I/O.
  awaitable<IoResult> write(std::vector<asio::const_buffer> bufs);
  // HTTP/1.1 response bytes as they arrive; eof after the end of the response.
  awaitable<IoResult> read_some(asio::mutable_buffer b);
  // For the pool, between requests: processes what the server sent meanwhile (SETTINGS, PING,
  // WINDOW_UPDATE, GOAWAY) without blocking. False when no further request can be sent.
  bool usable_when_idle();
  // Frees the I/O buffers while the connection is idle in the pool.
  void release_buffers();

 private:
  struct Callbacks;

  error_code take_request(std::string_view data);
  error_code start_stream(const RequestHead& head);
  void reset_exchange();
  awaitable<error_code> flush();
  awaitable<error_code> receive();
  bool recv_bytes(const char* data, size_t n);
  void render_head(bool end_stream);
  void end_response();
  IoResult done_result() const;

  tcp::socket& socket_;
  nghttp2_session* session_ = nullptr;
  bool broken_ = false;  // protocol or I/O error: the connection is done
  bool goaway_ = false;

  // ---- request of the current exchange ----
  enum class Req { head, body, done };
  Req req_ = Req::head;
  std::string head_;  // request head bytes until complete
  BodyKind req_body_ = BodyKind::none;
  uint64_t req_remaining_ = 0;
  ChunkedDecoder chunked_;
  IoBuffer req_data_;  // decoded body bytes not yet in DATA frames
  bool req_eof_ = false;
  bool deferred_ = false;
  int32_t stream_id_ = -1;

  // ---- response of the current exchange ----
  int status_ = 0;
  std::vector<std::pair<std::string, std::string>> fields_;  // of the HEADERS being received
  bool head_rendered_ = false;
  bool chunked_out_ = false;
  bool response_ended_ = false;
  bool stream_closed_ = false;
  uint32_t close_code_ = 0;
  IoBuffer out_;  // rendered HTTP/1.1 bytes for read_some
  std::string send_buf_;
  std::vector<char> recv_buf_;
};

}  // namespace portier::proxy
