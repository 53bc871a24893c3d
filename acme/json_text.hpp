#pragma once
// Reading the string fields of the JSON answers of outside APIs (ACME, Cloudflare), which may
// have any shape: a field that is absent or not a string reads as "".
#include <nlohmann/json.hpp>
#include <string>

namespace portier::acme {

inline std::string json_string(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace portier::acme
