#pragma once
// The copies of one request that a mirroring service sends to its mirrors (Traefik's
// mirroring): decided with the server (pick_server lists the mirrors whose turn it is),
// prepared while the request is forwarded, sent once its exchange is over. Fire-and-forget:
// each copy is its own coroutine on the worker (send_subrequest over the worker's pools, 30 s
// for the whole exchange), its response is read and discarded, nothing it does reaches the
// client. At most kMaxInFlight copies are in flight per worker; more are dropped (logged at
// debug level), so a slow mirror never grows memory without bound.
//
// Bodies: with mirrorBody (the default) the body is read whole before the request is
// forwarded (as the buffering middleware does) and copied when its decoded size is within
// maxBodySize (-1 = unlimited, the body then held in memory for the copies, as Traefik does); a
// larger body is forwarded to the main service and not mirrored. A Content-Length over
// maxBodySize is known up front: that body is not read whole. Without mirrorBody a copy is the
// head alone, without a body. Upgrades (WebSocket) are not mirrored.
//
// Worker thread only; owned by the RequestPipeline of the request.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/buffered_body.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/service_choice.hpp"

namespace portier::proxy {

class RequestMirror {
 public:
  static constexpr int kMaxInFlight = 256;

  // `head`: the request, as routed (its views valid during the call).
  RequestMirror(std::vector<MirrorTarget> targets, const RequestHead& head);

  // Whether the body must be read whole before forwarding, for some copy.
  bool wants_body() const { return wants_body_; }
  // The decoded size of the body read so far (the codec's body checks).
  void note_body_size(uint64_t decoded) { decoded_ = decoded; }
  // Builds each copy's upstream head (the head's views valid; the body framing as forwarded).
  void prepare(const RequestHead& head, const ClientInfo& client, const RequestEdits& edits);
  // The body read whole (first call only).
  void take_body(BufferedBody& body);
  // Spawns the copies that are ready on `worker`; they pin the snapshot `rc`.
  void send(Worker& worker, std::shared_ptr<const RuntimeConfig> rc);

 private:
  struct Copy {
    const UpstreamServer* server = nullptr;
    std::string head;
    bool needs_body = false;  // waits for take_body()
    int64_t max_body = -1;
  };
  bool mirrors_body(const MirrorTarget& t, const RequestHead& head) const;

  std::vector<MirrorTarget> targets_;
  std::vector<Copy> copies_;
  std::shared_ptr<const std::string> body_;
  uint64_t decoded_ = 0;  // without chunk framing
  bool wants_body_ = false;
  bool body_taken_ = false;
  bool head_request_ = false;
};

}  // namespace portier::proxy
