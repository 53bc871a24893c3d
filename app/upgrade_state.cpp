#include "app/upgrade_state.hpp"

#include <nlohmann/json.hpp>

#include "tls/base64.hpp"

namespace portier::app {

std::string encode_upgrade_state(const UpgradeState& state) {
  nlohmann::json ocsp = nlohmann::json::object();
  for (const auto& [id, der] : state.ocsp) ocsp[id] = tls::base64_encode(der);
  return nlohmann::json{{"ticketKeys", tls::base64_encode(state.ticket_keys)}, {"ocsp", std::move(ocsp)}}.dump();
}

std::optional<UpgradeState> decode_upgrade_state(std::string_view bytes) {
  if (bytes.substr(0, 4) == "PTK1") return UpgradeState{std::string(bytes), {}};
  auto j = nlohmann::json::parse(bytes, nullptr, false);
  if (!j.is_object() || !j.contains("ticketKeys") || !j["ticketKeys"].is_string()) return std::nullopt;
  UpgradeState state;
  auto keys = tls::base64_decode(j["ticketKeys"].get<std::string>());
  if (!keys) return std::nullopt;
  state.ticket_keys = std::move(*keys);
  if (auto it = j.find("ocsp"); it != j.end() && it->is_object()) {
    for (const auto& [id, der] : it->items()) {
      if (!der.is_string()) return std::nullopt;
      auto bytes_of = tls::base64_decode(der.get<std::string>());
      if (!bytes_of) return std::nullopt;
      state.ocsp.emplace(id, std::move(*bytes_of));
    }
  }
  return state;
}

}  // namespace portier::app
