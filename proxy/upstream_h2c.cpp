#include "proxy/upstream_h2c.hpp"

#include <sys/socket.h>

#include <cstring>

#include "core/log.hpp"
#include "proxy/http_errors.hpp"

namespace portier::proxy {
namespace {

// Decoded request body buffered before write() waits for the server's flow-control window.
constexpr size_t kRequestBodyHigh = 256 * 1024;

// The head comes from portier's own forwarding code: generous limits.
const HttpLimits kHeadLimits{1 << 20, 1 << 20, 10000};

void append(IoBuffer& out, std::string_view data) {
  if (data.empty()) return;
  auto space = out.prepare(data.size());
  std::memcpy(space.data(), data.data(), data.size());
  out.commit(data.size());
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Connection-specific fields have no place in HTTP/2 (RFC 9113 8.2.2).
bool connection_specific(std::string_view lower_name, std::string_view value) {
  return lower_name == "connection" || lower_name == "keep-alive" || lower_name == "proxy-connection" ||
         lower_name == "transfer-encoding" || lower_name == "upgrade" || lower_name == "host" ||
         (lower_name == "te" && !iequals(value, "trailers"));
}

nghttp2_nv make_nv(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

struct H2cChannel::Callbacks {
  static H2cChannel& self(void* user) { return *static_cast<H2cChannel*>(user); }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                       const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    auto& c = self(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != c.stream_id_) return 0;
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") {
      int status = 0;
      for (char ch : v) status = status * 10 + (ch - '0');
      c.status_ = status;
    } else if (!n.empty() && n[0] != ':') {
      c.fields_.emplace_back(std::string(n), std::string(v));
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& c = self(user);
    bool end_stream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      c.goaway_ = true;
      return 0;
    }
    if (frame->hd.stream_id != c.stream_id_ || c.stream_id_ < 0) return 0;
    if (frame->hd.type == NGHTTP2_HEADERS) {
      if (!c.head_rendered_) {
        if (c.status_ >= 100 && c.status_ < 200) {  // interim: not relayed
          c.status_ = 0;
          c.fields_.clear();
          return 0;
        }
        c.render_head(end_stream);
      } else if (c.chunked_out_) {  // trailers
        std::string t = "0\r\n";
        for (const auto& [n, v] : c.fields_) t += n + ": " + v + "\r\n";
        t += "\r\n";
        append(c.out_, t);
        c.chunked_out_ = false;  // the last chunk is written
      }
      c.fields_.clear();
    }
    if (end_stream && (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA)) c.end_response();
    return 0;
  }

  static int on_data_chunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len, void* user) {
    auto& c = self(user);
    if (id != c.stream_id_ || !c.head_rendered_ || len == 0) return 0;
    if (c.chunked_out_) {
      char size_line[24];
      int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", len);
      append(c.out_, std::string_view(size_line, static_cast<size_t>(n)));
    }
    append(c.out_, std::string_view(reinterpret_cast<const char*>(data), len));
    if (c.chunked_out_) append(c.out_, "\r\n");
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t id, uint32_t code, void* user) {
    auto& c = self(user);
    if (id != c.stream_id_) return 0;
    c.stream_closed_ = true;
    if (!c.response_ended_) c.close_code_ = code ? code : static_cast<uint32_t>(NGHTTP2_INTERNAL_ERROR);
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                           nghttp2_data_source*, void* user) {
    auto& c = self(user);
    std::string_view avail = c.req_data_.readable();
    size_t n = std::min(length, avail.size());
    if (n > 0) std::memcpy(buf, avail.data(), n);  // an empty buffer's data() may be null
    c.req_data_.consume(n);
    if (c.req_data_.empty() && c.req_eof_) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    }
    if (n == 0) {
      c.deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    return static_cast<ssize_t>(n);
  }
};

H2cChannel::~H2cChannel() {
  if (session_) nghttp2_session_del(session_);
}

bool H2cChannel::open() {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
  nghttp2_session_callbacks_set_on_header_callback(cbs, &Callbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &Callbacks::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &Callbacks::on_stream_close);
  int rv = nghttp2_session_client_new(&session_, cbs, this);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) return false;
  // Response bytes are read only as the session relays them (TCP back-pressure), so large
  // windows cost no unbounded buffering here.
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                 {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv, std::size(iv)) != 0) return false;
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 4 << 20);
  return true;
}

