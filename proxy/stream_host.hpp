#pragma once
// What a request stream's exchange (proxy/http2_exchange.*) needs of the connection it runs
// on: the HTTP/2 connection (nghttp2) and the HTTP/3 connection (nghttp3 over ngtcp2) both
// carry requests as streams of the same shape (Http2Stream), so one exchange drives the
// request pipeline for both. Worker thread only; the host outlives the exchanges it runs.
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <vector>

#include "proxy/asio.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/http2_stream.hpp"

namespace portier::proxy {

class Worker;
struct ListenerInfo;

class StreamHost {
 public:
  virtual ~StreamHost() = default;
  virtual Worker& worker() = 0;
  virtual const ListenerInfo& info() const = 0;
  // The connection's client, with the TLS facts of its handshake (the pipeline's 421 check,
  // the access log, passTLSClientCert): set before the first exchange starts.
  virtual const ClientInfo& client() const = 0;
  // For the access log: 20 (HTTP/2) or 30 (HTTP/3).
  virtual int http_version() const = 0;
  virtual asio::any_io_executor executor() const = 0;
  // Submits a response head (`nva` as nghttp2 fields, copied); with `has_body` the body is
  // pulled from stream.out until stream.out_eof. False when the stream is gone.
  virtual bool submit_response(Http2Stream& s, const std::vector<nghttp2_nv>& nva, bool has_body) = 0;
  virtual void submit_continue(Http2Stream& s) = 0;
  // More of stream.out, or its end, is available.
  virtual void resume(Http2Stream& s) = 0;
  // `n` request body bytes left stream.body for good: reopens the flow-control windows.
  virtual void consume(Http2Stream& s, size_t n) = 0;
  // Resets the stream; `code` is an HTTP/2 error code (an HTTP/3 host maps it).
  virtual void reset(Http2Stream& s, uint32_t code) = 0;

  // When the exchange of `s` has ended: later request DATA is dropped on arrival, what is
  // buffered is consumed (the windows reopen) and a stream left without a response is reset.
  void exchange_over(Http2Stream& s) {
    s.discard_body = true;
    s.upstream = nullptr;
    if (!s.body.empty()) {
      consume(s, s.body.size());
      s.body.consume(s.body.size());
    }
    s.body.release_if_empty();
    if (!s.closed && !s.responded) reset(s, NGHTTP2_INTERNAL_ERROR);
  }
};

}  // namespace portier::proxy
