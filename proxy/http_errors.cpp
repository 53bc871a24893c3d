#include "proxy/http_errors.hpp"

#include <charconv>

namespace portier::proxy {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 413: return "Request Entity Too Large";
    case 414: return "URI Too Long";
    case 421: return "Misdirected Request";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

void append_status_line(std::string& out, int status, std::string_view reason) {
  char code[16];
  auto [end, ec] = std::to_chars(code, code + sizeof code, status);
  out.append("HTTP/1.1 ").append(code, end).append(" ");
  out.append(reason.empty() ? reason_phrase(status) : reason);
  out.append("\r\n");
}

std::string status_line(int status, std::string_view reason) {
  std::string out;
  append_status_line(out, status, reason);
  return out;
}

std::string error_body(int status) {
  return status == 404 ? "404 page not found\n" : std::string(reason_phrase(status)) + "\n";
}

std::string error_response(int status, bool close) {
  std::string body = error_body(status);
  std::string out = status_line(status);
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace portier::proxy