void H2cChannel::reset_exchange() {
  req_ = Req::head;
  head_.clear();
  req_body_ = BodyKind::none;
  req_remaining_ = 0;
  chunked_ = ChunkedDecoder();
  req_data_ = IoBuffer();
  req_eof_ = false;
  deferred_ = false;
  stream_id_ = -1;
  status_ = 0;
  fields_.clear();
  head_rendered_ = chunked_out_ = response_ended_ = stream_closed_ = false;
  close_code_ = 0;
  out_ = IoBuffer();
}

error_code H2cChannel::start_stream(const RequestHead& head) {
  if (head.upgrade) return asio::error::operation_not_supported;  // no Upgrade over HTTP/2
  std::vector<std::string> names;
  names.reserve(head.headers.size());  // no reallocation: the nvs point into the names
  std::vector<nghttp2_nv> nva;
  nva.reserve(head.headers.size() + 4);
  nva.push_back(make_nv(":method", head.method));
  nva.push_back(make_nv(":scheme", "http"));
  nva.push_back(make_nv(":authority", head.host));
  nva.push_back(make_nv(":path", head.target));
  for (const auto& h : head.headers) {
    names.push_back(lowercase(h.name));
    if (connection_specific(names.back(), h.value) || header_has_token(head.connection, names.back())) continue;
    nva.push_back(make_nv(names.back(), h.value));
  }
  req_body_ = head.body;
  req_remaining_ = head.content_length;
  nghttp2_data_provider provider{};
  provider.read_callback = &Callbacks::read_body;
  bool body = head.body == BodyKind::chunked || (head.body == BodyKind::length && head.content_length > 0);
  int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), body ? &provider : nullptr, this);
  if (id < 0) return asio::error::connection_aborted;
  stream_id_ = id;
  req_ = body ? Req::body : Req::done;
  return {};
}

// Feeds request bytes: the head (buffered until complete), then the body, decoded.
error_code H2cChannel::take_request(std::string_view data) {
  if (req_ == Req::head) {
    head_.append(data);
    RequestHead head;
    ParseOutcome r = parse_request_head(head_, kHeadLimits, head);
    if (r.status == ParseStatus::error) return asio::error::invalid_argument;
    if (r.status == ParseStatus::need_more) return {};
    if (auto ec = start_stream(head)) return ec;
    std::string rest = head_.substr(head.head_size);
    head_.clear();
    data = rest;
    if (req_ == Req::body && !data.empty()) return take_request(data);
    return data.empty() ? error_code() : asio::error::invalid_argument;
  }
  if (req_ == Req::done) return data.empty() ? error_code() : asio::error::invalid_argument;
  if (req_body_ == BodyKind::length) {
    size_t take = static_cast<size_t>(std::min<uint64_t>(req_remaining_, data.size()));
    append(req_data_, data.substr(0, take));
    req_remaining_ -= take;
    if (req_remaining_ == 0) {
      req_eof_ = true;
      req_ = Req::done;
    }
    if (take != data.size()) return asio::error::invalid_argument;
  } else {
    size_t used = 0;
    auto r = chunked_.feed(data, &used, req_data_);
    if (r == ChunkedDecoder::Result::error) return asio::error::invalid_argument;
    if (r == ChunkedDecoder::Result::done) {
      req_eof_ = true;
      req_ = Req::done;
    }
  }
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(session_, stream_id_);
  }
  return {};
}

awaitable<H2cChannel::IoResult> H2cChannel::write(std::vector<asio::const_buffer> bufs) {
  if (broken_) co_return IoResult(error_code(asio::error::connection_reset), 0);
  if (stream_id_ >= 0 && stream_closed_ && out_.empty()) reset_exchange();  // the next request
  size_t total = 0;
  for (const auto& b : bufs) {
    if (auto ec = take_request(std::string_view(static_cast<const char*>(b.data()), b.size())))
      co_return IoResult(ec, total);
    total += b.size();
  }
  if (stream_closed_) req_data_.consume(req_data_.size());  // answered early: the rest is dropped
  for (;;) {
    if (auto ec = co_await flush()) co_return IoResult(ec, total);
    // Bounded buffering: past the mark, wait for the server to open its window.
    if (req_data_.size() < kRequestBodyHigh || stream_closed_) break;
    if (auto ec = co_await receive()) co_return IoResult(ec, total);
  }
  co_return IoResult(error_code(), total);
}

