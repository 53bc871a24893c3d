"""Results store and the markdown report (one table of medians, ratios to direct and to peers)."""
import json
import statistics

# key, label, better ("higher"/"lower"/None), format, delta-to-direct instead of ratio
METRICS = [
    ("h1.rps", "HTTP/1.1 keep-alive 1 KiB, 64 conns: req/s", "higher", "{:,.0f}", False),
    ("h1.cpu_us", "  server CPU µs/request", "lower", "{:.1f}", False),
    ("h1.backend_per_1k", "  backend conns opened /1000 req", "lower", "{:.2f}", False),
    ("h1.client_cpu_pct", "  wrk client CPU %", None, "{:.0f}", False),
    ("h1u.rps", "HTTP/1.1 keep-alive 1 KiB unpinned, {h1u_workers} workers each (wrk -t2 -c64, "
     "nothing pinned): req/s", "higher", "{:,.0f}", False),
    ("h1u.cpu_us", "  server CPU µs/request (all its processes and threads)", "lower", "{:.1f}",
     False),
    ("h1u.backend_per_1k", "  backend conns opened /1000 req", "lower", "{:.2f}", False),
    ("h1u.client_cpu_pct", "  wrk client CPU % (2 threads, 200 = both CPUs)", None, "{:.0f}",
     False),
    ("lat.p50", "fixed rate {rate}/s h1: p50 µs (+added vs direct)", "lower", "{:,.0f}", True),
    ("lat.p99", "  p99 µs (+added vs direct)", "lower", "{:,.0f}", True),
    ("lat.rps", "  achieved req/s", None, "{:,.0f}", False),
    ("tls_h1.rps", "HTTPS h1, 64 conns: req/s", "higher", "{:,.0f}", False),
    ("tls_h1.cpu_us", "  server CPU µs/request", "lower", "{:.1f}", False),
    ("tls_h1.client_cpu_pct", "  h2load client CPU %", None, "{:.0f}", False),
    ("tls_h2.rps", "HTTPS h2, 16 conns x 32 streams: req/s", "higher", "{:,.0f}", False),
    ("tls_h2.cpu_us", "  server CPU µs/request", "lower", "{:.1f}", False),
    ("tls_h2.backend_per_1k", "  backend conns opened /1000 req", "lower", "{:.2f}", False),
    ("tls_h2.client_cpu_pct", "  h2load client CPU %", None, "{:.0f}", False),
    ("h3.rps", "HTTP/3 (QUIC), {h3_conns} conns x {h3_n} requests (gtlsclient, up to 100 streams "
     "each): req/s", "higher", "{:,.0f}", False),
    ("h3.cpu_us", "  server CPU µs/request", "lower", "{:.1f}", False),
    ("h3.backend_per_1k", "  backend conns opened /1000 req", "lower", "{:.2f}", False),
    ("h3.client_cpu_pct", "  gtlsclient client CPU % (a test client: saturates first)", None,
     "{:.0f}", False),
    ("h3_h2.rps", "  same requests over TLS h2, same port (h2load -c{h3_conns} -m{h3_h2_streams}): "
     "req/s", "higher", "{:,.0f}", False),
    ("h3_h2.cpu_us", "  server CPU µs/request over h2", "lower", "{:.1f}", False),
    ("h3_h2.backend_per_1k", "  backend conns opened /1000 req over h2", "lower", "{:.2f}", False),
    ("h3_h2.client_cpu_pct", "  h2load client CPU %", None, "{:.0f}", False),
    ("tls_full.rps", "full TLS handshakes/s (no resumption; tls_full_hs, 16 conns)", "higher",
     "{:,.0f}", False),
    ("tls_full.cpu_us", "  server CPU µs/handshake", "lower", "{:.0f}", False),
    ("tls_full.client_cpu_pct", "  tls_full_hs client CPU %", None, "{:.0f}", False),
    ("tls_hs.rps", "TLS 1.3 resumed connections/s (h2load -c16, Connection: close)", "higher",
     "{:,.0f}", False),
    ("tls_hs.cpu_us", "  server CPU µs/connection", "lower", "{:.0f}", False),
    ("tls_hs.client_cpu_pct", "  h2load client CPU %", None, "{:.0f}", False),
    ("gz.bytes", "compress: body bytes of the 64 KiB application/json document with "
     "Accept-Encoding: gzip (direct: uncompressed)", "lower", "{:,.0f}", False),
    ("gz_h1.rps", "compress gzip, HTTP/1.1 keep-alive, 64 conns (direct: uncompressed): req/s",
     "higher", "{:,.0f}", False),
    ("gz_h1.cpu_us", "  server CPU µs/request", "lower", "{:.1f}", False),
    ("gz_h1.backend_per_1k", "  backend conns opened /1000 req", "lower", "{:.2f}", False),
    ("gz_h1.client_cpu_pct", "  wrk client CPU %", None, "{:.0f}", False),
    ("gz_h2.rps", "compress gzip, HTTPS h2, 16 conns x 32 streams (direct: uncompressed): "
     "req/s", "higher", "{:,.0f}", False),
    ("gz_h2.cpu_us", "  server CPU µs/request", "lower", "{:.1f}", False),
    ("gz_h2.backend_per_1k", "  backend conns opened /1000 req", "lower", "{:.2f}", False),
    ("gz_h2.bytes", "  body bytes per response (h2load)", "lower", "{:,.0f}", False),
    ("gz_h2.client_cpu_pct", "  h2load client CPU %", None, "{:.0f}", False),
    ("mem.idle_mib", "memory idle, fresh process (PSS MiB)", "lower", "{:.1f}", False),
    ("mem.per_conn_kib", "  KiB per idle keep-alive conn ({lo}->{hi})", "lower", "{:.2f}",
     False),
    ("tcp.gibps", "TCP bulk transfer ({tcp_mib} MiB): GiB/s", "higher", "{:.2f}", False),
    ("tcp.cpu_ms_per_gib", "  server CPU ms/GiB", "lower", "{:.0f}", False),
    ("udp.rtps", "UDP echo {udp_desc}: round trips/s", "higher", "{:,.0f}", False),
    ("udp.cpu_us", "  server CPU µs/datagram (2 per round trip)", "lower", "{:.2f}", False),
    ("udp.client_cpu_pct", "  udp_load client CPU %", None, "{:.0f}", False),
    ("churn.requests", "config churn ({churn_desc}): requests completed", None, "{:,.0f}",
     False),
    ("churn.failed", "  failed requests (non-2xx + socket errors)", "lower", "{:,.0f}", False),
    ("churn.rps", "  req/s under churn", "higher", "{:,.0f}", False),
    ("churn.reloads", "  reloads issued", None, "{:.0f}", False),
    ("churn.applied", "  snapshots applied (portier /health generation)", None, "{:.0f}", False),
    ("snap.build_ms", "10,000 routers, one changed: snapshot build ms (merge+compile+TLS)",
     "lower", "{:.1f}", False),
    ("snap.merge_ms", "  of which provider merge ms", "lower", "{:.1f}", False),
    ("snap.compile_ms", "  of which compile_runtime + compile_tcp_runtime ms", "lower", "{:.1f}",
     False),
    ("snap.publish_ms", "  publish ms", "lower", "{:.3f}", False),
    ("snap.routed_ms", "  file rename -> first request routed by the new rule, ms (100 ms "
     "debounce incl.)", "lower", "{:.0f}", False),
    ("scale.start_s", "10,000 routers: start to ready (s)", "lower", "{:.2f}", False),
    ("scale.mem_mib", "  memory (PSS MiB)", "lower", "{:.1f}", False),
    ("scale.rps", "  req/s on the last router's Host", "higher", "{:,.0f}", False),
    ("scale.cpu_us", "  server CPU µs/request", "lower", "{:.1f}", False),
]


