#pragma once
// The upstream's response body relayed to the client, written once for every codec: the
// upstream read loop with buffering.maxResponseBodyBytes, the response-body phase (compress,
// grpcWeb: the payload through RequestPipeline::filter_body(), the upstream's trailers offered
// to the filters) and the sending of a body collected whole (collect_response()). A codec only
// writes what the relay hands it, through the BodySink it implements: HTTP/1.1 socket writes
// (the upstream's framing as it came, chunked or unframed), HTTP/2 and HTTP/3 the stream's
// output buffer that the connection drains as DATA under flow control.
//
// Contract: worker thread; the pipeline, `up`, the sink and the watchdog outlive the returned
// coroutine (relay_framed() owns its sink, and the sink the upstream connection). Called once
// the response head is consumed from up.buf and built (HTTP/1.1 sends it with the body's first
// write) or submitted (HTTP/2, HTTP/3); `resp`'s views are not used (up.buf is read into),
// only its framing.
#include <chrono>
#include <memory>
#include <string_view>

#include "proxy/asio.hpp"
#include "proxy/buffered_body.hpp"
#include "proxy/http1_parser.hpp"
#include "proxy/io_buffer.hpp"
#include "proxy/request_pipeline.hpp"
#include "proxy/upstream_conn.hpp"
#include "proxy/watchdog.hpp"

namespace portier::proxy {

// Where a response body goes. Implemented by each codec; not owned by the relay.
class BodySink {
 public:
  // The buffer the relay appends the payload to (decoded, filtered, or read from a collected
  // body); push() hands it over. HTTP/2 and HTTP/3 hand out the stream's own output buffer, so
  // the payload is decoded straight into what the DATA frames are cut from.
  enum class Flow { go, drain, stop };
  virtual IoBuffer& payload() = 0;
  // Hands over what payload() holds. `last` ends the body; `trailers` then holds the
  // upstream's trailer section (HTTP/1.1 field lines, "" for none or when a filter took them),
  // for a codec that carries them. go: the relay goes on; drain: it co_awaits drain() first;
  // stop: the client is gone. Synchronous, so that a codec with room (HTTP/2 below its
  // high-water mark) costs no coroutine frame per read.
  virtual Flow push(bool last, std::string_view trailers) = 0;
  // Sends what push() handed over (HTTP/1.1's socket write) or waits for room (HTTP/2's data
  // provider). False: the client is gone or too slow, the relay stops.
  virtual awaitable<bool> drain() = 0;
  // The bound of the next wait for the upstream's bytes (the codec's write budget).
  virtual Watchdog::Clock::duration upstream_wait() = 0;

 protected:
  ~BodySink() = default;
};

// complete: the body ended as the upstream framed it and reached the sink. cut: the upstream
// failed or truncated it, a filter failed, it went past maxResponseBodyBytes, or the client is
// gone: the codec ends the response so it never looks complete (close, stream reset).
enum class Relayed { complete, cut };

// Relays the rest of the body from `up` (what up.buf holds first, then reads) into `sink`:
// the payload decoded from the upstream's framing, through the response-body filters when a
// middleware transforms it (RequestPipeline::filters_body()).
awaitable<Relayed> relay_body(RequestPipeline& pipeline, UpstreamConn& up, const ResponseHead& resp,
                              BodySink& sink, Watchdog& watchdog);

// Sends a body collected whole (RequestPipeline::collect_response()) through `sink`.
awaitable<Relayed> relay_collected(RequestPipeline& pipeline, BufferedBody& body, BodySink& sink);

// Over buffering.maxResponseBodyBytes (`max`, 0: none) mid-stream: the relay cuts the body,
// never completes it (as Traefik).
inline bool over_response_limit(int64_t max, uint64_t bytes) {
  return max > 0 && bytes > static_cast<uint64_t>(max);
}
// Whether the upstream connection may carry another request after a complete relay of
// `resp` (keep-alive, a delimited body), once its buffer holds nothing more.
inline bool reusable(const ResponseHead& resp) {
  return resp.keep_alive && resp.body != BodyKind::until_close;
}

// HTTP/1.1's fast path, when no filter transforms the body: the upstream's framing written
// through unchanged (no decoding, no copy), the bytes consumed from the upstream's buffer once
// written. A template on the codec's writer, which is moved into this frame and owns the
// upstream connection: a write is the socket operation itself, awaited from this frame (no
// coroutine frame and no virtual call per write), and the codec's call that starts the relay
// need not be a coroutine (one frame per response). FramedSink has
//   Result                           what the relay returns: finish()'s
//   UpstreamConn& upstream()
//   bool arm_write()                 arms the write timeout; false: the response must not go on
//   write_framed(std::string_view)   a deferred write (use_tuple) of the bytes, after the
//                                    response head on the first call (always made; later calls
//                                    only with bytes), yielding (error_code, size_t)
//   Watchdog::Clock::duration upstream_wait()
//   Result finish(Relayed, bool resp_reusable)   after the relay, with relay_framed()'s
//                                    `resp_reusable` (reusable() of the response)
template <class FramedSink>
awaitable<typename FramedSink::Result> relay_framed(RequestPipeline& pipeline, BodyKind kind,
                                                    uint64_t length, bool resp_reusable,
                                                    FramedSink sink, Watchdog& watchdog) {
  const int64_t max = pipeline.limits().max_response;
  UpstreamConn& up = sink.upstream();
  BodyFraming framing(kind, length);
  Relayed end = Relayed::cut;
  for (bool first = true;; first = false) {
    std::string_view avail = up.buf.readable();
    size_t take = 0;
    auto step = framing.feed(avail, &take);
    if (step == BodyFraming::Step::error || over_response_limit(max, framing.body_bytes())) break;
    if (first || take > 0) {
      if (!sink.arm_write()) break;
      auto [ec, n] = co_await sink.write_framed(avail.substr(0, take));
      if (ec) break;
      up.buf.consume(take);
    }
    pipeline.note_response_body(framing.body_bytes());
    if (step == BodyFraming::Step::done) {
      end = Relayed::complete;
      break;
    }
    watchdog.arm(sink.upstream_wait());
    auto [ec, n] = co_await up.read_some(up.buf.prepare(16384, 65536));
    if (ec == asio::error::eof && kind == BodyKind::until_close) {
      end = Relayed::complete;
      break;
    }
    if (ec) break;  // truncated: the client must not see a complete message
    up.buf.commit(n);
  }
  co_return sink.finish(end, resp_reusable);
}

}  // namespace portier::proxy
