#include "proxy/http2_connection.hpp"

#include <algorithm>
#include <cstring>

#include "core/log.hpp"
#include "proxy/http2_exchange.hpp"

namespace portier::proxy {

using Clock = std::chrono::steady_clock;

// nghttp2 callbacks: they record into the connection and its streams, nothing else.
struct Http2Callbacks {
  static Http2Connection& self(void* user) { return *static_cast<Http2Connection*>(user); }

  static Http2Stream* find(Http2Connection& c, int32_t id) {
    auto it = c.streams_.find(id);
    return it == c.streams_.end() ? nullptr : it->second.get();
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& c = self(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    c.streams_[frame->hd.stream_id] =
        std::make_shared<Http2Stream>(c.executor_, frame->hd.stream_id);
    c.highest_stream_ = std::max(c.highest_stream_, frame->hd.stream_id);
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    auto& c = self(user);
    Http2Stream* s = find(c, frame->hd.stream_id);
    if (!s) return 0;
    const HttpLimits& limits = c.info_->http;
    const size_t max_list = c.info_->h2_header_list;
    s->header_bytes += namelen + valuelen + 32;
    // Far beyond the limits (a header flood, HPACK amplification): end the connection.
    if (s->header_bytes > 4 * max_list ||
        s->fields.size() > 4 * limits.max_headers + 8)
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers: dropped
    if (s->headers_too_large || s->header_bytes > max_list ||
        s->fields.size() >= limits.max_headers + 8) {  // + pseudo-headers
      s->headers_too_large = true;
      return 0;
    }
    s->fields.emplace_back(std::string(reinterpret_cast<const char*>(name), namelen),
                           std::string(reinterpret_cast<const char*>(value), valuelen));
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& c = self(user);
    bool end_stream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    switch (frame->hd.type) {
      case NGHTTP2_DATA:
        if (frame->hd.length == 0 && !end_stream && !c.count_empty_frame())
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        break;
      case NGHTTP2_HEADERS:
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
          if (Http2Stream* s = find(c, frame->hd.stream_id)) {
            s->end_at_headers = end_stream;
            c.ready_.push_back(c.streams_[frame->hd.stream_id]);
          }
        }
        break;
      case NGHTTP2_RST_STREAM:
        c.closed_by_client_.add(frame->hd.stream_id);
        return 0;
      case NGHTTP2_PING:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) && c.draining_) c.notice_acked_ = true;
        return 0;
      default:
        return 0;
    }
    if (end_stream) {
      c.closed_by_client_.add(frame->hd.stream_id);
      if (Http2Stream* s = find(c, frame->hd.stream_id)) {
        s->request_end = true;
        s->wake();
      }
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data,
                           size_t len, void* user) {
    auto& c = self(user);
    Http2Stream* s = find(c, id);
    if (!s || s->discard_body) {
      nghttp2_session_consume(session, id, len);
      return 0;
    }
    auto space = s->body.prepare(len);
    std::memcpy(space.data(), data, len);
    s->body.commit(len);
    s->wake();
    return 0;
  }

  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type == NGHTTP2_RST_STREAM) self(user).reset_by_server_.add(frame->hd.stream_id);
    return 0;
  }

  static int on_stream_close(nghttp2_session* session, int32_t id, uint32_t code, void* user) {
    auto& c = self(user);
    auto it = c.streams_.find(id);
    if (it == c.streams_.end()) return 0;
    Http2Stream& s = *it->second;
    if (s.last_request) c.keep_alive_spent_ = true;
    s.closed = true;
    s.close_code = code;
    if (!s.body.empty()) {
      nghttp2_session_consume(session, id, s.body.size());
      s.body.consume(s.body.size());
    }
    if (s.upstream) {
      error_code ec;
      s.upstream->cancel(ec);
    }
    s.wake();
    c.streams_.erase(it);
    return 0;
  }
};