class Results:
    def __init__(self, targets):
        self.targets = list(targets)   # column order
        self.samples = {}              # metric -> target -> [values]
        self.na_target = {}            # target -> reason
        self.na = {}                   # (prefix, target) -> reason
        self.notes = []
        self.meta = {}

    def add(self, metric, target, value):
        self.samples.setdefault(metric, {}).setdefault(target, []).append(float(value))

    def na_metric(self, prefix, target, reason):
        self.na.setdefault((prefix, target), reason)

    def note(self, text):
        self.notes.append(text)

    def median(self, metric, target):
        xs = self.samples.get(metric, {}).get(target)
        return statistics.median(xs) if xs else None

    def to_json(self):
        return json.dumps({"targets": self.targets, "samples": self.samples,
                           "na_target": self.na_target,
                           "na": {f"{p}/{t}": r for (p, t), r in self.na.items()},
                           "notes": self.notes, "meta": self.meta}, indent=1, sort_keys=True)


def _spread(xs):
    if len(xs) < 2:
        return ""
    med = statistics.median(xs)
    return " ±%.0f%%" % (50.0 * (max(xs) - min(xs)) / med) if med else ""


def render(results, title, label_values, peers_for_ratio=("nginx", "haproxy", "caddy"),
           subject="portier"):
    """The markdown table plus footnotes (n/a reasons, notes, settings)."""
    cols = results.targets
    ratio_cols = [p for p in peers_for_ratio if p in cols and p != subject] \
        if subject in cols else []
    header = ["metric"] + cols + [f"{subject} ÷ {p}" for p in ratio_cols]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    footnotes = {}

    def na_cell(prefix, target):
        reason = results.na_target.get(target) or results.na.get((prefix, target))
        if reason is None:
            return "–"
        key = f"{target}: {reason}"
        footnotes.setdefault(key, len(footnotes) + 1)
        return f"n/a[{footnotes[key]}]"

    for key, label, better, fmt, delta in METRICS:
        prefix = key.split(".")[0]
        if key not in results.samples and not any(p == prefix for p, _ in results.na):
            continue  # scenario not run in this mode
        direct = results.median(key, "direct")
        row = [label.format(**label_values) + {"higher": " ↑", "lower": " ↓", None: ""}[better]]
        for t in cols:
            xs = results.samples.get(key, {}).get(t)
            if not xs:
                row.append(na_cell(prefix, t))
                continue
            med = statistics.median(xs)
            cell = fmt.format(med) + _spread(xs)
            if t != "direct" and direct:
                if delta:
                    cell += " (+" + fmt.format(med - direct) + ")" if med >= direct else \
                        " (" + fmt.format(med - direct) + ")"
                elif better:
                    cell += " (%.2f× d)" % (med / direct)
            row.append(cell)
        subj = results.median(key, subject)
        for p in ratio_cols:
            other = results.median(key, p)
            row.append("%.2f×" % (subj / other) if subj is not None and other and better
                       else ("n/a" if better else ""))
        lines.append("| " + " | ".join(row) + " |")

    out = [f"## {title}", ""] + lines + [""]
    out.append("Cells: median over repetitions (±half the min–max range, % of median); "
               "(N× d) = ratio to direct; ↑ higher is better, ↓ lower is better; "
               "`–` = not measured for this target.")
    if footnotes:
        out += ["", "n/a:"] + [f"[{n}] {k}" for k, n in footnotes.items()]
    if results.notes:
        out += ["", "Notes:"] + [f"- {n}" for n in results.notes]
    if results.meta:
        out += ["", "Settings:"] + [f"- {k}: {v}" for k, v in sorted(results.meta.items())]
    return "\n".join(out) + "\n"
