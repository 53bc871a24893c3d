#include "proxy/http3_connection.hpp"

#include <ngtcp2/ngtcp2_crypto.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>

#include "core/log.hpp"
#include "proxy/http2_exchange.hpp"
#include "proxy/http3_listener.hpp"
#include "proxy/worker.hpp"

namespace portier::proxy {
namespace {

using Clock = std::chrono::steady_clock;

// Packets written per write_packets() before the rest is posted (other connections run).
constexpr int kPacketsPerWrite = 64;
constexpr size_t kMaxPacket = 1452;  // what ngtcp2 may write into one datagram here

ngtcp2_tstamp now_ns() {
  return static_cast<ngtcp2_tstamp>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
}

ngtcp2_addr addr_of(const udp::endpoint& ep) {
  return {const_cast<sockaddr*>(ep.data()), static_cast<ngtcp2_socklen>(ep.size())};
}

udp::endpoint endpoint_of(const ngtcp2_addr& a) {
  udp::endpoint ep;
  std::memcpy(ep.data(), a.addr, a.addrlen);
  ep.resize(a.addrlen);
  return ep;
}

// An HTTP/2 error code of the exchange as an HTTP/3 one.
uint64_t h3_code(uint32_t h2) {
  return h2 == NGHTTP2_CONNECT_ERROR ? NGHTTP3_H3_CONNECT_ERROR : NGHTTP3_H3_INTERNAL_ERROR;
}

void random_bytes(uint8_t* dest, size_t len, const ngtcp2_rand_ctx*) { RAND_bytes(dest, static_cast<int>(len)); }

nghttp3_nv to_h3(const nghttp2_nv& nv) { return {nv.name, nv.value, nv.namelen, nv.valuelen, NGHTTP3_NV_FLAG_NONE}; }

}  // namespace

// The C callbacks of ngtcp2 and nghttp3: they record into the streams and the connection.
struct Http3Callbacks {
  static Http3Connection& self(void* user_data) { return *static_cast<Http3Connection*>(user_data); }

  static ngtcp2_conn* get_conn(ngtcp2_crypto_conn_ref* ref) { return self(ref->user_data).conn_; }

