#include "proxy/tcp_gate.hpp"

namespace portier::proxy {

namespace {

std::optional<IpRanges> allow_list(const std::vector<std::string>& source_range,
                                   std::string* error) {
  if (source_range.empty()) return *error = "sourceRange is empty", std::nullopt;
  return IpRanges::parse(source_range, error);
}

}  // namespace

std::shared_ptr<const TcpGate> TcpGate::make(
    const std::vector<std::string>& names, const std::map<std::string, config::TcpMiddleware>& all,
    std::string* error) {
  auto gate = std::make_shared<TcpGate>();
  for (const auto& name : names) {
    auto it = all.find(name);
    if (it == all.end()) return *error = "middleware \"" + name + "\" does not exist", nullptr;
    Step step;
    std::string e;
    const auto& spec = it->second.spec;
    if (const auto* a = std::get_if<config::TcpIpAllowListMw>(&spec)) {
      step.allow = allow_list(a->source_range, &e);
    } else if (const auto* w = std::get_if<config::TcpIpWhiteListMw>(&spec)) {
      step.allow = allow_list(w->source_range, &e);
    } else if (const auto* f = std::get_if<config::TcpInFlightConnMw>(&spec)) {
      if (f->amount > 0)
        step.in_flight = std::make_shared<InFlightCounter>(f->amount);
      else
        e = "amount must be greater than 0";  // Traefik would refuse every connection
    }
    if (!e.empty()) return *error = "middleware \"" + name + "\": " + e, nullptr;
    gate->steps_.push_back(std::move(step));
  }
  return gate;
}

bool TcpGate::admit(const boost::asio::ip::address& peer,
                    std::vector<std::unique_ptr<RequestHold>>& holds) const {
  std::array<unsigned char, 16> ip16;
  if (peer.is_v4())
    ip16 = boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, peer.to_v4()).to_bytes();
  else
    ip16 = peer.to_v6().to_bytes();
  for (const auto& step : steps_) {
    if (step.allow && !step.allow->contains(ip16)) return false;
    if (step.in_flight) {
      auto hold = step.in_flight->acquire(peer.to_string());
      if (!hold) return false;
      holds.push_back(std::move(hold));
    }
  }
  return true;
}

}  // namespace portier::proxy
