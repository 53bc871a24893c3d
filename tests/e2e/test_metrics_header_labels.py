"""metrics.prometheus.headerLabels (issue 17): each configured label takes the value of its
request header on the entrypoint, router and service requests_total series (Traefik v3:
only requests_total, an absent header gives "", `Host` is never a header in Go's map so it
is always "", X-Forwarded-Host holds the Host the forwarded-headers handler sets). Checked
over each of PROTOCOLS by scraping the metrics entrypoint; promtool accepts the text."""

import subprocess
import unittest

from portier_e2e import (PROTOCOLS, ProxyTest, free_port, http_request, is_tls, proto_request, router, service,
                         wait_until)

NET = "127.0.132"
HEADER_LABELS = {"tenant": "X-Tenant", "useragent": "User-Agent", "hostname": "Host", "fwdhost": "X-Forwarded-Host"}


def samples(text, family):
    """{labels text: value} of `family`'s samples in a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if line.startswith(family + "{"):
            labels, _, value = line[len(family) + 1:].rpartition("} ")
            out[labels] = float(value)
    return out


class HeaderLabels(ProxyTest, unittest.TestCase):
    IP = NET + ".1"
    BACKENDS = (("hl", NET + ".2"),)
    STATIC = {"metrics": {"prometheus": {"entryPoint": "metrics", "addRoutersLabels": True,
                                         "headerLabels": HEADER_LABELS}}}

    @classmethod
    def setUpClass(cls):
        cls.metrics_port = free_port(NET + ".1")
        cls.EXTRA_ENTRYPOINTS = {"metrics": {"address": "%s.1:%d" % (NET, cls.metrics_port)}}
        super().setUpClass()

    @classmethod
    def dynamic(cls):
        return {"http": {
            "routers": {"hl": router("Host(`hl.test`)", "hl"), "hl-tls": router("Host(`hl.test`)", "hl", tls={})},
            "services": {"hl": service(cls.b["hl"].url)}}}

    def scrape(self):
        r = http_request("GET", "http://%s.1:%d/metrics" % (NET, self.metrics_port))
        self.assertEqual(r.status, 200)
        return r.body

    def scrape_counted(self, expected, count):
        """The scrape once every {family: labels} of `expected` has reached `count` (a request is
        counted when its exchange ends, which may be just after the client has its answer)."""
        def ready():
            body = self.scrape()
            text = body.decode()
            return body if all(samples(text, family).get(labels, 0) >= count for family, labels in expected.items()) else None
        return wait_until(ready, timeout=5, what="%d requests counted in %s" % (count, expected))

    def test_labels_over_each_protocol(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                tenant = "t-" + protocol
                for _ in range(3):
                    r = proto_request(protocol, "GET", NET + ".1", self.port, "/status/418",
                                      headers={"Host": "hl.test", "X-Tenant": tenant, "User-Agent": "probe/1"})
                    self.assertEqual(r.status, 418)
                rt = "hl-tls@file" if is_tls(protocol) else "hl@file"
                extra = 'fwdhost="hl.test",hostname=""'
                tail = 'tenant="%s",useragent="probe/1"' % tenant
                expected = {
                    "traefik_entrypoint_requests_total":
                        'code="418",entrypoint="web",%s,method="GET",protocol="http",%s' % (extra, tail),
                    "traefik_router_requests_total":
                        'code="418",%s,method="GET",protocol="http",router="%s",service="hl@file",%s' % (extra, rt, tail),
                    "traefik_service_requests_total":
                        'code="418",%s,method="GET",protocol="http",service="hl@file",%s' % (extra, tail),
                }
                body = self.scrape_counted(expected, 3)
                check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, timeout=30)
                self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
                text = body.decode()
                for family, labels in expected.items():
                    self.assertEqual(samples(text, family).get(labels), 3.0, "%s{%s} in\n%s" % (family, labels, text))
                # The other families keep their own labels only (Traefik: requests_total alone).
                for labels in samples(text, "traefik_entrypoint_request_duration_seconds_count"):
                    self.assertNotIn("tenant=", labels)
                self.assertIn('traefik_entrypoint_request_duration_seconds_count{code="418",entrypoint="web",'
                              'method="GET",protocol="http"}', text)

    def test_absent_header_is_empty_and_control_bytes_are_replaced(self):
        """No X-Tenant: tenant="". A tab inside a value becomes '?' (a label value is printable
        ASCII here, so no client can make the scrape invalid)."""
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = proto_request(protocol, "GET", NET + ".1", self.port, "/status/419",
                                  headers={"Host": "hl.test", "User-Agent": "absent\t1"})
                self.assertEqual(r.status, 419)
        labels = ('code="419",fwdhost="hl.test",hostname="",method="GET",protocol="http",service="hl@file",'
                  'tenant="",useragent="absent?1"')
        body = self.scrape_counted({"traefik_service_requests_total": labels}, len(PROTOCOLS))
        check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        counts = samples(body.decode(), "traefik_service_requests_total")
        self.assertEqual(counts.get(labels), float(len(PROTOCOLS)), counts)


if __name__ == "__main__":
    unittest.main(verbosity=2)
