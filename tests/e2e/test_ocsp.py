"""OCSP stapling with responses fetched from a real responder (`openssl ocsp` in server mode).

A CA issues a leaf whose AIA names the responder started here; portier serves the leaf from
tls.certificates (chain file: leaf + CA), fetches its status, and staples it; `openssl s_client
-status` reads the staple. The responder signs with `-nmin 1` (nextUpdate one minute after
thisUpdate), so portier refreshes 30 s after each fetch: revoking the leaf in index.txt (the
responder re-reads it when it changes) shows up in the staple without restarting portier.
"""

import ctypes
import json
import os
import signal
import subprocess
import unittest

from portier_e2e import (Backend, Portier, free_port, http_config, make_temp_dir, router, run_cli, service, started,
                         wait_until, write_file_atomic, _live_procs, _set_pdeathsig)

NET = "127.0.67"
NAME = "stapled.test"


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, timeout=30, text=True)
    if r.returncode != 0:
        raise AssertionError("openssl %s failed: %s" % (" ".join(args), r.stderr))
    return r.stdout


def s_client_status(address, servername):
    r = subprocess.run(["openssl", "s_client", "-connect", address, "-servername", servername, "-status"],
                       input=b"", capture_output=True, timeout=15)
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


class OcspStapling(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = d = make_temp_dir()
        cls.responder_port = free_port()  # `openssl ocsp -port` binds every address
        url = "http://127.0.0.1:%d/ocsp" % cls.responder_port
        leaf_with_responder(d, url, serial="0x5A17")
        cls.set_index("V")
        cls.responder = start_responder(d, cls.responder_port)
        cls.backend = Backend("stapled", NET + ".2")
        cls.address = "%s.1:%d" % (NET, free_port(NET + ".1"))
        dynamic = {
            "http": {"routers": {"app": router("Host(`%s`)" % NAME, "app", tls={})},
                     "services": {"app": service(cls.backend.url)}},
            "tls": {"certificates": [{"certFile": str(d / "chain.crt"), "keyFile": str(d / "leaf.key")}]},
        }
        cls.dynamic_path = write_file_atomic(d / "dynamic.yml", dynamic)
        cls.portier = started(Portier(http_config({"web": cls.address}, cls.dynamic_path)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.backend.close()
        cls.responder.kill()
        cls.responder.wait()

    @classmethod
    def set_index(cls, status):
        set_index(cls.dir, status)

    def ocsp_state(self):
        for c in self.portier.diag("/certificates"):
            if NAME in c.get("names", []):
                return c.get("ocsp")
        return None

    def test_1_good_status_is_stapled_and_shown(self):
        out = wait_until(lambda: (lambda o: o if "Cert Status: good" in o else None)(
            s_client_status(self.address, NAME)), timeout=20, what="a stapled good response")
        self.assertIn("OCSP Response Status: successful", out)
        self.assertIn("Issuer Name Hash", out)
        state = self.ocsp_state()
        self.assertIsNotNone(state)
        self.assertEqual(state["status"], "good", state)
        self.assertTrue(state["stapled"], state)
        self.assertTrue(state["responder"].endswith(":%d/ocsp" % self.responder_port), state)
        self.assertIn("next_update", state)
        # Without SNI the default certificate answers: it has no responder, so no staple.
        r = subprocess.run(["openssl", "s_client", "-connect", self.address, "-noservername", "-status"],
                           input=b"", capture_output=True, timeout=15)
        self.assertIn("OCSP response: no response sent", r.stdout.decode(errors="replace"))

    def test_2_revocation_reaches_the_staple_on_refresh(self):
        wait_until(lambda: (self.ocsp_state() or {}).get("status") == "good", timeout=20, what="a good response")
        self.set_index("R")
        # The response fetched at t has nextUpdate t+60 s; portier refetches at t+30 s.
        out = wait_until(lambda: (lambda o: o if "Cert Status: revoked" in o else None)(
            s_client_status(self.address, NAME)), timeout=75, what="a stapled revoked response")
        self.assertIn("OCSP Response Status: successful", out)
        self.assertEqual(self.ocsp_state()["status"], "revoked")


def set_index(d, status, serial="5A17"):
    # openssl's CA database: status, expiry, revocation time, serial (hex), file, subject.
    revoked = "240101000000Z" if status == "R" else ""
    write_file_atomic(d / "index.txt", "%s\t301231235959Z\t%s\t%s\tunknown\t/CN=%s\n" % (status, revoked, serial, NAME))


def start_responder(d, port):
    """`openssl ocsp` answering from d/index.txt on `port`, once it listens."""
    # A probing connect would wedge the single-threaded responder: wait for its own words.
    log = d / "responder.log"
    with open(log, "wb") as out:
        responder = subprocess.Popen(
            ["openssl", "ocsp", "-index", "index.txt", "-port", str(port),
             "-rsigner", "ca.crt", "-rkey", "ca.key", "-CA", "ca.crt", "-nmin", "1", "-ignore_err"],
            cwd=d, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_set_pdeathsig)
    _live_procs.append(responder)
    wait_until(lambda: "waiting for OCSP client connections" in log.read_text(errors="replace"),
               what="the OCSP responder listening")
    return responder


def leaf_with_responder(d, url, serial="0x1001"):
    """A CA and a leaf naming `url` as its OCSP responder in `d`: (chain path, key path)."""
    _openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=CA", cwd=d)
    (d / "leaf.ext").write_text("subjectAltName=DNS:%s\nauthorityInfoAccess=OCSP;URI:%s\n" % (NAME, url))
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=" + NAME, cwd=d)
    _openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", serial,
             "-days", "2", "-extfile", "leaf.ext", "-out", "leaf.crt", cwd=d)
    (d / "chain.crt").write_text((d / "leaf.crt").read_text() + (d / "ca.crt").read_text())
    return str(d / "chain.crt"), str(d / "leaf.key")


def portier_serving(d, ip, **static):
    chain, key = leaf_with_responder(d, static.pop("url"))
    address = "%s:%d" % (ip, free_port(ip))
    dynamic = write_file_atomic(d / "dynamic.yml", {"tls": {"certificates": [{"certFile": chain, "keyFile": key}]}})
    return address, Portier(http_config({"web": address}, dynamic, **static))


def leaf_entry(p):
    certs = [c for c in p.diag("/certificates") if NAME in c.get("names", [])]
    return certs[0] if certs else None


class OcspDisabled(unittest.TestCase):
    """`ocsp.enabled: false`: nothing is fetched, nothing is stapled, /certificates has no state."""

    def test_no_staple_when_disabled(self):
        address, portier = portier_serving(make_temp_dir(), NET + ".3", url="http://127.0.0.1:1/",
                                           ocsp={"enabled": False})
        with started(portier) as p:
            cert = wait_until(lambda: leaf_entry(p), what="the leaf in /certificates")
            self.assertNotIn("ocsp", cert)
            self.assertIn("OCSP response: no response sent", s_client_status(address, NAME))
            self.assertNotIn("ocsp:", p.logs())


class OcspResponderDown(unittest.TestCase):
    """A responder that refuses connections: the state says why, the log says it once, retries back off."""

    def test_failure_is_shown_and_logged_once(self):
        port = free_port()  # nothing listens there
        url = "http://127.0.0.1:%d/" % port
        address, portier = portier_serving(make_temp_dir(), NET + ".4", url=url)
        with started(portier) as p:
            state = wait_until(lambda: (leaf_entry(p) or {}).get("ocsp", {}).get("failures", 0) >= 2 and
                               leaf_entry(p)["ocsp"], timeout=30, what="a second failed fetch (first retry after 10 s)")
            self.assertEqual(state["status"], "failed", state)
            self.assertFalse(state["stapled"], state)
            self.assertEqual(state["responder"], url)
            self.assertIn("connect", state["last_error"].lower(), state)
            self.assertEqual(p.logs().count("fetching from %s failed" % url), 1, p.logs())
            self.assertIn("OCSP response: no response sent", s_client_status(address, NAME))



class OcspAcrossUpgrade(unittest.TestCase):
    """A live upgrade hands the stapled response to the successor, which staples it at once:
    with the responder gone, the successor could not fetch one."""

    def test_the_successor_staples_the_response_it_was_handed(self):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: reap the successor
        d, port = make_temp_dir(), free_port()
        address, portier = portier_serving(d, NET + ".5", url="http://127.0.0.1:%d/ocsp" % port)
        set_index(d, "V", serial="1001")
        responder = start_responder(d, port)
        with started(portier) as p:
            wait_until(lambda: ((leaf_entry(p) or {}).get("ocsp") or {}).get("stapled"), timeout=20,
                       what="a stapled response")
            responder.kill()
            responder.wait()
            r = run_cli(["upgrade", "--config", str(p.config_path)], timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            successor = json.loads(r.stdout.split(": ", 2)[-1])["pid"]
            try:
                self.assertEqual(p.wait_exit(30), 0)
                self.assertIn("Cert Status: good", s_client_status(address, NAME))
                state = leaf_entry(p)["ocsp"]  # the successor answers on the diagnostics address
                self.assertEqual((state["status"], state["stapled"]), ("good", True), state)
                self.assertIn("stapling the response taken over from the previous process", p.logs())
            finally:
                os.kill(successor, signal.SIGTERM)
                os.waitpid(successor, 0)


if __name__ == "__main__":
    unittest.main()
