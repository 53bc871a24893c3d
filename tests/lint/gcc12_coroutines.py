"""Fails on two co_await forms that GCC 12 (Debian 12's compiler) miscompiles.

1. A lambda that captures by value written inside a co_await expression: GCC 12 destroys the
   lambda temporary twice, so each captured shared_ptr loses one reference too many and frees
   its object under the frames that still use it (issue 21: the docker provider's Daemon and
   alive flag). Name the lambda (or the std::function) in a statement before the co_await.
   Captures by reference only ([&], [&x]) have trivial destructors and are allowed.
2. A co_await as an operand of && or || (`if (co_await f() && x)`): the frame crashed with
   SIGILL when resumed. Await into a named variable first.

    python3 tests/lint/gcc12_coroutines.py [repo root]
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


def awaited_end(text, i):
    """End of the operand of the co_await at text[i:] (a call chain with balanced brackets)."""
    i = text.index("co_await", i) + len("co_await")
    depth = 0
    while i < len(text):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return i
            depth -= 1
        elif depth == 0 and (c in ";,?:" or text.startswith("&&", i) or text.startswith("||", i)):
            return i
        i += 1
    return i


def without_comments(text):
    """The text with comments blanked out (newlines kept, so line numbers stay right)."""
    return re.sub(r"//[^\n]*|/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)


def offending(path):
    text = without_comments(path.read_text(errors="replace"))
    for m in re.finditer(r"\bco_await\b", text):
        line = text.count("\n", 0, m.start()) + 1
        expr = text[m.start():text.find(";", m.end())]
        for lam in LAMBDA.finditer(expr):
            if not by_reference_only(lam.group(1)):
                yield line, "lambda with by-value captures inside a co_await expression: " + lam.group(0)
        after = text[awaited_end(text, m.start()):].lstrip()
        before = text[:m.start()].rstrip()
        if after.startswith(("&&", "||")) or before.endswith(("&&", "||")):
            yield line, "co_await as an operand of && or ||"


def main():
    found = 0
    for d in DIRS:
        for path in sorted((ROOT / d).rglob("*.[ch]pp")):
            for line, what in offending(path):
                print("%s:%d: %s" % (path.relative_to(ROOT), line, what))
                found += 1
    if not found:
        print("ok: no co_await form that GCC 12 miscompiles")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