  // ---- ngtcp2 ----
  static int recv_stream_data(ngtcp2_conn* conn, uint32_t flags, int64_t id, uint64_t, const uint8_t* data,
                              size_t len, void* user, void*) {
    auto& c = self(user);
    if (!c.http_) return 0;
    auto n = nghttp3_conn_read_stream(c.http_, id, data, len, flags & NGTCP2_STREAM_DATA_FLAG_FIN);
    if (n < 0) return NGTCP2_ERR_CALLBACK_FAILURE;  // on_datagram closes with H3_INTERNAL_ERROR
    // What nghttp3 consumed itself (framing, QPACK); request DATA opens when the exchange
    // hands it upstream (consume()).
    ngtcp2_conn_extend_max_stream_offset(conn, id, static_cast<uint64_t>(n));
    ngtcp2_conn_extend_max_offset(conn, static_cast<uint64_t>(n));
    return 0;
  }
  static int acked_stream_data_offset(ngtcp2_conn*, int64_t id, uint64_t, uint64_t len, void* user, void*) {
    auto& c = self(user);
    if (c.http_ && nghttp3_conn_add_ack_offset(c.http_, id, len) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
    return 0;
  }
  static int stream_close(ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t code, void* user, void*) {
    auto& c = self(user);
    if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET)) code = NGHTTP3_H3_NO_ERROR;
    if (c.http_) {
      int rv = nghttp3_conn_close_stream(c.http_, id, code);
      if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND) return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    c.close_stream(id, code);
    return 0;
  }
  static int stream_reset(ngtcp2_conn*, int64_t id, uint64_t, uint64_t, void* user, void*) {
    auto& c = self(user);
    if (c.http_ && nghttp3_conn_shutdown_stream_read(c.http_, id) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
    return 0;
  }
  static int stream_stop_sending(ngtcp2_conn*, int64_t id, uint64_t, void* user, void*) {
    return stream_reset(nullptr, id, 0, 0, user, nullptr);
  }
  static int extend_max_remote_streams_bidi(ngtcp2_conn*, uint64_t max, void* user) {
    auto& c = self(user);
    if (c.http_) nghttp3_conn_set_max_client_streams_bidi(c.http_, max);
    return 0;
  }
  static int extend_max_stream_data(ngtcp2_conn*, int64_t id, uint64_t, void* user, void*) {
    auto& c = self(user);
    if (c.http_ && nghttp3_conn_unblock_stream(c.http_, id) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
    return 0;
  }
  static int get_new_connection_id(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t len, void* user) {
    auto& c = self(user);
    if (!c.listener_.new_cid(*cid, len)) return NGTCP2_ERR_CALLBACK_FAILURE;
    if (!c.listener_.reset_token(token, *cid)) return NGTCP2_ERR_CALLBACK_FAILURE;
    c.listener_.associate(*cid, &c);
    return 0;
  }
  static int remove_connection_id(ngtcp2_conn*, const ngtcp2_cid* cid, void* user) {
    self(user).listener_.dissociate(*cid);
    return 0;
  }
  static int recv_tx_key(ngtcp2_conn*, ngtcp2_crypto_level level, void* user) {
    if (level != NGTCP2_CRYPTO_LEVEL_APPLICATION) return 0;
    return self(user).setup_http() ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
  }

  // ---- nghttp3 ----
  static int acked_stream_data(nghttp3_conn*, int64_t id, uint64_t len, void* user, void*) {
    auto s = self(user).stream(id);
    if (!s) return 0;
    while (len > 0 && !s->unacked.empty()) {
      uint64_t left = s->unacked.front().size() - s->acked_front;
      uint64_t n = std::min(len, left);
      s->acked_front += n;
      len -= n;
      if (s->acked_front == s->unacked.front().size()) {
        s->unacked.pop_front();
        s->acked_front = 0;
      }
    }
    return 0;
  }
  static int http_stream_close(nghttp3_conn*, int64_t id, uint64_t code, void* user, void*) {
    auto& c = self(user);
    if (ngtcp2_is_bidi_stream(id)) ngtcp2_conn_extend_max_streams_bidi(c.conn_, 1);
    c.close_stream(id, code);
    return 0;
  }
  static int recv_data(nghttp3_conn*, int64_t id, const uint8_t* data, size_t len, void* user, void*) {
    auto& c = self(user);
    auto s = c.stream(id);
    if (!s || s->discard_body) {  // nobody reads it: the windows reopen at once
      ngtcp2_conn_extend_max_stream_offset(c.conn_, id, len);
      ngtcp2_conn_extend_max_offset(c.conn_, len);
      return 0;
    }
    auto space = s->body.prepare(len);
    std::memcpy(space.data(), data, len);
    s->body.commit(len);
    s->event.cancel();
    return 0;
  }
  static int deferred_consume(nghttp3_conn*, int64_t id, size_t n, void* user, void*) {
    auto& c = self(user);
    ngtcp2_conn_extend_max_stream_offset(c.conn_, id, n);
    ngtcp2_conn_extend_max_offset(c.conn_, n);
    return 0;
  }
  static int begin_headers(nghttp3_conn*, int64_t id, void* user, void*) {
    auto& c = self(user);
    auto s = std::make_shared<Http3Stream>(c.executor(), id);
    c.streams_[id] = s;
    return 0;
  }
  static int recv_header(nghttp3_conn*, int64_t id, int32_t, nghttp3_rcbuf* name, nghttp3_rcbuf* value, uint8_t,
                         void* user, void*) {
    auto& c = self(user);
    auto s = c.stream(id);
    if (!s || s->started) return 0;
    nghttp3_vec n = nghttp3_rcbuf_get_buf(name), v = nghttp3_rcbuf_get_buf(value);
    s->header_bytes += n.len + v.len + 32;
    if (s->header_bytes > c.info_->h2_header_list) {
      s->headers_too_large = true;
      return 0;
    }
    s->fields.emplace_back(std::string(reinterpret_cast<const char*>(n.base), n.len),
                           std::string(reinterpret_cast<const char*>(v.base), v.len));
    return 0;
  }
  static int end_headers(nghttp3_conn*, int64_t id, int fin, void* user, void*) {
    auto& c = self(user);
    auto s = c.stream(id);
    if (!s || s->started) return 0;
    s->end_at_headers = fin != 0;
    s->request_end = fin != 0;
    c.start_exchange(s);
    return 0;
  }
  static int end_stream(nghttp3_conn*, int64_t id, void* user, void*) {
    if (auto s = self(user).stream(id)) {
      s->request_end = true;
      s->event.cancel();
    }
    return 0;
  }
  static int stop_sending(nghttp3_conn*, int64_t id, uint64_t code, void* user, void*) {
    auto& c = self(user);
    return ngtcp2_conn_shutdown_stream_read(c.conn_, id, code) == 0 ? 0 : NGHTTP3_ERR_CALLBACK_FAILURE;
  }
  static int reset_stream(nghttp3_conn*, int64_t id, uint64_t code, void* user, void*) {
    auto& c = self(user);
    return ngtcp2_conn_shutdown_stream_write(c.conn_, id, code) == 0 ? 0 : NGHTTP3_ERR_CALLBACK_FAILURE;
  }
  // The response body: what the exchange put in stream.out, kept until acknowledged.
  static nghttp3_ssize read_data(nghttp3_conn* http, int64_t id, nghttp3_vec* vec, size_t veccnt, uint32_t* flags,
                                 void* user, void*) {
    auto& c = self(user);
    auto s = c.stream(id);
    if (!s) return NGHTTP3_ERR_CALLBACK_FAILURE;
    nghttp3_ssize count = 0;
    if (!s->out.empty() && veccnt > 0) {
      s->unacked.emplace_back(s->out.readable());
      s->out.consume(s->out.size());
      const std::string& chunk = s->unacked.back();
      vec[0] = {reinterpret_cast<uint8_t*>(const_cast<char*>(chunk.data())), chunk.size()};
      count = 1;
    }
    if (s->out.empty() && s->out_eof) {
      *flags |= NGHTTP3_DATA_FLAG_EOF;
      if (!s->trailers.empty()) {
        std::vector<nghttp3_nv> nva;
        for (const auto& [name, value] : s->trailers)
          nva.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                         reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                         NGHTTP3_NV_FLAG_NONE});
        if (nghttp3_conn_submit_trailers(http, id, nva.data(), nva.size()) == 0)
          *flags |= NGHTTP3_DATA_FLAG_NO_END_STREAM;
      }
      return count;
    }
    if (count == 0) {
      s->deferred = true;
      s->out_event.cancel();
      s->event.cancel();  // the exchange may wait for room in `out`
      return NGHTTP3_ERR_WOULDBLOCK;
    }
    s->event.cancel();
    return count;
  }
};

