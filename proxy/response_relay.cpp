#include "proxy/response_relay.hpp"

#include <algorithm>

#include "proxy/body_decoder.hpp"

namespace portier::proxy {
namespace {

// The payload decoded from the upstream's framing, through the response-body filters when a
// middleware transforms it, into sink.payload(); one push per upstream read, so a streamed
// response keeps streaming.
awaitable<Relayed> relay_decoded(RequestPipeline& pipeline, UpstreamConn& up, BodyKind kind,
                                 uint64_t length, BodySink& sink, Watchdog& watchdog) {
  const int64_t max = pipeline.limits().max_response;
  const bool filtered = pipeline.filters_body();
  BodyDecoder decoder(kind, length);
  IoBuffer payload;  // a filtered body's payload, before the filters
  IoBuffer& out = sink.payload();
  uint64_t relayed = 0;
  for (bool eof = false;;) {
    size_t used = 0;
    size_t before = out.size();
    auto step = decoder.feed(up.buf.readable(), &used, filtered ? payload : out);
    if (step == BodyDecoder::Result::error) co_return Relayed::cut;
    up.buf.consume(used);
    if (over_response_limit(max, decoder.decoded())) co_return Relayed::cut;
    bool done = step == BodyDecoder::Result::done || eof;
    std::string_view trailers = done ? std::string_view(decoder.trailers()) : std::string_view();
    if (filtered) {
      if (done && pipeline.take_trailers(trailers)) trailers = {};
      if (!pipeline.filter_body(payload.readable(), done, out)) co_return Relayed::cut;
      payload.consume(payload.size());
    }
    relayed += out.size() - before;
    pipeline.note_response_body(relayed);
    BodySink::Flow flow = sink.push(done, trailers);
    if (flow == BodySink::Flow::drain) {
      bool drained = co_await sink.drain();
      if (!drained) flow = BodySink::Flow::stop;
    }
    if (flow == BodySink::Flow::stop) co_return Relayed::cut;
    if (done) co_return Relayed::complete;
    watchdog.arm(sink.upstream_wait());
    auto [ec, n] = co_await up.read_some(up.buf.prepare(16384, 65536));
    if (ec == asio::error::eof && kind == BodyKind::until_close) {
      eof = true;  // the body ends here: one more pass flushes the filters
      continue;
    }
    if (ec) co_return Relayed::cut;  // truncated: the client must not see a complete message
    up.buf.commit(n);
  }
}

}  // namespace

// Not a coroutine: the loop is the only frame.
awaitable<Relayed> relay_body(RequestPipeline& pipeline, UpstreamConn& up, const ResponseHead& resp,
                              BodySink& sink, Watchdog& watchdog) {
  return relay_decoded(pipeline, up, resp.body, resp.content_length, sink, watchdog);
}

awaitable<Relayed> relay_collected(RequestPipeline& pipeline, BufferedBody& body, BodySink& sink) {
  constexpr size_t kChunk = 65536;
  pipeline.note_response_body(body.size());
  IoBuffer& out = sink.payload();
  for (size_t offset = 0;;) {
    size_t want = std::min(kChunk, body.size() - offset);
    if (want > 0) {
      size_t n = body.read(offset, static_cast<char*>(out.prepare(want).data()), want);
      if (n == 0) co_return Relayed::cut;  // the temp file failed
      out.commit(n);
      offset += n;
    }
    bool last = offset == body.size();
    BodySink::Flow flow = sink.push(last, {});
    if (flow == BodySink::Flow::drain) {
      bool drained = co_await sink.drain();
      if (!drained) flow = BodySink::Flow::stop;
    }
    if (flow == BodySink::Flow::stop) co_return Relayed::cut;
    if (last) co_return Relayed::complete;
  }
}

}  // namespace portier::proxy
