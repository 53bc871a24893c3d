#pragma once
// Dynamic TCP/UDP port allocation from infra.dynamic_tcp_ports. One pool per protocol over
// the same number range. An allocation is keyed by {network_id, service, proto, port}, stays
// the same across restarts (persisted in ports.json, mode 0600, with core::write_file_atomic)
// and is freed only after its container has been gone for longer than the grace period. A
// save that fails (disk full, read-only) leaves the old file whole and is retried at each
// sync() until it succeeds.
//
// Thread: owned and used by the control thread only.
#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "discovery/label_decoder.hpp"

namespace portier::discovery {

struct PortKey {
  std::string network_id;
  std::string service;
  std::string proto;  // "tcp" / "udp"
  uint16_t port = 0;  // the container's port
  auto operator<=>(const PortKey&) const = default;
  static PortKey of(const PortRequest& r) { return {r.network_id, r.service, r.proto, r.port}; }
};

// One line of GET /ports.
struct PortEntry {
  uint16_t port = 0;  // external
  std::string service;
  std::string network_id;
  std::string target;  // "127.0.11.2:3306"
  bool operator==(const PortEntry&) const = default;
};

struct PortsView {
  std::vector<PortEntry> tcp;
  std::vector<PortEntry> udp;
  bool operator==(const PortsView&) const = default;
};

class PortAllocator {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // `path` = {state}/ports.json; first == 0 means no range (every request fails).
  PortAllocator(std::string path, uint16_t first, uint16_t last, std::chrono::milliseconds grace,
                Clock clock = {});

  // Reads the file; a missing file is an empty table. Returns "" or what is wrong (the table
  // is then empty and the file is left alone until the next successful save).
  std::string load();

  struct Assignment {
    PortRequest request;
    uint16_t external = 0;
  };
  struct SyncResult {
    std::vector<Assignment> assigned;
    std::vector<std::pair<PortRequest, std::string>> failed;  // e.g. range full
  };

  // `wanted`: every request of every known container. Allocates new keys, marks absent ones
  // gone (from now), frees those gone for longer than the grace period, and saves when the
  // table changed. Deterministic: requests are served in key order.
  SyncResult sync(const std::vector<PortRequest>& wanted);

  // "" or the error of the last save (shown in /health until a save succeeds).
  const std::string& save_error() const { return save_error_; }
  std::optional<uint16_t> find(const PortKey& key) const;

 private:
  struct Slot {
    uint16_t external = 0;
    std::optional<std::chrono::system_clock::time_point> gone_since;
  };
  std::optional<uint16_t> free_port(const std::string& proto) const;
  void save();

  std::string path_;
  uint16_t first_, last_;
  std::chrono::milliseconds grace_;
  Clock clock_;
  std::map<PortKey, Slot> table_;
  std::string save_error_;
};

}  // namespace portier::discovery