Http3Connection::Http3Connection(Http3Listener& listener, std::shared_ptr<const ListenerInfo> info,
                                 const udp::endpoint& local, const udp::endpoint& remote, Http3Settings settings)
    : listener_(listener), info_(std::move(info)), settings_(settings), local_(local), remote_(remote),
      client_ip_(remote.address().is_v6() && remote.address().to_v6().is_v4_mapped()
                     ? asio::ip::make_address_v4(asio::ip::v4_mapped, remote.address().to_v6()).to_string()
                     : remote.address().to_string()),
      executor_(listener.worker().io().get_executor()), timer_(executor_), head_timer_(executor_) {
  auto address = asio::ip::make_address(client_ip_);
  client_ = client_info(tcp::endpoint(address, remote.port()), client_ip_, *info_);
}

Http3Connection::~Http3Connection() {
  if (http_) nghttp3_conn_del(http_);
  if (conn_) ngtcp2_conn_del(conn_);
  if (tls_) gnutls_deinit(tls_);
}

Worker& Http3Connection::worker() { return listener_.worker(); }

bool Http3Connection::open(const ngtcp2_pkt_hd& hd, const ngtcp2_cid* odcid) {
  static const ngtcp2_callbacks callbacks = [] {
    ngtcp2_callbacks cb{};
    cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
    cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    cb.encrypt = ngtcp2_crypto_encrypt_cb;
    cb.decrypt = ngtcp2_crypto_decrypt_cb;
    cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
    cb.recv_stream_data = Http3Callbacks::recv_stream_data;
    cb.acked_stream_data_offset = Http3Callbacks::acked_stream_data_offset;
    cb.stream_close = Http3Callbacks::stream_close;
    cb.rand = random_bytes;
    cb.get_new_connection_id = Http3Callbacks::get_new_connection_id;
    cb.remove_connection_id = Http3Callbacks::remove_connection_id;
    cb.update_key = ngtcp2_crypto_update_key_cb;
    cb.stream_reset = Http3Callbacks::stream_reset;
    cb.extend_max_remote_streams_bidi = Http3Callbacks::extend_max_remote_streams_bidi;
    cb.extend_max_stream_data = Http3Callbacks::extend_max_stream_data;
    cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    cb.stream_stop_sending = Http3Callbacks::stream_stop_sending;
    cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    cb.recv_tx_key = Http3Callbacks::recv_tx_key;
    return cb;
  }();
  if (!listener_.new_cid(scid_, kScidLen)) return false;
  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = now_ns();
  ngtcp2_transport_params params;
  ngtcp2_transport_params_default(&params);
  params.initial_max_stream_data_bidi_remote = settings_.stream_window;
  params.initial_max_stream_data_uni = settings_.stream_window;
  params.initial_max_data = settings_.connection_window;
  params.initial_max_streams_bidi = settings_.max_streams_bidi;
  params.initial_max_streams_uni = 3;  // the client's control and QPACK streams
  params.max_idle_timeout = static_cast<ngtcp2_duration>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(info_->entry_point.idle_timeout).count());
  params.active_connection_id_limit = 7;
  params.original_dcid = hd.dcid;
  if (odcid) {  // RFC 9000 7.3: the client's first choice, and the ID the Retry gave it
    params.original_dcid = *odcid;
    params.retry_scid = hd.dcid;
    params.retry_scid_present = 1;
    settings.token = hd.token;
  }
  params.stateless_reset_token_present = 1;
  if (!listener_.reset_token(params.stateless_reset_token, scid_)) return false;
  ngtcp2_path path{addr_of(local_), addr_of(remote_), nullptr};
  if (ngtcp2_conn_server_new(&conn_, &hd.scid, &scid_, &path, hd.version, &callbacks, &settings, &params,
                             nullptr, this) != 0)
    return false;
  tls_ref_.conn_ref.get_conn = Http3Callbacks::get_conn;
  tls_ref_.conn_ref.user_data = this;
  tls_ = listener_.credentials().new_session(tls_ref_);
  if (!tls_) return false;
  ngtcp2_conn_set_tls_native_handle(conn_, tls_);
  listener_.associate(scid_, this);
  listener_.associate(hd.dcid, this);
  arm_head_timer();
  return true;
}

