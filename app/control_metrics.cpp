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
  return out.take();
}

}  // namespace portier::app
