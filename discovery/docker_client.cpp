#include "discovery/docker_client.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace portier::discovery {

namespace asio = boost::asio;
using asio::awaitable;
using nlohmann::json;

namespace {

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

template <class T>
DockerResult<T> http_failure(const core::HttpResult& r, const std::string& what) {
  DockerResult<T> out;
  if (!r.ok()) {
    out.error = what + ": " + r.error;
    return out;
  }
  out.not_found = r.response.status == 404;
  std::string message = r.response.body;
  try {
    message = json::parse(r.response.body).value("message", message);
  } catch (...) {
  }
  out.error = what + ": HTTP " + std::to_string(r.response.status) + " " + message;
  return out;
}

// "8080/tcp" -> 8080 (digits only, 1..65535; atoi would take "99999999999" or "80abc"), with
// its protocol; 0 when malformed.
int container_port(const std::string& key, std::string* proto = nullptr) {
  auto slash = std::min(key.find('/'), key.size());
  int port = 0;
  auto [end, ec] = std::from_chars(key.data(), key.data() + slash, port);
  if (proto) *proto = slash < key.size() ? key.substr(slash + 1) : "tcp";
  return ec == std::errc() && end == key.data() + slash && port > 0 && port < 65536 ? port : 0;
}

// NetworkSettings.Ports: {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}], "81/tcp": null}.
// Keys iterate sorted, so a port's tcp binding wins over its udp one.
std::map<int, PortBinding> parse_port_bindings(const json& ports) {
  std::map<int, PortBinding> out;
  for (auto& [key, list] : ports.items()) {
    std::string proto;
    int port = container_port(key, &proto);
    if (port == 0 || (proto != "tcp" && proto != "udp") || !list.is_array() || list.empty() || !list[0].is_object()) continue;
    out.try_emplace(port, PortBinding{str(list[0], "HostIp"), str(list[0], "HostPort")});
  }
  return out;
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out += '%', out += hex[c >> 4], out += hex[c & 15];
  }
  return out;
}

}  // namespace

DockerClient::DockerClient(asio::any_io_executor executor, std::string endpoint, core::HttpClientOptions options)
    : http_(std::move(executor), std::move(endpoint), options) {}

awaitable<DockerResult<bool>> DockerClient::ping() {
  core::HttpRequest req;
  req.target = "/_ping";
  auto r = co_await http_.request(req);
  if (!r.ok() || r.response.status != 200) co_return http_failure<bool>(r, "ping");
  DockerResult<bool> ok;
  ok.value = true;
  co_return ok;
}

awaitable<DockerResult<std::vector<std::string>>> DockerClient::list_container_ids() {
  core::HttpRequest req;
  req.target = "/containers/json";
  auto r = co_await http_.request(req);
  using Out = DockerResult<std::vector<std::string>>;
  if (!r.ok() || r.response.status != 200) co_return http_failure<std::vector<std::string>>(r, "list containers");
  Out out;
  try {
    for (const auto& c : json::parse(r.response.body)) out.value.push_back(c.at("Id").get<std::string>());
  } catch (const std::exception& e) {
    out.error = std::string("list containers: bad JSON: ") + e.what();
  }
  co_return out;
}

awaitable<DockerResult<ContainerInfo>> DockerClient::inspect(std::string id) {
  core::HttpRequest req;
  req.target = "/containers/" + url_encode(id) + "/json";
  auto r = co_await http_.request(req);
  if (!r.ok() || r.response.status != 200) co_return http_failure<ContainerInfo>(r, "inspect " + id);
  DockerResult<ContainerInfo> out;
  auto info = parse_inspect(r.response.body, endpoint(), &out.error);
  if (info) out.value = std::move(*info);
  else out.error = "inspect " + id + ": " + out.error;
  co_return out;
}