// portier.headerTimeout, as on TCP: the first request's head must be complete this long after
// the client's first packet, handshake included, or the connection closes (a client that
// completes handshakes and asks nothing holds no connection for its idle timeout).
void Http3Connection::arm_head_timer() {
  head_timer_.expires_after(info_->entry_point.header_timeout);
  head_timer_.async_wait([weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->finished_ || self->asked_) return;
    self->close();
  });
}

// The HTTP/3 layer, once the handshake produced the 1-RTT keys: nghttp3 and the server's
// control and QPACK streams.
bool Http3Connection::setup_http() {
  if (http_) return true;
  note_handshake();
  static const nghttp3_callbacks callbacks = [] {
    nghttp3_callbacks cb{};
    cb.acked_stream_data = Http3Callbacks::acked_stream_data;
    cb.stream_close = Http3Callbacks::http_stream_close;
    cb.recv_data = Http3Callbacks::recv_data;
    cb.deferred_consume = Http3Callbacks::deferred_consume;
    cb.begin_headers = Http3Callbacks::begin_headers;
    cb.recv_header = Http3Callbacks::recv_header;
    cb.end_headers = Http3Callbacks::end_headers;
    cb.stop_sending = Http3Callbacks::stop_sending;
    cb.end_stream = Http3Callbacks::end_stream;
    cb.reset_stream = Http3Callbacks::reset_stream;
    return cb;
  }();
  nghttp3_settings settings;
  nghttp3_settings_default(&settings);
  settings.qpack_max_dtable_capacity = 4096;
  settings.qpack_blocked_streams = 100;
  settings.max_field_section_size = info_->h2_header_list;
  if (nghttp3_conn_server_new(&http_, &callbacks, &settings, nghttp3_mem_default(), this) != 0) return false;
  nghttp3_conn_set_max_client_streams_bidi(http_, ngtcp2_conn_get_local_transport_params(conn_)->initial_max_streams_bidi);
  int64_t control = 0, encoder = 0, decoder = 0;
  return ngtcp2_conn_open_uni_stream(conn_, &control, nullptr) == 0 &&
         nghttp3_conn_bind_control_stream(http_, control) == 0 &&
         ngtcp2_conn_open_uni_stream(conn_, &encoder, nullptr) == 0 &&
         ngtcp2_conn_open_uni_stream(conn_, &decoder, nullptr) == 0 &&
         nghttp3_conn_bind_qpack_streams(http_, encoder, decoder) == 0;
}

