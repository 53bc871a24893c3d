#pragma once
// What a live upgrade hands to the successor besides the sockets (through the sealed memory
// file of app/live_upgrade.hpp): the TLS session-ticket keys, so clients resume their sessions,
// and the stapled OCSP responses, so the successor staples at once instead of fetching again.
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace portier::app {

struct UpgradeState {
  std::string ticket_keys;                 // tls::TicketKeyRing::export_keys()
  std::map<std::string, std::string> ocsp;  // CertEntry::id -> DER response
};

// A JSON object ({"ticketKeys": base64, "ocsp": {id: base64}}).
std::string encode_upgrade_state(const UpgradeState& state);
// Nullopt when unreadable. The bare ticket-key blob earlier versions handed over is read as
// a state without OCSP responses.
std::optional<UpgradeState> decode_upgrade_state(std::string_view bytes);

}  // namespace portier::app