awaitable<std::string> DockerClient::events(std::function<void(const DockerEvent&)> on_event,
                                            core::StreamCanceller* canceller, int64_t since) {
  core::HttpRequest req;
  req.target = "/events?filters=" + url_encode(R"({"type":["container"]})");
  if (since > 0) req.target += "&since=" + std::to_string(since);
  std::string pending;
  auto r = co_await http_.stream(req, [&](std::string_view data) {
    pending.append(data);
    std::size_t start = 0, nl;
    while ((nl = pending.find('\n', start)) != std::string::npos) {
      if (auto e = parse_event(std::string_view(pending).substr(start, nl - start))) on_event(*e);
      start = nl + 1;
    }
    pending.erase(0, start);
  }, canceller);
  if (r.ok() && r.response.status / 100 != 2)
    co_return "events: HTTP " + std::to_string(r.response.status) + " " + r.response.body;
  co_return r.ok() ? std::string("events: stream ended") : "events: " + r.error;
}

std::optional<ContainerInfo> DockerClient::parse_inspect(std::string_view text, const std::string& endpoint,
                                                         std::string* error) {
  try {
    auto j = json::parse(text);
    ContainerInfo c;
    c.id = j.at("Id").get<std::string>();
    c.name = str(j, "Name");
    if (!c.name.empty() && c.name.front() == '/') c.name.erase(0, 1);
    c.endpoint = endpoint;
    const auto& config = j.value("Config", json::object());
    if (config.contains("Labels") && config["Labels"].is_object())
      for (auto& [k, v] : config["Labels"].items())
        if (v.is_string()) c.labels[k] = v.get<std::string>();
    if (config.contains("ExposedPorts") && config["ExposedPorts"].is_object())
      for (auto& [k, v] : config["ExposedPorts"].items()) {
        std::string proto;
        if (int port = container_port(k, &proto); port != 0 && proto != "udp") c.ports.push_back(port);
      }
    std::sort(c.ports.begin(), c.ports.end());
    c.network_mode = str(j.value("HostConfig", json::object()), "NetworkMode");
    const auto& ns = j.value("NetworkSettings", json::object());
    if (ns.contains("Networks") && ns["Networks"].is_object())
      for (auto& [name, n] : ns["Networks"].items()) {
        std::string ip = n.is_object() ? str(n, "IPAddress") : "";
        c.networks[name] = ip.empty() && n.is_object() ? str(n, "GlobalIPv6Address") : ip;
      }
    if (ns.contains("Ports") && ns["Ports"].is_object()) c.port_bindings = parse_port_bindings(ns["Ports"]);
    const auto& state = j.value("State", json::object());
    c.state = str(state, "Status");
    if (state.contains("Health") && state["Health"].is_object()) c.health = str(state["Health"], "Status");
    return c;
  } catch (const std::exception& e) {
    if (error) *error = std::string("bad JSON: ") + e.what();
    return std::nullopt;
  }
}

std::optional<DockerEvent> DockerClient::parse_event(std::string_view text) {
  try {
    auto j = json::parse(text);
    DockerEvent e;
    if (str(j, "Type") != "container" && str(j, "Type") != "") return std::nullopt;
    e.action = str(j, "Action");
    if (e.action.empty()) e.action = str(j, "status");
    const auto& actor = j.value("Actor", json::object());
    e.id = str(actor, "ID");
    if (e.id.empty()) e.id = str(j, "id");
    if (actor.contains("Attributes") && actor["Attributes"].is_object())
      for (auto& [k, v] : actor["Attributes"].items())
        if (v.is_string()) e.attributes[k] = v.get<std::string>();
    e.name = e.attributes.count("name") ? e.attributes["name"] : "";
    // Only an integer: a float (1e300) would convert to int64_t with undefined behaviour.
    if (auto t = j.find("time"); t != j.end() && t->is_number_integer()) e.time = t->get<int64_t>();
    if (e.id.empty() || e.action.empty()) return std::nullopt;
    return e;
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace portier::discovery
