#include "proxy/request_mirror.hpp"

#include "core/log.hpp"
#include "proxy/subrequest.hpp"
#include "proxy/worker.hpp"

namespace portier::proxy {
namespace {

constexpr std::chrono::seconds kTimeout{30};

// Copies in flight on this thread (each worker is one thread).
thread_local int in_flight = 0;

awaitable<void> send_copy(Worker& worker, std::shared_ptr<const RuntimeConfig> rc,
                          const UpstreamServer& server, std::string head,
                          std::shared_ptr<const std::string> body, bool head_request) {
  std::string_view payload = body ? std::string_view(*body) : std::string_view();
  SubrequestResult r =
      co_await send_subrequest(worker, server, head, head_request, kDiscardBody, kTimeout, payload);
  --in_flight;
  if (r.status == 0) core::log_debug("mirror copy to ", server.url, " failed: ", r.error);
}

}  // namespace

bool RequestMirror::mirrors_body(const MirrorTarget& t, const RequestHead& head) const {
  if (head.body == BodyKind::none || !t.of->mirror_body) return false;
  return !(head.body == BodyKind::length && t.of->max_body_size >= 0 &&
           head.content_length > static_cast<uint64_t>(t.of->max_body_size));
}

RequestMirror::RequestMirror(std::vector<MirrorTarget> targets, const RequestHead& head)
    : targets_(std::move(targets)) {
  if (head.upgrade) return;
  for (const auto& t : targets_) wants_body_ |= mirrors_body(t, head);
}

void RequestMirror::prepare(const RequestHead& head, const ClientInfo& client, const RequestEdits& edits) {
  copies_.clear();
  if (head.upgrade) return;
  head_request_ = head.method == "HEAD";
  for (const auto& t : targets_) {
    Copy copy{t.server, {}, mirrors_body(t, head), t.of->max_body_size};
    if (head.body != BodyKind::none && t.of->mirror_body && !copy.needs_body) continue;  // too large
    if (copy.needs_body) {
      copy.head = build_upstream_head(head, *t.service, *t.server, client, &edits);
    } else {
      RequestHead bare = head;  // the head alone: no body framing
      bare.body = BodyKind::none;
      bare.content_length = 0;
      copy.head = build_upstream_head(bare, *t.service, *t.server, client, &edits);
    }
    copies_.push_back(std::move(copy));
  }
}

void RequestMirror::take_body(BufferedBody& body) {
  if (body_taken_) return;
  body_taken_ = true;
  std::erase_if(copies_, [&](const Copy& c) {
    return c.needs_body && c.max_body >= 0 && decoded_ > static_cast<uint64_t>(c.max_body);
  });
  auto bytes = std::make_shared<std::string>(body.size(), '\0');
  if (body.read(0, bytes->data(), bytes->size()) != bytes->size()) {
    std::erase_if(copies_, [](const Copy& c) { return c.needs_body; });
    return;
  }
  body_ = std::move(bytes);
}

void RequestMirror::send(Worker& worker, std::shared_ptr<const RuntimeConfig> rc) {
  if (worker.draining()) return;
  for (auto& copy : copies_) {
    if (copy.needs_body && !body_) continue;  // the body never came whole
    if (in_flight >= kMaxInFlight) {
      core::log_debug("mirror copy to ", copy.server->url, " dropped: ", kMaxInFlight, " in flight");
      continue;
    }
    ++in_flight;
    worker.spawn(send_copy(worker, rc, *copy.server, std::move(copy.head),
                           copy.needs_body ? body_ : nullptr, head_request_));
  }
}

}  // namespace portier::proxy