Http2Connection::Http2Connection(Worker& worker, tcp::socket& sock,
                                 std::shared_ptr<const ListenerInfo> info, const tcp::endpoint& client,
                                 Http2Settings settings)
    : worker_(worker),
      sock_(sock),
      executor_(sock.get_executor()),
      info_(std::move(info)),
      settings_(settings),
      client_ip_(client.address().to_string()),
      client_(client_info(client, client_ip_, *info_)),
      watchdog_(sock.get_executor()),
      write_wake_(sock.get_executor()),
      exchanges_done_(sock.get_executor()) {
  if (info_->entry_point.http2_max_concurrent_streams)
    settings_.max_concurrent_streams = *info_->entry_point.http2_max_concurrent_streams;
  error_code ec;
  sock.set_option(tcp::no_delay(true), ec);
  write_wake_.expires_at(Clock::time_point::max());
  exchanges_done_.expires_at(Clock::time_point::max());
  watchdog_.watch(&sock_);
  idle_deadline_ = Clock::now() + info_->entry_point.idle_timeout;
  empty_window_start_ = Clock::now();
  update_deadline();
  worker_.register_session(this);
}

Http2Connection::~Http2Connection() {
  worker_.unregister_session(this);
  if (session_) nghttp2_session_del(session_);
}

bool Http2Connection::open() {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &Http2Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &Http2Callbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &Http2Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &Http2Callbacks::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &Http2Callbacks::on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &Http2Callbacks::on_frame_send);
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cbs);
    return false;
  }
  nghttp2_option_set_no_auto_window_update(opt, 1);  // windows open as upstreams take the body
  nghttp2_option_set_no_closed_streams(opt, 1);
  nghttp2_option_set_stream_reset_rate_limit(opt, settings_.reset_burst, settings_.reset_rate);
  nghttp2_option_set_max_continuations(opt, 8);
  nghttp2_option_set_max_outbound_ack(opt, 1000);
  int rv = nghttp2_session_server_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) {
    session_ = nullptr;
    return false;
  }
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings_.stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(info_->h2_header_list)},
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},  // RFC 8441: WebSocket over HTTP/2
  };
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv, std::size(iv)) != 0) return false;
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(settings_.connection_window));
  return true;
}

// Frames go to nghttp2 as they come, except that the last byte of a DATA or HEADERS frame
// header is held back until judge_frame() has seen the header with nghttp2's state after every
// earlier frame (nghttp2 drops DATA on a stream it no longer holds before any callback).
bool Http2Connection::feed(std::string_view data) {
  if (dead_) return false;
  bool ok = true;
  while (ok && !data.empty()) {
    Http2FrameScan::Step step = scan_.next(data);
    const Http2FrameHeader& frame = scan_.frame();
    bool judged = step.header && step.error == 0 &&
                  (frame.type == NGHTTP2_DATA || frame.type == NGHTTP2_HEADERS);
    ok = receive(data.substr(0, step.bytes - (judged ? 1 : 0)));
    uint32_t error = step.error;
    if (ok && judged) {
      error = judge_frame(frame);
      if (error == 0) ok = receive(data.substr(step.bytes - 1, 1));
    }
    if (ok && error != 0) {
      core::log_debug("http2 from ", client_ip_, ": frame type ", int{frame.type}, " on stream ",
                      frame.stream, " refused with error ", error);
      end_session(error);
      ok = false;
    }
    data.remove_prefix(step.bytes);
  }
  if (ok) start_ready();
  if (ok && notice_acked_ && !final_goaway_) cancel_if_idle();
  wake_writer();
  return ok && wants_io();
}

// Hands bytes to nghttp2; false (the session ended with a GOAWAY) on a protocol error.
bool Http2Connection::receive(std::string_view data) {
  if (data.empty()) return true;
  ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data.data()),
                                        data.size());
  if (rv >= 0) return true;
  core::log_debug("http2 from ", client_ip_, ": ", nghttp2_strerror(static_cast<int>(rv)));
  uint32_t code = rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_CALLBACK_FAILURE
                      ? NGHTTP2_ENHANCE_YOUR_CALM
                      : NGHTTP2_PROTOCOL_ERROR;
  end_session(code);
  return false;
}