// The TLS facts every request of the connection reads (ClientInfo): the policy the
// certificate callback looked up for the SNI (it runs on every handshake: no session
// resumption is offered), TLS 1.3 (QUIC's only version) and the negotiated suite.
void Http3Connection::note_handshake() {
  client_.tls_policy = tls_ref_.policy.get();
  client_.tls_version = "1.3";
  client_.tls_cipher = tls13_suite_name(gnutls_cipher_get(tls_));
}

void Http3Connection::on_datagram(std::span<const uint8_t> data, const udp::endpoint& from) {
  if (finished_) return;
  ngtcp2_path path{addr_of(local_), addr_of(from), nullptr};
  ngtcp2_pkt_info pi{};
  int rv = ngtcp2_conn_read_pkt(conn_, &path, &pi, data.data(), data.size(), now_ns());
  if (rv != 0) {
    if (rv == NGTCP2_ERR_DRAINING || rv == NGTCP2_ERR_DROP_CONN || rv == NGTCP2_ERR_CLOSING) {
      finish();
      return;
    }
    if (rv != NGTCP2_ERR_CALLBACK_FAILURE) fail(rv, false);
    else fail(NGHTTP3_ERR_H3_INTERNAL_ERROR, true);
    return;
  }
  write_packets();
}

void Http3Connection::schedule_write() {
  if (write_posted_ || finished_) return;
  write_posted_ = true;
  asio::post(executor_, [self = shared_from_this()] {
    self->write_posted_ = false;
    self->write_packets();
  });
}

// Writes what ngtcp2 and nghttp3 have to send, within the congestion window.
void Http3Connection::write_packets() {
  if (finished_ || !conn_) return;
  std::array<uint8_t, kMaxPacket> buf;
  std::array<nghttp3_vec, 16> vec;
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_tstamp ts = now_ns();
  size_t max_payload = std::min(ngtcp2_conn_get_max_tx_udp_payload_size(conn_), buf.size());
  for (int packets = 0; packets < kPacketsPerWrite;) {
    int64_t stream_id = -1;
    int fin = 0;
    nghttp3_ssize count = 0;
    if (http_ && ngtcp2_conn_get_max_data_left(conn_)) {
      count = nghttp3_conn_writev_stream(http_, &stream_id, &fin, vec.data(), vec.size());
      if (count < 0) {
        fail(static_cast<int>(count), true);
        return;
      }
    }
    ngtcp2_ssize written = 0;
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE | (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
    ngtcp2_pkt_info pi{};
    auto n = ngtcp2_conn_writev_stream(conn_, &ps.path, &pi, buf.data(), max_payload, &written, flags, stream_id,
                                       reinterpret_cast<const ngtcp2_vec*>(vec.data()),
                                       static_cast<size_t>(count), ts);
    if (n < 0) {
      if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
        nghttp3_conn_block_stream(http_, stream_id);
        continue;
      }
      if (n == NGTCP2_ERR_STREAM_SHUT_WR) {
        nghttp3_conn_shutdown_stream_write(http_, stream_id);
        continue;
      }
      if (n == NGTCP2_ERR_WRITE_MORE) {
        if (nghttp3_conn_add_write_offset(http_, stream_id, static_cast<size_t>(written)) != 0) {
          fail(NGHTTP3_ERR_H3_INTERNAL_ERROR, true);
          return;
        }
        continue;
      }
      fail(static_cast<int>(n), false);
      return;
    }
    if (written >= 0 && http_ && nghttp3_conn_add_write_offset(http_, stream_id, static_cast<size_t>(written)) != 0) {
      fail(NGHTTP3_ERR_H3_INTERNAL_ERROR, true);
      return;
    }
    if (n == 0) break;  // nothing more, or congestion-limited: the timer comes back
    remote_ = endpoint_of(ps.path.remote);
    listener_.send(remote_, std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
    ++packets;
    if (packets == kPacketsPerWrite) schedule_write();
  }
  ngtcp2_conn_update_pkt_tx_time(conn_, ts);
  arm_timer();
}

void Http3Connection::arm_timer() {
  ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(conn_);
  ngtcp2_tstamp now = now_ns();
  auto wait = std::chrono::nanoseconds(expiry > now ? expiry - now : 0);
  timer_.expires_after(std::min<Clock::duration>(wait, std::chrono::hours(1)));
  timer_.async_wait([weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->finished_) return;
    int rv = ngtcp2_conn_handle_expiry(self->conn_, now_ns());
    if (rv == NGTCP2_ERR_IDLE_CLOSE) {
      self->finish();
      return;
    }
    if (rv != 0) {
      self->fail(rv, false);
      return;
    }
    self->write_packets();
  });
}

