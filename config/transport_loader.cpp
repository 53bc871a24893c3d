#include "config/transport_loader.hpp"

namespace portier::config {

void read_servers_transport(const YAML::Node& v, YamlReader& r, ServersTransport& out) {
  const std::string path = "serversTransport";
  r.check_keys(v, path, {"insecureSkipVerify", "rootCAs", "maxIdleConnsPerHost", "forwardingTimeouts"},
               {{"spiffe", ""}});
  r.get(v, "insecureSkipVerify", path, out.insecure_skip_verify);
  r.get(v, "rootCAs", path, out.root_cas);
  if (auto [k, n] = YamlReader::find(v, "maxIdleConnsPerHost"); k.IsDefined())
    if (auto value = r.integer(n, path + ".maxIdleConnsPerHost", 0, INT32_MAX, k))
      out.max_idle_conns_per_host = static_cast<int>(*value);
  auto [tk, timeouts] = YamlReader::find(v, "forwardingTimeouts");
  const std::string tpath = path + ".forwardingTimeouts";
  if (!tk.IsDefined() || !r.expect_map(timeouts, tpath, tk)) return;
  r.check_keys(timeouts, tpath, {"dialTimeout", "responseHeaderTimeout", "idleConnTimeout"},
               {{"readIdleTimeout", ""}, {"pingTimeout", ""}});
  r.get(timeouts, "dialTimeout", tpath, out.dial_timeout);
  r.get(timeouts, "responseHeaderTimeout", tpath, out.response_header_timeout);
  r.get(timeouts, "idleConnTimeout", tpath, out.idle_conn_timeout);
}

void read_tcp_servers_transport(const YAML::Node& v, YamlReader& r, TcpServersTransport& out) {
  const std::string path = "tcpServersTransport";
  // terminationDelay: Traefik reads it and never uses it (default@internal does not copy it).
  r.check_keys(v, path, {"dialTimeout", "dialKeepAlive", "tls"},
               {{"terminationDelay", "Traefik ignores it here; set it on a tcp.serversTransports entry"}});
  r.get(v, "dialTimeout", path, out.dial_timeout);
  r.get(v, "dialKeepAlive", path, out.dial_keep_alive);
  auto [tk, tls] = YamlReader::find(v, "tls");
  const std::string tpath = path + ".tls";
  if (!tk.IsDefined() || !r.expect_map(tls, tpath, tk)) return;
  r.check_keys(tls, tpath, {"insecureSkipVerify", "rootCAs"}, {{"spiffe", ""}});
  TcpClientTls& client = out.tls.emplace();
  r.get(tls, "insecureSkipVerify", tpath, client.insecure_skip_verify);
  r.get(tls, "rootCAs", tpath, client.root_cas);
}

}  // namespace portier::config
