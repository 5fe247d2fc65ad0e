"""Reads the `use` lines (and paths written in code) of src/ and reports file-level import circles
inside each folder and imports that go against the layer order; exits non-zero on any. CI runs
it (`python3 scripts/layers.py .`). Plain text parsing: good enough for a crate that writes
`use crate::...` / `use super::...` paths, as this one does. Unit tests (after `#[cfg(test)]`)
may import freely.

The layers, higher to lower: api -> clearing -> store -> ledger; partners, crypto and httpsig are
leaves; tools (the CLI, bench, demo) sits beside them all and no layer may import it.
docs/architecture.md draws the same map."""
from __future__ import annotations

import re
import sys
from pathlib import Path

USE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.M)
INLINE = re.compile(r"\b(?:crate|super)(?:::\w+)+")
LAYERS = ["api", "clearing", "store", "ledger"]  # higher to lower; partners/crypto/httpsig are leaves
FORBIDDEN = {  # importer layer -> layers it must not import
    "api": {"store", "tools"},
    "clearing": {"api", "tools"},
    "store": {"api", "clearing", "tools"},
    "ledger": {"api", "clearing", "store", "partners", "tools"},
    "partners": {"api", "clearing", "store", "tools"},
    "crypto": {"api", "clearing", "store", "ledger", "partners", "httpsig", "tools"},
    "httpsig": {"api", "clearing", "store", "ledger", "partners", "tools"},
}


def expand(path: str) -> list[str]:
    """`crate::a::{b, c::d}` -> ['crate::a::b', 'crate::a::c::d'] (one level of braces is enough)."""
    path = re.sub(r"\s+", "", path)
    m = re.match(r"^(.*?)::\{(.*)\}$", path)
    if not m:
        return [path]
    head, body = m.groups()
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(cur); cur = ""; continue
        depth += ch == "{"; depth -= ch == "}"
        cur += ch
    parts.append(cur)
    out = []
    for p in filter(None, parts):
        out += expand(f"{head}::{p}") if "{" in p else [f"{head}::{p}"]
    return out


def module_file(src: Path, segments: list[str]) -> Path | None:
    """The deepest file that a module path names: a/b/c.rs, a/b/c/mod.rs, else its parent."""
    for n in range(len(segments), 0, -1):
        base = src.joinpath(*segments[:n])
        for cand in (base.with_suffix(".rs"), base / "mod.rs"):
            if cand.exists():
                return cand
    return None


def module_path(src: Path, f: Path) -> list[str]:
    rel = f.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "mod":
        parts = parts[:-1]
    if parts in (["lib"], ["main"]):
        return []
    return parts


def imports(src: Path, f: Path) -> set[Path]:
    text = f.read_text()
    text = text.split("#[cfg(test)]")[0]  # unit tests may import freely
    me = module_path(src, f)
    out = set()
    paths = [p for m in USE.finditer(text) for p in expand(m.group(1))]
    paths += INLINE.findall(USE.sub("", text))  # paths written in code: super::coupons::refund(..)
    for p in paths:
        if True:
            segs = p.split("::")
            if segs[0] == "crate":
                segs = segs[1:]
            elif segs[0] == "super":
                base = me[:-1]
                while segs and segs[0] == "super":
                    segs = segs[1:]
                segs = base + segs
            elif segs[0] == "self":
                segs = me + segs[1:]
            else:
                continue
            target = module_file(src, segs)
            if target and target != f:
                out.add(target)
    return out


def cycles(graph: dict[Path, set[Path]]) -> list[list[Path]]:
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out, i = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = i[0]; i[0] += 1
        stack.append(v); on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def report(root: Path) -> tuple[list[str], list[str]]:
    src = root / "src"
    files = [f for f in src.rglob("*.rs")]
    graph: dict[Path, set[Path]] = {}
    wrong = []
    for f in files:
        deps = imports(src, f)
        layer = f.relative_to(src).parts[0] if len(f.relative_to(src).parts) > 1 else None
        for d in deps:
            dl = d.relative_to(src).parts[0] if len(d.relative_to(src).parts) > 1 else None
            if layer and dl and dl in FORBIDDEN.get(layer, set()):
                wrong.append(f"{f.relative_to(root)} imports {d.relative_to(root)}")
        # circles are judged inside one folder, between files other than mod.rs
        same = {d for d in deps if d.parent == f.parent and d.name != "mod.rs"}
        if f.name != "mod.rs":
            graph[f] = same
    circles = [" <-> ".join(str(p.relative_to(root)) for p in c) for c in cycles(graph)]
    return circles, sorted(set(wrong))


if __name__ == "__main__":
    circles, wrong = report(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
    for c in circles:
        print("circle:", c)
    for w in wrong:
        print("against the layers:", w)
    print(f"{len(circles)} circles, {len(wrong)} imports against the layers")
    sys.exit(1 if circles or wrong else 0)