awaitable<H2cChannel::IoResult> H2cChannel::read_some(asio::mutable_buffer b) {
  for (;;) {
    if (!out_.empty()) {
      std::string_view avail = out_.readable();
      size_t n = std::min(avail.size(), b.size());
      std::memcpy(b.data(), avail.data(), n);
      out_.consume(n);
      co_return IoResult(error_code(), n);
    }
    if (stream_closed_ || response_ended_)
      co_return done_result();
    if (broken_) co_return IoResult(error_code(asio::error::connection_reset), 0);
    if (auto ec = co_await flush()) co_return IoResult(ec, 0);
    if (auto ec = co_await receive()) co_return IoResult(ec, 0);
  }
}

awaitable<error_code> H2cChannel::flush() {
  for (;;) {
    send_buf_.clear();
    while (send_buf_.size() < 65536) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        broken_ = true;
        co_return asio::error::connection_aborted;
      }
      if (n == 0) break;
      send_buf_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (send_buf_.empty()) co_return error_code();
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(send_buf_), use_tuple);
    if (ec) {
      broken_ = true;
      co_return ec;
    }
  }
}

bool H2cChannel::recv_bytes(const char* data, size_t n) {
  ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), n);
  if (rv < 0) {
    core::log_debug("h2c upstream: ", nghttp2_strerror(static_cast<int>(rv)));
    broken_ = true;
    return false;
  }
  return true;
}

awaitable<error_code> H2cChannel::receive() {
  recv_buf_.resize(16384);
  auto [ec, n] = co_await socket_.async_read_some(asio::buffer(recv_buf_), use_tuple);
  if (ec) {
    broken_ = true;
    co_return ec;
  }
  if (!recv_bytes(recv_buf_.data(), n)) co_return asio::error::connection_aborted;
  co_return error_code();
}

void H2cChannel::render_head(bool end_stream) {
  std::string out = status_line(status_);
  // Announced trailers (gRPC's grpc-status) need chunked framing to reach an HTTP/1.1 client.
  bool trailers = false;
  for (const auto& f : fields_) trailers = trailers || f.first == "trailer";
  bool has_length = false;
  for (const auto& [n, v] : fields_) {
    if (n == "content-length") {
      if (trailers && !end_stream) continue;
      has_length = true;
    }
    out += n + ": " + v + "\r\n";
  }
  bool bodiless = status_ == 204 || status_ == 304;
  if (end_stream) {
    if (!has_length && !bodiless) out += "content-length: 0\r\n";
  } else if (!has_length && !bodiless) {
    out += "transfer-encoding: chunked\r\n";
    chunked_out_ = true;
  }
  out += "\r\n";
  append(out_, out);
  head_rendered_ = true;
}

void H2cChannel::end_response() {
  if (chunked_out_) append(out_, "0\r\n\r\n");
  chunked_out_ = false;
  response_ended_ = true;
}

// After the response: EOF; a stream reset before its end: an error (the response is cut).
H2cChannel::IoResult H2cChannel::done_result() const {
  error_code ec = close_code_ ? error_code(asio::error::connection_reset) : error_code(asio::error::eof);
  return IoResult(ec, 0);
}

void H2cChannel::release_buffers() {
  std::string().swap(send_buf_);
  std::vector<char>().swap(recv_buf_);
  out_.release_if_empty();
  req_data_.release_if_empty();
}

bool H2cChannel::usable_when_idle() {
  if (broken_ || goaway_ || !session_) return false;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(socket_.native_handle(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      if (!recv_bytes(buf, static_cast<size_t>(n))) return false;
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return false;
    break;
  }
  return !goaway_ && nghttp2_session_check_request_allowed(session_);
}

}  // namespace portier::proxy