// Ends the connection after an error: CONNECTION_CLOSE with the error, then finish().
void Http3Connection::fail(int liberr, bool application) {
  if (finished_) return;
  ngtcp2_connection_close_error error;
  ngtcp2_connection_close_error_default(&error);
  if (application)
    ngtcp2_connection_close_error_set_application_error(&error, nghttp3_err_infer_quic_app_error_code(liberr),
                                                        nullptr, 0);
  else if (liberr == NGTCP2_ERR_CRYPTO)
    ngtcp2_connection_close_error_set_transport_error_tls_alert(&error, ngtcp2_conn_get_tls_alert(conn_), nullptr, 0);
  else
    ngtcp2_connection_close_error_set_transport_error_liberr(&error, liberr, nullptr, 0);
  send_close(error);
  finish();
}

bool Http3Connection::send_close(const ngtcp2_connection_close_error& error) {
  if (!conn_ || ngtcp2_conn_is_in_closing_period(conn_) || ngtcp2_conn_is_in_draining_period(conn_)) return false;
  std::array<uint8_t, kMaxPacket> buf;
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};
  auto n = ngtcp2_conn_write_connection_close(conn_, &ps.path, &pi, buf.data(), buf.size(), &error, now_ns());
  if (n <= 0) return false;
  listener_.send(endpoint_of(ps.path.remote), std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
  return true;
}

void Http3Connection::drain() {
  if (finished_ || draining_) return;
  draining_ = true;
  if (http_) nghttp3_conn_shutdown(http_);  // GOAWAY: no new request; those running finish
  write_packets();
  close_if_drained();
}

// Draining: closes once no exchange runs and every request stream is over (its response
// delivered and acknowledged, or reset). Posted: it may be reached from inside a callback.
void Http3Connection::close_if_drained() {
  if (!draining_ || finished_ || live_ > 0 || !streams_.empty()) return;
  asio::post(executor_, [self = shared_from_this()] {
    if (self->live_ == 0 && self->streams_.empty()) self->close();
  });
}

void Http3Connection::close() {
  if (finished_) return;
  ngtcp2_connection_close_error error;
  ngtcp2_connection_close_error_default(&error);
  ngtcp2_connection_close_error_set_application_error(&error, NGHTTP3_H3_NO_ERROR, nullptr, 0);
  send_close(error);
  finish();
}

// The connection is over: every exchange sees its stream closed; the listener forgets it
// (running exchanges keep the object until they end).
void Http3Connection::finish() {
  if (finished_) return;
  finished_ = true;
  timer_.cancel();
  head_timer_.cancel();
  for (auto& [id, s] : streams_) {
    s->closed = true;
    s->wake();
    if (s->upstream) {
      error_code ec;
      s->upstream->cancel(ec);
    }
  }
  listener_.forget(this);
}

