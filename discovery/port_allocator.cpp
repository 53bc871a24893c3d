#include "discovery/port_allocator.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <unistd.h>

#include "core/atomic_file.hpp"
#include "core/log.hpp"

namespace portier::discovery {

using std::chrono::system_clock;

PortAllocator::PortAllocator(std::string path, uint16_t first, uint16_t last,
                             std::chrono::milliseconds grace, Clock clock)
    : path_(std::move(path)), first_(first), last_(last), grace_(grace), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return system_clock::now(); };
}

std::string PortAllocator::load() {
  table_.clear();
  std::string error;
  auto text = core::read_file(path_, &error);
  if (!text) return access(path_.c_str(), F_OK) != 0 ? std::string() : error;
  try {
    auto j = nlohmann::json::parse(*text);
    for (const auto& a : j.at("allocations")) {
      PortKey key{a.at("network_id"), a.at("service"), a.at("proto"), a.at("port")};
      Slot slot{a.at("external").get<uint16_t>(), std::nullopt};
      if (a.contains("gone_since") && !a["gone_since"].is_null())
        slot.gone_since = system_clock::time_point(std::chrono::milliseconds(a["gone_since"].get<int64_t>()));
      if (slot.external < first_ || slot.external > last_ || first_ == 0) continue;  // range changed
      table_[key] = slot;
    }
  } catch (const std::exception& e) {
    table_.clear();
    return path_ + ": " + e.what();
  }
  return {};
}

std::optional<uint16_t> PortAllocator::find(const PortKey& key) const {
  auto it = table_.find(key);
  return it == table_.end() ? std::nullopt : std::optional<uint16_t>(it->second.external);
}

std::optional<uint16_t> PortAllocator::free_port(const std::string& proto) const {
  if (first_ == 0) return std::nullopt;
  std::set<uint16_t> used;
  for (const auto& [k, s] : table_)
    if (k.proto == proto) used.insert(s.external);
  for (uint32_t p = first_; p <= last_; ++p)
    if (!used.count(static_cast<uint16_t>(p))) return static_cast<uint16_t>(p);
  return std::nullopt;
}

PortAllocator::SyncResult PortAllocator::sync(const std::vector<PortRequest>& wanted) {
  auto now = clock_();
  bool changed = false;
  std::map<PortKey, const PortRequest*> want;
  for (const auto& r : wanted) want.emplace(PortKey::of(r), &r);
  for (auto it = table_.begin(); it != table_.end();) {
    auto& slot = it->second;
    if (want.count(it->first)) {
      if (slot.gone_since) slot.gone_since.reset(), changed = true;
    } else if (!slot.gone_since) {
      slot.gone_since = now;
      changed = true;
    } else if (now - *slot.gone_since > grace_) {
      core::log_info("ports: released ", it->first.proto, " ", slot.external, " of ", it->first.service, "-",
                     it->first.network_id);
      it = table_.erase(it);
      changed = true;
      continue;
    }
    ++it;
  }
  SyncResult result;
  for (const auto& [key, request] : want) {
    auto it = table_.find(key);
    if (it == table_.end()) {
      auto port = free_port(key.proto);
      if (!port) {
        result.failed.emplace_back(*request, first_ == 0 ? "no dynamic_tcp_ports range is configured"
                                                         : "dynamic port range " + std::to_string(first_) + "-" +
                                                               std::to_string(last_) + " is full");
        continue;
      }
      it = table_.emplace(key, Slot{*port, std::nullopt}).first;
      changed = true;
    }
    result.assigned.push_back({*request, it->second.external});
  }
  if (changed || !save_error_.empty()) save();  // a failed save is retried at each sync
  return result;
}

void PortAllocator::save() {
  if (path_.empty()) return;  // not persisted (tests, check)
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [k, s] : table_) {
    nlohmann::json a{{"proto", k.proto}, {"network_id", k.network_id}, {"service", k.service},
                     {"port", k.port}, {"external", s.external}, {"gone_since", nullptr}};
    if (s.gone_since)
      a["gone_since"] = std::chrono::duration_cast<std::chrono::milliseconds>(s.gone_since->time_since_epoch()).count();
    list.push_back(std::move(a));
  }
  nlohmann::json doc{{"version", 1}, {"allocations", std::move(list)}};
  // The state directory may not exist yet on a fresh server.
  std::error_code ec;
  auto dir = std::filesystem::path(path_).parent_path();
  if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      if (save_error_.empty()) core::log_error("ports: cannot save allocations: ", dir.string(), ": ", ec.message());
      save_error_ = dir.string() + ": " + ec.message();
      return;
    }
  }
  std::string previous = std::move(save_error_);
  save_error_ = core::write_file_atomic(path_, doc.dump(2) + "\n", 0600);
  if (!save_error_.empty() && save_error_ != previous) core::log_error("ports: cannot save allocations: ", save_error_);
  if (save_error_.empty() && !previous.empty()) core::log_info("ports: allocations saved again to ", path_);
}

}  // namespace portier::discovery
