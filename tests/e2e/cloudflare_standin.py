"""A stand-in for the Cloudflare v4 API (the endpoints portier's DNS-01 uses), backed by
pebble-challtestsrv: TXT records created here are served by challtestsrv's DNS server.

  GET    /zones?name=NAME                   -> the zone when NAME is one of `zones`
  GET    /zones/{id}/dns_records[?type=TXT]  -> records of the zone
  POST   /zones/{id}/dns_records             -> create (type TXT only)
  DELETE /zones/{id}/dns_records/{rid}
Every request needs "Authorization: Bearer <token>" (else 403, code 9109). Faults:
  fail_status      e.g. 500 or 429: requests fail with that status
  fail_methods     None (every method) or a set such as {"DELETE"}: which requests fail
  fail_remaining   None (until cleared) or how many more requests fail
  retry_after      None or the Retry-After header value sent with a failure
  hang()/unhang()  requests get no answer until unhang() (or 60 s), then the connection closes
`requests` records (method, path); `times` records (time.monotonic(), method, path).
Runs in a thread of the test process on 127.0.0.1:<free>; base_url has the /client/v4 prefix.
"""

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/client/v4"


class CloudflareStandin:
    def __init__(self, pebble, zones, token="test-token"):
        self.pebble = pebble
        self.token = token
        self.zones = {name: "zone%02d" % i for i, name in enumerate(zones)}
        self.records = {}  # id -> {"id","zone_id","type","name","content","comment"}
        self.requests = []
        self.times = []
        self.fail_status = None
        self.fail_methods = None
        self.fail_remaining = None
        self.retry_after = None
        self._hanging = False
        self._released = threading.Event()
        self.lock = threading.Lock()
        self._next = 1
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                standin._handle(self, "GET")

            def do_POST(self):
                standin._handle(self, "POST")

            def do_DELETE(self):
                standin._handle(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = "http://127.0.0.1:%d%s" % (self.server.server_address[1], PREFIX)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.unhang()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- test helpers ---------------------------------------------------------------------
    def add_record(self, zone, name, content, comment=""):
        """Creates a record directly (e.g. a leftover from a crashed run)."""
        with self.lock:
            return self._create(self.zones[zone], {"type": "TXT", "name": name, "content": content,
                                                   "comment": comment})["id"]

    def txt_records(self):
        with self.lock:
            return [dict(r) for r in self.records.values()]

    def hang(self):
        with self.lock:
            self._hanging = True
            self._released.clear()

    def unhang(self):
        with self.lock:
            self._hanging = False
            self._released.set()

    def clear_faults(self):
        self.unhang()
        with self.lock:
            self.fail_status = self.fail_methods = self.fail_remaining = self.retry_after = None

    def count(self, method, fragment):
        with self.lock:
            return sum(1 for m, p in self.requests if m == method and fragment in p)

    # -- implementation -------------------------------------------------------------------
    def _create(self, zone_id, body):
        rid = "rec%04d" % self._next
        self._next += 1
        rec = {"id": rid, "zone_id": zone_id, "type": body.get("type"), "name": body.get("name", "").rstrip("."),
               "content": body.get("content", ""), "comment": body.get("comment", ""), "ttl": body.get("ttl", 1)}
        self.records[rid] = rec
        self.pebble.set_txt(rec["name"], rec["content"])
        return rec

    def _delete(self, rid):
        rec = self.records.pop(rid)
        # challtestsrv clears every value of a host: put back the ones still present.
        self.pebble.clear_txt(rec["name"])
        for other in self.records.values():
            if other["name"] == rec["name"]:
                self.pebble.set_txt(other["name"], other["content"])
        return rec

    def _reply(self, h, status, result=None, errors=None, headers=()):
        body = json.dumps({"success": status < 400 and not errors, "errors": errors or [], "messages": [],
                           "result": result}).encode()
        h.send_response(status)
        for name, value in headers:
            h.send_header(name, value)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _fails(self, method):
        """Whether this request gets fail_status (lock held); counts fail_remaining down."""
        if not self.fail_status or (self.fail_methods is not None and method not in self.fail_methods):
            return False
        if self.fail_remaining is not None:
            if self.fail_remaining <= 0:
                return False
            self.fail_remaining -= 1
        return True

    def _handle(self, h, method):
        url = urllib.parse.urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        with self.lock:
            self.requests.append((method, h.path))
            self.times.append((time.monotonic(), method, h.path))
            hanging = self._hanging
        if hanging:
            self._released.wait(60)
            h.close_connection = True
            return
        with self.lock:
            if h.headers.get("Authorization") != "Bearer " + self.token:
                return self._reply(h, 403, errors=[{"code": 9109, "message": "Invalid access token"}])
            if self._fails(method):
                headers = [("Retry-After", self.retry_after)] if self.retry_after else []
                return self._reply(h, self.fail_status, errors=[{"code": 10000, "message": "stand-in failure mode"}],
                                   headers=headers)
            if not url.path.startswith(PREFIX):
                return self._reply(h, 404, errors=[{"code": 7003, "message": "Could not route"}])
            parts = url.path[len(PREFIX):].strip("/").split("/")
            query = urllib.parse.parse_qs(url.query)
            if parts == ["zones"] and method == "GET":
                name = query.get("name", [""])[0]
                zones = [{"id": zid, "name": zname, "status": "active"}
                         for zname, zid in self.zones.items() if zname == name]
                return self._reply(h, 200, zones)
            if len(parts) >= 3 and parts[0] == "zones" and parts[2] == "dns_records":
                zone_id = parts[1]
                if zone_id not in self.zones.values():
                    return self._reply(h, 404, errors=[{"code": 7003, "message": "Could not route to zone"}])
                if len(parts) == 3 and method == "GET":
                    rtype = query.get("type", [None])[0]
                    recs = [r for r in self.records.values()
                            if r["zone_id"] == zone_id and (rtype is None or r["type"] == rtype)]
                    return self._reply(h, 200, recs)
                if len(parts) == 3 and method == "POST":
                    body = json.loads(raw or b"{}")
                    if body.get("type") != "TXT":
                        return self._reply(h, 400, errors=[{"code": 1004, "message": "stand-in: TXT only"}])
                    return self._reply(h, 200, self._create(zone_id, body))
                if len(parts) == 4 and method == "DELETE":
                    if parts[3] not in self.records:
                        return self._reply(h, 404, errors=[{"code": 81044, "message": "Record does not exist."}])
                    self._delete(parts[3])
                    return self._reply(h, 200, {"id": parts[3]})
            return self._reply(h, 404, errors=[{"code": 7003, "message": "Could not route"}])
