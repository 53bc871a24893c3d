#pragma once
// A byte stream whose transport (unix socket, TCP, TLS over TCP) is chosen at run time, for
// the control-plane HTTP client: Beast's HTTP operations are compiled once, for ByteStream,
// instead of once per transport type.
//
// Contract: ByteStream is an AsyncReadStream and AsyncWriteStream for Beast. At most one read
// and one write are pending at a time (as Beast's HTTP operations do). A read fills the first
// non-empty buffer of the sequence; a write sends up to kMaxWriteBuffers buffers in one
// call (a TLS transport writes them as one record when they fit). The transport keeps its
// deadline (beast::basic_stream's expires_after) for every operation. Control thread only.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/system/error_code.hpp>

namespace portier::core {

class ByteStream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using Handler = boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;
  static constexpr std::size_t kMaxWriteBuffers = 8;
  using WriteBuffers = std::array<boost::asio::const_buffer, kMaxWriteBuffers>;

  // One transport. `buffers` of write_some stay valid until the handler runs.
  struct Transport {
    virtual ~Transport() = default;
    virtual executor_type executor() = 0;
    virtual void read_some(boost::asio::mutable_buffer buffer, Handler handler) = 0;
    virtual void write_some(const WriteBuffers& buffers, Handler handler) = 0;
    virtual void expires_after(std::chrono::milliseconds timeout) = 0;
    virtual void expires_never() = 0;
    virtual void shutdown() = 0;  // both directions; errors ignored
    virtual void close() = 0;     // cancels pending operations; errors ignored
  };

  explicit ByteStream(std::unique_ptr<Transport> transport) : transport_(std::move(transport)) {}

  executor_type get_executor() { return transport_->executor(); }
  Transport& transport() { return *transport_; }

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    boost::asio::mutable_buffer first;
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers);
         ++it) {
      first = *it;
      if (first.size() > 0) break;
    }
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](Handler handler, boost::asio::mutable_buffer buffer) {
          transport_->read_some(buffer, std::move(handler));
        },
        token, first);
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    write_buffers_.fill({});
    std::size_t n = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && n < kMaxWriteBuffers; ++it)
      write_buffers_[n++] = *it;
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](Handler handler) { transport_->write_some(write_buffers_, std::move(handler)); }, token);
  }

 private:
  std::unique_ptr<Transport> transport_;
  WriteBuffers write_buffers_{};
};

// The Transport of a Beast stream `S` (basic_stream, or ssl_stream over one).
template <class S>
class TransportOf final : public ByteStream::Transport {
 public:
  template <class... Args>
  explicit TransportOf(Args&&... args) : stream_(std::forward<Args>(args)...) {}
  S& stream() { return stream_; }

  ByteStream::executor_type executor() override { return stream_.get_executor(); }
  void read_some(boost::asio::mutable_buffer buffer, ByteStream::Handler handler) override {
    stream_.async_read_some(buffer, on_stream_executor(std::move(handler)));
  }
  void write_some(const ByteStream::WriteBuffers& buffers, ByteStream::Handler handler) override {
    stream_.async_write_some(buffers, on_stream_executor(std::move(handler)));
  }
  void expires_after(std::chrono::milliseconds timeout) override {
    boost::beast::get_lowest_layer(stream_).expires_after(timeout);
  }
  void expires_never() override { boost::beast::get_lowest_layer(stream_).expires_never(); }
  void shutdown() override {
    boost::system::error_code ignored;
    boost::beast::get_lowest_layer(stream_).socket().shutdown(boost::asio::socket_base::shutdown_both, ignored);
  }
  void close() override {
    boost::system::error_code ignored;
    auto& socket = boost::beast::get_lowest_layer(stream_).socket();
    socket.cancel(ignored);
    socket.close(ignored);
  }

 private:
  // Boost 1.81's any_completion_executor cannot be required to be non-blocking, which Beast's
  // streams ask of a handler's executor. Everything here runs on the stream's one executor,
  // so the handler is called from a plain callable that completes there.
  static auto on_stream_executor(ByteStream::Handler handler) {
    return [h = std::move(handler)](boost::system::error_code ec, std::size_t n) mutable { std::move(h)(ec, n); };
  }

  S stream_;
};

}  // namespace portier::core
