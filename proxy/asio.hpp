#pragma once
// Shorthands for the proxy's coroutine style: awaitable operations that report errors as
// values (as_tuple), never as exceptions.
//
// `co_await op(..., use_tuple)` awaits a deferred operation: Asio's coroutine machinery
// starts it from the awaiting frame itself (no intermediate coroutine frame is allocated per
// operation, unlike use_awaitable). The result is a std::tuple<error_code, ...>.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <tuple>

namespace portier::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
template <class T = void>
using awaitable = asio::awaitable<T>;
inline constexpr auto use_tuple = asio::as_tuple(asio::deferred);
// The same as an awaitable, for the awaitable operators (a && b, a || b).
inline constexpr auto use_tuple_awaitable = asio::as_tuple(asio::use_awaitable);

}  // namespace portier::proxy
