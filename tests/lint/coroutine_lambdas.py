"""Fails when a lambda that captures by value is written inside a co_await expression.

GCC 12 (Debian 12's compiler) destroys such a lambda temporary twice: each captured
shared_ptr loses one reference too many and frees its object under the frames that still
use it (issue 21: the docker provider's Daemon and alive flag). Name the lambda (or the
std::function) in a statement before the co_await instead. Captures by reference only
([&], [&x]) have trivial destructors and are allowed.

    python3 tests/lint/coroutine_lambdas.py [repo root]
"""

import re
import sys
from pathlib import Path

ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2])
DIRS = ("core", "config", "tls", "discovery", "acme", "proxy", "app", "tests", "bench")
LAMBDA = re.compile(r"\[([^\[\]]*)\]\s*(\([^()]*\))?\s*(mutable\s*)?(->[^{;]*)?\{")


def by_reference_only(captures):
    items = [c.strip() for c in captures.split(",") if c.strip()]
    return all(c == "&" or c.startswith("&") for c in items)


def offending(path):
    text = path.read_text(errors="replace")
    for m in re.finditer(r"\bco_await\b", text):
        expr = text[m.start():text.find(";", m.end())]
        for lam in LAMBDA.finditer(expr):
            if not by_reference_only(lam.group(1)):
                yield text.count("\n", 0, m.start()) + 1, lam.group(0)


def main():
    found = 0
    for d in DIRS:
        for path in sorted((ROOT / d).rglob("*.[ch]pp")):
            for line, lam in offending(path):
                print("%s:%d: lambda with by-value captures inside a co_await expression: %s"
                      % (path.relative_to(ROOT), line, lam))
                found += 1
    if not found:
        print("ok: no lambda with by-value captures inside a co_await expression")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
