#pragma once
// One HTTP/2 or HTTP/3 request proxied to an HTTP/1.1 upstream: routing on the pinned snapshot,
// server choice, the upstream request (head, then the body from DATA frames as the upstream
// accepts it), and the response streamed back through the stream's data provider.
// Worker thread; `conn` (an Http2Connection or Http3Connection) outlives the returned coroutine.
#include <memory>

#include "proxy/asio.hpp"

namespace portier::proxy {

class StreamHost;
struct Http2Stream;

awaitable<void> run_http2_exchange(StreamHost& conn, std::shared_ptr<Http2Stream> stream);

}  // namespace portier::proxy
