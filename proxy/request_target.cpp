#include "proxy/request_target.hpp"

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

}  // namespace

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

void apply_target_rules(RequestHead& head, const TargetRules& rules, std::string& storage) {
  const bool semicolons = head.query.find(';') != std::string_view::npos;
  const bool clean = rules.sanitize_path && needs_cleaning(head.path);
  if (!semicolons && !clean) return;
  storage = clean ? clean_path(head.path) : std::string(head.path);
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
}

}  // namespace portier::proxy
