"""digestAuth (issue 15 item 2): users made by the real htdigest (apache2-utils), in usersFile
and `users`; curl --digest gets through over each of PROTOCOLS; the 401 challenge names the
realm, MD5 and qop=auth; a wrong password, another realm's user, a replayed nonce count
(stale=true), a foreign opaque and a uri that is not the request's are refused; headerField and
removeHeader."""

import hashlib
import json
import os
import re
import subprocess
import tempfile
import unittest

from portier_e2e import (PROTOCOLS, Backend, Portier, free_port, http_config, is_tls, make_temp_dir, proto_request,
                         router, service, started, write_file_atomic)

NET = "127.0.74"


def htdigest(path, realm, user, password, create=False):
    """Adds `user` to the htdigest file `path` with the real htdigest (no tty: it reads stdin)."""
    args = ["htdigest"] + (["-c"] if create else []) + [str(path), realm, user]
    subprocess.run(args, input="%s\n%s\n" % (password, password), capture_output=True, text=True, check=True,
                   start_new_session=True)


def challenge_params(header):
    return dict(re.findall(r'(\w+)="?([^",]*)"?', header.split(" ", 1)[1]))


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


class DigestAuth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app = Backend("app", NET + ".2")
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        cls.dir = make_temp_dir()
        users_file = cls.dir / "users.htdigest"
        htdigest(users_file, "traefik", "alice", "alice-pass", create=True)
        htdigest(users_file, "private", "bob", "bob-pass")
        htdigest(users_file, "other", "carol", "carol-pass")  # not this realm: never matches
        inline = cls.dir / "inline.htdigest"
        htdigest(inline, "private", "dave", "dave:pass", create=True)
        cls.bob_ha1 = md5("bob:private:bob-pass")
        middlewares = {
            "digest": {"digestAuth": {"usersFile": str(users_file)}},
            "private": {"digestAuth": {"usersFile": str(users_file), "users": [inline.read_text().strip()],
                                       "realm": "private", "headerField": "X-WebAuth-User", "removeHeader": True}},
        }
        routers = {}
        for name, host in (("digest", "digest.test"), ("private", "private.test")):
            rule = "Host(`%s`)" % host
            routers[name] = router(rule, "app", middlewares=[name])
            routers[name + "-tls"] = router(rule, "app", middlewares=[name], tls={})
        dynamic = {"http": {"routers": routers, "middlewares": middlewares, "services": {"app": service(cls.app.url)}}}
        path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        cls.portier = started(Portier(http_config({"web": "%s:%d" % (cls.ip, cls.port)}, path, workers=2)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.app.close()

    def curl_digest(self, protocol, host, user, password, path="/p?q=1"):
        """curl --digest -u user:password: (status, body). h2c: curl 7.88.1 cannot reuse a
        prior-knowledge connection (curl issue 10634, fixed in 8.0), so two curl runs carry the
        exchange: the challenge, then the answer computed here as curl computes it."""
        if protocol == "h2c":
            www = self.req(protocol, host, path).headers["www-authenticate"]
            ha1 = md5("%s:%s:%s" % (user, challenge_params(www)["realm"], password))
            r = self.req(protocol, host, path, headers={"Authorization": self.authorization(www, user, ha1, path)})
            return r.status, r.body
        version = {"h1": "--http1.1", "h1-tls": "--http1.1", "h2-tls": "--http2", "h2c": "--http2-prior-knowledge"}
        scheme = "https" if is_tls(protocol) else "http"
        with tempfile.TemporaryDirectory(prefix="portier-curl-") as tmp:
            body = os.path.join(tmp, "body")
            out = subprocess.run(["curl", "-sS", "-k", version[protocol], "--digest", "-u", "%s:%s" % (user, password),
                                  "--connect-to", "::%s:%d" % (self.ip, self.port), "-o", body, "-w", "%{http_code}",
                                  "--max-time", "10", "%s://%s:%d%s" % (scheme, host, self.port, path)],
                                 capture_output=True, text=True, timeout=20)
            self.assertEqual(out.returncode, 0, out.stderr)
            with open(body, "rb") as f:
                return int(out.stdout), f.read()

    def req(self, protocol, host, path="/", headers=None):
        h = {"Host": host}
        h.update(headers or {})
        return proto_request(protocol, "GET", self.ip, self.port, path, headers=h)

    def authorization(self, challenge, user, ha1, uri, nc="00000001", opaque=None, method="GET"):
        p = challenge_params(challenge)
        cnonce = "0a4f113b"
        response = md5("%s:%s:%s:%s:auth:%s" % (ha1, p["nonce"], nc, cnonce, md5("%s:%s" % (method, uri))))
        return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=MD5, response="%s", '
                'opaque="%s", qop=auth, nc=%s, cnonce="%s"'
                % (user, p["realm"], p["nonce"], uri, response, opaque or p["opaque"], nc, cnonce))

    def test_curl_digest_gets_through(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                status, body = self.curl_digest(protocol, "digest.test", "alice", "alice-pass")
                self.assertEqual(status, 200, body)
                self.assertIn('Digest username="alice"', self._seen(body)["headers"]["authorization"])
                status, body = self.curl_digest(protocol, "private.test", "dave", "dave:pass")
                self.assertEqual(status, 200, body)
                seen = self._seen(body)
                self.assertNotIn("authorization", seen["headers"])  # removeHeader
                self.assertEqual(seen["headers"]["x-webauth-user"], "dave")
                for host, user, password in (("digest.test", "alice", "wrong"), ("digest.test", "carol", "carol-pass"),
                                             ("digest.test", "bob", "bob-pass"), ("private.test", "alice", "alice-pass")):
                    status, _ = self.curl_digest(protocol, host, user, password)
                    self.assertEqual(status, 401, (host, user))

    def _seen(self, body):
        return json.loads(body)

    def test_challenge(self):
        before = len(self.app.requests)
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "private.test", headers={"Authorization": "Basic YTpi"})
                self.assertEqual(r.status, 401, r)
                self.assertEqual(r.body, b"401 Unauthorized\n")
                www = r.headers["www-authenticate"]
                self.assertRegex(www, r'^Digest realm="private", nonce="[0-9a-f]{32}", opaque="[0-9a-f]{32}", '
                                      r'algorithm="MD5", qop="auth"$')
        self.assertEqual(len(self.app.requests), before)

    def test_replay_opaque_and_uri(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                www = self.req(protocol, "private.test").headers["www-authenticate"]
                good = self.authorization(www, "bob", self.bob_ha1, "/r?x=1")
                r = self.req(protocol, "private.test", "/r?x=1", headers={"Authorization": good})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["headers"]["x-webauth-user"], "bob")
                # The same nonce count again: a replay, refused as stale.
                r = self.req(protocol, "private.test", "/r?x=1", headers={"Authorization": good})
                self.assertEqual(r.status, 401, r)
                self.assertTrue(r.headers["www-authenticate"].endswith(", stale=true"), r)
                # A higher count on the same nonce is fine.
                r = self.req(protocol, "private.test", "/r?x=1",
                             headers={"Authorization": self.authorization(www, "bob", self.bob_ha1, "/r?x=1", nc="00000002")})
                self.assertEqual(r.status, 200, r)
                for bad in (self.authorization(www, "bob", self.bob_ha1, "/r?x=1", nc="00000003", opaque="f" * 32),
                            self.authorization(www, "bob", self.bob_ha1, "/other", nc="00000004")):
                    r = self.req(protocol, "private.test", "/r?x=1", headers={"Authorization": bad})
                    self.assertEqual(r.status, 401, r)
                    self.assertFalse(r.headers["www-authenticate"].endswith("stale=true"), r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
