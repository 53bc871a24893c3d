#include "app/upgrade_command.hpp"

#include <iostream>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "app/diagnostics_server.hpp"
#include "config/static_loader.hpp"

namespace portier::app {
namespace {

// One blocking POST with no body; the raw response, or "" with *error set.
std::string post(const std::string& address, const std::string& path, std::string* error) {
  const size_t colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  boost::asio::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  auto endpoints = resolver.resolve(host.empty() ? "127.0.0.1" : host, address.substr(colon + 1), ec);
  if (!ec) boost::asio::connect(socket, endpoints, ec);
  const std::string request = "POST " + path + " HTTP/1.1\r\nHost: " + address +
                              "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  if (!ec) boost::asio::write(socket, boost::asio::buffer(request), ec);
  std::string response;
  if (!ec) {
    boost::asio::read(socket, boost::asio::dynamic_buffer(response), ec);
    if (ec == boost::asio::error::eof) ec = {};
  }
  if (ec) *error = "diagnostics " + address + ": " + ec.message();
  return ec ? std::string() : response;
}

}  // namespace

int run_upgrade_command(const CommandLine& cl, const std::map<std::string, std::string>& env) {
  auto loaded = config::load_static_config_file(cl.config_path, cl.overrides, env);
  if (!loaded.ok()) {
    for (const auto& p : loaded.problems) std::cerr << "portier: " << p.to_string() << "\n";
    return 2;
  }
  std::string error;
  const std::string response = post(loaded.config.diagnostics_address, "/upgrade", &error);
  if (response.empty()) {
    std::cerr << "portier upgrade: " << error << " (is portier running with this configuration?)\n";
    return 1;
  }
  const size_t body = response.find("\r\n\r\n");
  const std::string text = body == std::string::npos ? response : response.substr(body + 4);
  if (response.rfind("HTTP/1.1 200", 0) != 0) {
    std::cerr << "portier upgrade: failed, the running portier keeps serving: " << text;
    return 1;
  }
  std::cout << "portier upgrade: the new process serves: " << text;
  return 0;
}

}  // namespace portier::app