// RFC 9113 5.1 and 5.1.1 for the streams nghttp2 no longer holds (it keeps no closed
// streams): DATA or HEADERS on a stream the client ended (END_STREAM, RST_STREAM) is a
// STREAM_CLOSED error, HEADERS opening a stream below the highest one opened a PROTOCOL_ERROR;
// frames on a stream the server reset are left to nghttp2, which ignores them (the client may
// have sent them before it saw the reset). Connection errors, as a stream error may be.
uint32_t Http2Connection::judge_frame(const Http2FrameHeader& frame) const {
  int32_t id = frame.stream;
  if (id % 2 == 0 || id > highest_stream_ || draining_ ||
      nghttp2_session_find_stream(session_, id) || reset_by_server_.contains(id))
    return 0;
  if (frame.type == NGHTTP2_HEADERS && !closed_by_client_.contains(id))
    return NGHTTP2_PROTOCOL_ERROR;
  return NGHTTP2_STREAM_CLOSED;
}

bool Http2Connection::pull(std::string& out, size_t max) {
  while (out.size() < max) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      core::log_debug("http2 to ", client_ip_, ": ", nghttp2_strerror(static_cast<int>(n)));
      return false;
    }
    if (n == 0) {
      // The last stream keep-alive allows is closed, its response sent whole: now the drain
      // (streams the client opened meanwhile are still served).
      if (!keep_alive_spent_ || draining_ || dead_) break;
      keep_alive_spent_ = false;
      cancel_if_idle();
      continue;
    }
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  return true;
}

bool Http2Connection::wants_io() const {
  // After a graceful GOAWAY nghttp2 may stop wanting to read while exchanges still run:
  // their responses keep the connection.
  return !dead_ &&
         (live_ > 0 || nghttp2_session_want_read(session_) || nghttp2_session_want_write(session_));
}

awaitable<void> Http2Connection::wait_for_output() {
  write_wake_.expires_at(Clock::time_point::max());
  co_await write_wake_.async_wait(use_tuple);
}

void Http2Connection::set_writing(bool writing) {
  writing_ = writing;
  if (writing)
    watchdog_.arm(worker_.limits().body_timeout);
  else
    update_deadline();
}

void Http2Connection::read_ended() {
  // An idle timeout says goodbye properly (GOAWAY); the client may still read it.
  if (!read_closed_ && watchdog_.expired() && !dead_) end_session(NGHTTP2_NO_ERROR);
  read_closed_ = true;
  wake_writer();
}

void Http2Connection::close_streams() {
  dead_ = true;
  watchdog_.disarm();
  ready_.clear();
  for (auto& [id, s] : streams_) {
    s->closed = true;
    if (s->upstream) {
      error_code ec;
      s->upstream->cancel(ec);
    }
    s->wake();
  }
  streams_.clear();
}

awaitable<void> Http2Connection::wait_exchanges() {
  while (live_ > 0) {
    exchanges_done_.expires_at(Clock::time_point::max());
    co_await exchanges_done_.async_wait(use_tuple);
  }
}

// From the data provider at the end of the body: a trailing HEADERS frame carries the
// upstream's trailers (gRPC status) and ends the stream instead of the last DATA frame.
static void submit_trailers(nghttp2_session* session, Http2Stream& st, uint32_t* flags) {
  std::vector<nghttp2_nv> nva;
  nva.reserve(st.trailers.size());
  for (auto& [name, value] : st.trailers)
    nva.push_back({reinterpret_cast<uint8_t*>(name.data()), reinterpret_cast<uint8_t*>(value.data()), name.size(),
                   value.size(), NGHTTP2_NV_FLAG_NONE});
  if (nghttp2_submit_trailer(session, st.id, nva.data(), nva.size()) == 0) *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
}

bool Http2Connection::submit_response(Http2Stream& s, const std::vector<nghttp2_nv>& nva,
                                      bool has_body) {
  if (s.closed) return false;
  nghttp2_data_provider provider;
  provider.source.ptr = &s;
  provider.read_callback = [](nghttp2_session* session, int32_t, uint8_t* buf, size_t length,
                              uint32_t* flags, nghttp2_data_source* source, void*) -> ssize_t {
    auto* st = static_cast<Http2Stream*>(source->ptr);
    size_t n = std::min(length, st->out.size());
    if (n > 0) {
      std::memcpy(buf, st->out.readable().data(), n);
      st->out.consume(n);
      st->wake();  // room for more
    }
    if (st->out.empty() && st->out_eof) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!st->trailers.empty()) submit_trailers(session, *st, flags);
    } else if (n == 0) {
      st->deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    return static_cast<ssize_t>(n);
  };
  int rv = nghttp2_submit_response(session_, s.id, nva.data(), nva.size(),
                                   has_body ? &provider : nullptr);
  s.responded = rv == 0;
  wake_writer();
  return rv == 0;
}

