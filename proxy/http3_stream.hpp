#pragma once
// One HTTP/3 request stream: the state the exchange shares with every request stream
// (Http2Stream: fields, body, response bytes, close) plus what QUIC needs. Response bytes
// handed to nghttp3 must stay where they are until the peer acknowledges them, so they move
// from `out` into `unacked` when nghttp3 reads them. Worker thread only.
#include <cstdint>
#include <deque>
#include <string>

#include "proxy/http2_stream.hpp"

namespace portier::proxy {

struct Http3Stream : Http2Stream {
  Http3Stream(asio::any_io_executor ex, int64_t stream_id) : Http2Stream(std::move(ex), 0), quic_id(stream_id) {}

  const int64_t quic_id;
  std::deque<std::string> unacked;  // body bytes given to nghttp3, oldest first
  uint64_t acked_front = 0;         // bytes of unacked.front() acknowledged already
  bool started = false;             // the exchange runs (or ran)
};

}  // namespace portier::proxy
