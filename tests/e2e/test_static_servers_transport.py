"""The static root `serversTransport` (issue 18 item 3) is the transport of HTTP services that
name none, and of `serversTransport: default@internal`: its rootCAs verify an https server
signed by the test's own CA over each of PROTOCOLS; a named http.serversTransports entry does
not inherit it (the same server is then refused, 502)."""

import unittest

from portier_e2e import (PROTOCOLS, Backend, Portier, free_port, http_config, make_temp_dir, proto_request, router,
                         service, started, write_file_atomic)
from test_upstream_tls import make_certificates, server_context

NET = "127.0.103"
PORTIER = NET + ".1"
SERVER = NET + ".2"


class StaticServersTransport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = make_temp_dir()
        make_certificates(cls.dir, SERVER)
        cls.backend = Backend("signed", SERVER, ssl_context=server_context(cls.dir, "srv.pem", "srv.key"))
        routers, services = {}, {}
        for name, lb in (("default", {}), ("internal", {"serversTransport": "default@internal"}),
                         ("named", {"serversTransport": "no-ca"})):
            routers[name] = router("Host(`%s.test`)" % name, name)
            routers[name + "-tls"] = router("Host(`%s.test`)" % name, name, tls={})
            services[name] = service(cls.backend.url, **lb)
        dynamic = {"http": {"routers": routers, "services": services,
                            "serversTransports": {"no-ca": {"forwardingTimeouts": {"dialTimeout": "5s"}}}}}
        dynamic_path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        cls.port = free_port(PORTIER)
        cls.portier = started(Portier(http_config(
            {"web": "%s:%d" % (PORTIER, cls.port)}, dynamic_path,
            serversTransport={"rootCAs": [str(cls.dir / "ca.pem")],
                              "forwardingTimeouts": {"dialTimeout": "5s", "responseHeaderTimeout": "10s"}})))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.backend.close()

    def get(self, protocol, host):
        return proto_request(protocol, "GET", PORTIER, self.port, "/", headers={"Host": host})

    def test_services_without_a_transport_use_the_static_one(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                r = self.get(protocol, "default.test")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["backend"], "signed")

    def test_default_at_internal_names_the_static_one(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                self.assertEqual(self.get(protocol, "internal.test").status, 200)

    def test_a_named_transport_does_not_inherit_it(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                self.assertEqual(self.get(protocol, "named.test").status, 502)


if __name__ == "__main__":
    unittest.main()
