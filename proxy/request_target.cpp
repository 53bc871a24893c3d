#include "proxy/request_target.hpp"

#include <cctype>
#include <vector>

namespace portier::proxy {
namespace {

// True when path.Clean would change `path` (a "//", a "." or ".." segment).
bool needs_cleaning(std::string_view path) {
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '/') continue;
    std::string_view seg = path.substr(i + 1, path.find('/', i + 1) - (i + 1));
    bool last = i + 1 + seg.size() >= path.size();
    if ((seg.empty() && !last) || seg == "." || seg == "..") return true;
  }
  return false;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// The byte a well-formed "%XY" at path[i] encodes, or -1.
int escaped_at(std::string_view path, size_t i) {
  if (path[i] != '%' || i + 2 >= path.size()) return -1;
  int hi = hex_value(path[i + 1]), lo = hex_value(path[i + 2]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// A '%' not followed by two hex digits (Go's url.PathUnescape: "invalid URL escape").
bool has_invalid_escape(std::string_view path) {
  for (size_t i = path.find('%'); i != std::string_view::npos; i = path.find('%', i + 1))
    if (escaped_at(path, i) < 0) return true;
  return false;
}

// True when normalize_path would change `path`.
bool needs_normalizing(std::string_view path) {
  for (size_t i = path.find('%'); i != std::string_view::npos; i = path.find('%', i + 1)) {
    int c = escaped_at(path, i);
    if (c < 0) continue;
    if (is_unreserved(static_cast<char>(c)) || std::islower(static_cast<unsigned char>(path[i + 1])) ||
        std::islower(static_cast<unsigned char>(path[i + 2])))
      return true;
  }
  return false;
}

}  // namespace

std::string normalize_path(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    int c = escaped_at(path, i);
    if (c < 0) {
      out += path[i];
    } else if (is_unreserved(static_cast<char>(c))) {
      out += static_cast<char>(c);
      i += 2;
    } else {
      out.append({'%', kHex[c >> 4], kHex[c & 15]});
      i += 2;
    }
  }
  return out;
}

std::string clean_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::string(path);
  std::vector<std::string_view> kept;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(pos, end - pos);
    if (seg == "..") {
      if (!kept.empty()) kept.pop_back();
    } else if (!seg.empty() && seg != ".") {
      kept.push_back(seg);
    }
    pos = end + 1;
  }
  std::string out;
  out.reserve(path.size());
  for (auto seg : kept) out.append("/").append(seg);
  if (out.empty() || path.back() == '/') out += '/';
  return out;
}

bool apply_target_rules(RequestHead& head, const TargetRules& rules, std::string& storage) {
  if (has_invalid_escape(head.path)) return false;
  const bool semicolons = head.query.find(';') != std::string_view::npos;
  std::string path;
  const bool normalize = needs_normalizing(head.path);
  if (normalize) path = normalize_path(head.path);
  const std::string_view normalized = normalize ? std::string_view(path) : head.path;
  const bool clean = rules.sanitize_path && needs_cleaning(normalized);
  if (clean) path = clean_path(normalized);
  if (!semicolons && !normalize && !clean) return true;
  storage = normalize || clean ? std::move(path) : std::string(head.path);
  const size_t path_size = storage.size();
  if (!head.query.empty()) {
    storage += '?';
    for (char c : head.query) {
      if (c != ';')
        storage += c;
      else if (rules.encode_query_semicolons)
        storage += "%3B";
      else
        storage += '&';
    }
  }
  std::string_view all = storage;
  head.target = all;
  head.path = all.substr(0, path_size);
  head.query = head.query.empty() ? std::string_view() : all.substr(path_size + 1);
  return true;
}

}  // namespace portier::proxy
