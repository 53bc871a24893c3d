#include "app/control_metrics.hpp"

#include <openssl/bn.h>
#include <openssl/x509.h>

#include "proxy/prometheus_text.hpp"

namespace portier::app {

namespace {

std::string common_name(X509* cert) {
  char buf[256] = {0};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// Go's big.Int String(): the serial in decimal.
std::string serial_decimal(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (!bn) return {};
  char* text = BN_bn2dec(bn);
  std::string out = text ? text : "";
  OPENSSL_free(text);
  BN_free(bn);
  return out;
}

// One family with a sample per Docker daemon.
void per_daemon(proxy::PrometheusText& out, const char* name, const char* type, const char* help,
                const std::vector<discovery::EndpointStatus>& daemons, double (*value)(const discovery::EndpointStatus&)) {
  out.family(name, type, help);
  for (const auto& d : daemons) out.sample(name, {{"daemon", d.endpoint}}, value(d));
}

void render_docker(proxy::PrometheusText& out, const std::vector<discovery::EndpointStatus>& daemons) {
  using Status = discovery::EndpointStatus;
  per_daemon(out, "portier_docker_daemon_up", "gauge", "Whether the Docker daemon is connected (1) or being reconnected (0).",
             daemons, [](const Status& d) { return d.status == "reconnecting" ? 0.0 : 1.0; });
  per_daemon(out, "portier_docker_containers", "gauge", "Running containers known on the Docker daemon.", daemons,
             [](const Status& d) { return static_cast<double>(d.containers); });
  per_daemon(out, "portier_docker_containers_routed", "gauge",
             "Containers of the Docker daemon whose labels give routers, services or dynamic ports.", daemons,
             [](const Status& d) { return static_cast<double>(d.routed); });
  per_daemon(out, "portier_docker_label_errors", "gauge", "Containers of the Docker daemon skipped for a label error.",
             daemons, [](const Status& d) { return static_cast<double>(d.label_errors); });
  per_daemon(out, "portier_docker_events_total", "counter", "Docker events received from the daemon.", daemons,
             [](const Status& d) { return static_cast<double>(d.events); });
}

void render_acme(proxy::PrometheusText& out, const std::vector<acme::OrderCounts>& resolvers) {
  out.family("portier_acme_orders_started_total", "counter", "ACME certificate orders started, by resolver.");
  for (const auto& r : resolvers)
    out.sample("portier_acme_orders_started_total", {{"resolver", r.resolver}}, static_cast<double>(r.started));
  out.family("portier_acme_orders_total", "counter", "ACME certificate orders ended, by resolver and result.");
  for (const auto& r : resolvers) {
    out.sample("portier_acme_orders_total", {{"resolver", r.resolver}, {"result", "failed"}}, static_cast<double>(r.failed));
    out.sample("portier_acme_orders_total", {{"resolver", r.resolver}, {"result", "succeeded"}},
               static_cast<double>(r.succeeded));
  }
  out.family("portier_acme_last_failure_timestamp_seconds", "gauge",
             "When the resolver's last ACME order failed (Unix seconds; 0: none since start).");
  for (const auto& r : resolvers) {
    auto since = std::chrono::duration_cast<std::chrono::seconds>(r.last_failure.time_since_epoch());
    out.sample("portier_acme_last_failure_timestamp_seconds", {{"resolver", r.resolver}},
               static_cast<double>(since.count()));
  }
}

}  // namespace

std::string render_control_metrics(const ControlMetrics& m) {
  proxy::PrometheusText out;
  out.family("traefik_config_reloads_total", "counter", "Config reloads");
  out.sample("traefik_config_reloads_total", {}, static_cast<double>(m.reloads));
  out.family("traefik_config_last_reload_success", "gauge", "Last config reload success");
  out.sample("traefik_config_last_reload_success", {}, m.last_reload_success);
  if (m.certs) {
    out.family("traefik_tls_certs_not_after", "gauge", "Certificate expiration timestamp");
    for (const auto& entry : m.certs->all_entries()) {
      if (!entry || entry->source == "default" || !entry->leaf) continue;
      std::string sans;
      for (const auto& name : entry->names) sans += (sans.empty() ? "" : ",") + name;
      std::string cn = common_name(entry->leaf.get());
      std::string serial = serial_decimal(entry->leaf.get());
      double not_after = static_cast<double>(
          std::chrono::duration_cast<std::chrono::seconds>(entry->not_after.time_since_epoch()).count());
      out.sample("traefik_tls_certs_not_after", {{"cn", cn}, {"sans", sans}, {"serial", serial}}, not_after);
    }
  }
  if (m.runtime) {
    out.family("traefik_service_server_up", "gauge", "service server is up, described by gauge value of 0 or 1.");
    for (const auto& svc : m.runtime->services)
      for (const auto& server : svc.servers)
        out.sample("traefik_service_server_up", {{"service", svc.name}, {"url", server.url}},
                   server.health && !server.health->healthy.load() ? 0 : 1);
  }
  out.family("portier_snapshot_build_seconds", "gauge",
             "Time to build the last configuration snapshot (merge, compile, TLS).");
  out.sample("portier_snapshot_build_seconds", {}, m.last_build_seconds);
  out.family("portier_snapshot_generation", "gauge", "Configuration snapshots applied since start.");
  out.sample("portier_snapshot_generation", {}, static_cast<double>(m.generation));
  out.family("portier_config_errors", "gauge", "Configuration errors in the current snapshot.");
  out.sample("portier_config_errors", {}, static_cast<double>(m.config_errors));
  out.family("portier_routers", "gauge", "Routers in the current configuration (HTTP, TCP, UDP).");
  out.sample("portier_routers", {}, static_cast<double>(m.routers));
  out.family("portier_dynamic_ports", "gauge", "Dynamic port allocations, by protocol.");
  out.sample("portier_dynamic_ports", {{"protocol", "tcp"}}, static_cast<double>(m.tcp_ports));
  out.sample("portier_dynamic_ports", {{"protocol", "udp"}}, static_cast<double>(m.udp_ports));
  if (m.docker) render_docker(out, m.daemons);
  if (!m.acme.empty()) render_acme(out, m.acme);
  return out.take();
}

}  // namespace portier::app
