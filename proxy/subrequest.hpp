#pragma once
// One HTTP/1.1 exchange portier makes on its own behalf from a worker (forwardAuth's
// authentication request, a mirroring service's copies): the answer is read whole.
// It takes an idle keep-alive connection to the server from the worker's UpstreamPool when
// there is one (retried once on a fresh connection when that one turns out dead before
// answering) and gives it back when the answer was complete. One deadline bounds the whole
// exchange: dial, TLS handshake, write, head and body.
// Worker thread only; `server` and `worker` outlive the call.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/asio.hpp"
#include "proxy/middleware.hpp"

namespace portier::proxy {

struct UpstreamServer;
class Worker;

struct SubrequestResult {
  int status = 0;      // 0: no answer (error says why)
  HeaderList headers;  // as received (names as sent), hop-by-hop fields included
  std::string body;
  bool too_large = false;  // the body passed max_body (status is set, body is not)
  std::string error;
};

// max_body: the response body is read and dropped, not kept (a mirror's copy).
inline constexpr int64_t kDiscardBody = -2;

// `head`: the complete request head ("GET /x HTTP/1.1\r\n...\r\n\r\n"), followed by `body`
// (the head frames it). max_body: -1 no limit, kDiscardBody, else the limit.
awaitable<SubrequestResult> send_subrequest(Worker& worker, const UpstreamServer& server,
                                            const std::string& head, bool head_request,
                                            int64_t max_body, std::chrono::milliseconds timeout,
                                            std::string_view body = {});

}  // namespace portier::proxy