std::shared_ptr<Http3Stream> Http3Connection::stream(int64_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second;
}

void Http3Connection::close_stream(int64_t id, uint64_t code) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  auto s = it->second;
  s->closed = true;
  s->close_code = static_cast<uint32_t>(code);
  s->wake();
  if (s->upstream) {
    error_code ec;
    s->upstream->cancel(ec);
  }
  streams_.erase(it);
  close_if_drained();
}

void Http3Connection::start_exchange(const std::shared_ptr<Http3Stream>& s) {
  s->started = true;
  if (!asked_) {
    asked_ = true;
    head_timer_.cancel();
  }
  if (draining_ || keep_alive_spent_) {  // after the GOAWAY: refused, the client may retry elsewhere
    ngtcp2_conn_shutdown_stream(conn_, s->quic_id, NGHTTP3_H3_REQUEST_REJECTED);
    return;
  }
  ++live_;
  worker().spawn(run_exchange(shared_from_this(), s));
  // keepAliveMaxRequests / keepAliveMaxTime: as on HTTP/2, this request runs and the
  // connection then drains (GOAWAY). Posted: this runs inside an nghttp3 callback.
  if (keep_alive_.last_request(info_->entry_point)) {
    keep_alive_spent_ = true;
    asio::post(executor_, [self = shared_from_this()] { self->drain(); });
  }
}

awaitable<void> Http3Connection::run_exchange(std::shared_ptr<Http3Connection> self, std::shared_ptr<Http3Stream> s) {
  co_await run_http2_exchange(*self, s);
  self->exchange_finished(*s);
}

void Http3Connection::exchange_finished(Http3Stream& s) {
  exchange_over(s);
  --live_;
  if (finished_) return;
  schedule_write();
  close_if_drained();
}

bool Http3Connection::submit_response(Http2Stream& st, const std::vector<nghttp2_nv>& nva, bool has_body) {
  auto& s = static_cast<Http3Stream&>(st);
  if (s.closed || finished_ || !http_) return false;
  std::vector<nghttp3_nv> fields;
  fields.reserve(nva.size());
  for (const auto& nv : nva) fields.push_back(to_h3(nv));
  static const nghttp3_data_reader reader{Http3Callbacks::read_data};
  if (nghttp3_conn_submit_response(http_, s.quic_id, fields.data(), fields.size(), has_body ? &reader : nullptr) != 0)
    return false;
  s.responded = true;
  schedule_write();
  return true;
}

void Http3Connection::submit_continue(Http2Stream& st) {
  auto& s = static_cast<Http3Stream&>(st);
  if (s.closed || finished_ || !http_ || s.responded) return;
  nghttp3_nv status{reinterpret_cast<uint8_t*>(const_cast<char*>(":status")),
                    reinterpret_cast<uint8_t*>(const_cast<char*>("100")), 7, 3, NGHTTP3_NV_FLAG_NONE};
  nghttp3_conn_submit_info(http_, s.quic_id, &status, 1);
  schedule_write();
}

void Http3Connection::resume(Http2Stream& st) {
  auto& s = static_cast<Http3Stream&>(st);
  if (s.closed || finished_ || !http_) return;
  if (s.deferred) {
    s.deferred = false;
    nghttp3_conn_resume_stream(http_, s.quic_id);
  }
  schedule_write();
}

void Http3Connection::consume(Http2Stream& st, size_t n) {
  auto& s = static_cast<Http3Stream&>(st);
  if (finished_ || n == 0 || s.closed) return;
  ngtcp2_conn_extend_max_stream_offset(conn_, s.quic_id, n);
  ngtcp2_conn_extend_max_offset(conn_, n);
  schedule_write();
}

void Http3Connection::reset(Http2Stream& st, uint32_t code) {
  auto& s = static_cast<Http3Stream&>(st);
  if (s.closed || finished_) return;
  ngtcp2_conn_shutdown_stream(conn_, s.quic_id, h3_code(code));
  schedule_write();
}

}  // namespace portier::proxy