void Http2Connection::submit_continue(Http2Stream& s) {
  if (s.closed) return;
  static const char kStatus[] = ":status";
  static const char k100[] = "100";
  nghttp2_nv nv{(uint8_t*)kStatus, (uint8_t*)k100, sizeof kStatus - 1, sizeof k100 - 1,
                NGHTTP2_NV_FLAG_NONE};
  nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, s.id, nullptr, &nv, 1, nullptr);
  wake_writer();
}

void Http2Connection::resume(Http2Stream& s) {
  if (s.closed) return;
  if (s.deferred) {
    s.deferred = false;
    nghttp2_session_resume_data(session_, s.id);
  }
  wake_writer();
}

void Http2Connection::consume(Http2Stream& s, size_t n) {
  if (dead_ || n == 0) return;
  nghttp2_session_consume(session_, s.id, n);
  wake_writer();
}

void Http2Connection::reset(Http2Stream& s, uint32_t code) {
  if (s.closed) return;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, code);
  wake_writer();
}

// Drain in two steps (RFC 9113 6.8). First a GOAWAY naming the highest possible stream, so
// nothing is refused yet, and a PING: the requests the client sent before it saw that notice
// keep arriving and are served. The PING's ack (or kDrainNotice without one) proves the client
// stopped opening streams: then the final GOAWAY names the last stream processed, and the
// connection closes at once when no stream is open, else when the open streams are done.
// Called again (by exchange_finished and feed) until the connection is closed.
void Http2Connection::cancel_if_idle() {
  if (dead_) return;
  auto now = Clock::now();
  if (!draining_) {
    draining_ = true;
    notice_until_ = now + kDrainNotice;
    nghttp2_submit_shutdown_notice(session_);
    nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
  }
  if (!notice_acked_ && now < notice_until_) {
    idle_deadline_ = std::min(idle_deadline_, notice_until_);  // an idle connection waits no longer
    update_deadline();
  } else if (live_ == 0 && streams_.empty()) {
    end_session(NGHTTP2_NO_ERROR);
  } else if (!final_goaway_) {
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                          NGHTTP2_NO_ERROR, nullptr, 0);
  }
  final_goaway_ = notice_acked_ || now >= notice_until_;
  wake_writer();
}

void Http2Connection::end_session(uint32_t code) {
  nghttp2_session_terminate_session(session_, code);
  wake_writer();
}

void Http2Connection::start_ready() {
  std::vector<std::shared_ptr<Http2Stream>> ready;
  ready.swap(ready_);
  for (auto& s : ready) {
    ++live_;
    // keepAliveMaxRequests / keepAliveMaxTime: Go's server answers the handler's
    // "Connection: close" with a graceful GOAWAY (see pull()).
    if (!draining_ && keep_alive_.last_request(info_->entry_point)) s->last_request = true;
    asio::co_spawn(executor_, run_http2_exchange(*this, s), [this, s](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          core::log_error("http2 exchange failed: ", ex.what());
        }
      }
      exchange_finished(*s);
    });
  }
  update_deadline();
}

void Http2Connection::exchange_finished(Http2Stream& s) {
  exchange_over(s);
  if (--live_ == 0) {
    idle_deadline_ = Clock::now() + info_->entry_point.idle_timeout;
    if (dead_)
      exchanges_done_.cancel();
    else if (draining_ || worker_.draining())
      cancel_if_idle();
  }
  update_deadline();
  wake_writer();
}

// The connection deadline: a stalled write, or no exchange running for idleTimeout.
void Http2Connection::update_deadline() {
  if (dead_ || writing_) return;
  if (live_ == 0)
    watchdog_.arm(idle_deadline_ - Clock::now());
  else
    watchdog_.disarm();
}

bool Http2Connection::count_empty_frame() {
  auto now = Clock::now();
  if (now - empty_window_start_ >= std::chrono::seconds(1)) {
    empty_window_start_ = now;
    empty_frames_ = 0;
  }
  return ++empty_frames_ <= settings_.max_empty_frames_per_second;
}

}  // namespace portier::proxy
