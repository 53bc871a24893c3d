#pragma once
// The state of one HTTP/2 request stream, shared by the connection's nghttp2 callbacks (which
// only record into it) and the stream's exchange coroutine. Worker thread only; owned by
// shared_ptr from the connection's stream map and from the exchange.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "proxy/asio.hpp"
#include "proxy/io_buffer.hpp"

namespace portier::proxy {

struct Http2Stream {
  Http2Stream(asio::any_io_executor ex, int32_t stream_id) : id(stream_id), event(ex), out_event(ex) {
    event.expires_at(asio::steady_timer::time_point::max());
    out_event.expires_at(asio::steady_timer::time_point::max());
  }

  // Cancels the pending waits of the exchange, if any (the exchange re-checks the state).
  void wake() {
    event.cancel();
    out_event.cancel();
  }

  const int32_t id;

  // ---- request, written by callbacks ----
  std::vector<std::pair<std::string, std::string>> fields;  // as received, pseudo-headers too
  size_t header_bytes = 0;         // RFC 9113 accounting: name + value + 32 per field
  bool headers_too_large = false;  // beyond HttpLimits: answered 431
  bool end_at_headers = false;     // END_STREAM on the request HEADERS: no body
  bool request_end = false;        // END_STREAM seen
  IoBuffer body;                   // DATA not yet handed upstream; not yet consumed (flow control)
  bool discard_body = false;       // exchange over: DATA is consumed and dropped on arrival
  bool last_request = false;       // keepAliveMax*: the connection drains once this stream closes

  // ---- response, written by the exchange, read by the data provider ----
  IoBuffer out;            // body bytes for nghttp2
  bool out_eof = false;    // no more body after `out`
  std::vector<std::pair<std::string, std::string>> trailers;  // sent after the body when set
  bool deferred = false;   // the data provider returned NGHTTP2_ERR_DEFERRED
  bool responded = false;  // a response head was submitted

  // ---- lifetime ----
  bool closed = false;  // nghttp2 closed the stream (done, reset, or connection gone)
  uint32_t close_code = 0;
  tcp::socket* upstream = nullptr;  // cancelled when the stream closes; set by the exchange
  asio::steady_timer event;         // the exchange waits on it; wake() cancels
  asio::steady_timer out_event;     // a WebSocket tunnel's second direction waits on this one
};

}  // namespace portier::proxy
