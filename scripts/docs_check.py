#!/usr/bin/env python3
"""Runs every shell and Python block of README.md and docs/*.md as printed, as a reader would.

Each file is read top to bottom in one bash session, in a fresh copy of the repository (so the
checkout is left alone), with `coalition` on PATH as the README's `cargo install --locked --path .` puts
it (installed once, into a folder of the check's) and the build shared through CARGO_TARGET_DIR.
`sh` blocks run as they are; `python` blocks run with the Python of a virtual environment made
for the check (the docs name what to `pip install` in it), each after the file's earlier Python
blocks, as in one interpreter session. A block fails the check when a command in it fails
(`set -euo pipefail`): examples use `curl --fail-with-body`, so an HTTP error fails too.

A block may be preceded by one of these comments (the only liberties the check takes):

    <!-- docs-check: skip: REASON -->   not run; the reason is required and printed
    <!-- docs-check: background -->     a foreground server: the servers started before are
                                        stopped, the block's last command is started in the
                                        background, the check waits for /readyz on port 8080 and
                                        stops it before the next block (the reader's Ctrl-C)

Servers a block starts with `&` are stopped when its file is done. Blocks in any other language
(toml, diagrams, HTTP sketches) are not commands and are not run.

Usage: python3 scripts/docs_check.py [FILE ...]   (default: README.md, then docs/*.md)
Exit 0 when every block ran, 1 otherwise.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(\w*)\s*$")
DIRECTIVE = re.compile(r"^<!-- docs-check: (skip: .+|background) -->$")
READY = "http://127.0.0.1:8080/readyz"
FILE_TIMEOUT_SECS = 30 * 60
# How long a background block's server may take to answer (its first build included).
READY_WAIT_SECS = 25 * 60


def blocks(path):
    """(line, language, directive, text) of every fenced block."""
    lines = path.read_text().splitlines()
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1), i + 1
        prev = lines[i - 1].strip() if i > 0 else ""
        d = DIRECTIVE.match(prev)
        j = start
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        out.append((start, lang, d.group(1) if d else None, "\n".join(lines[start:j])))
        i = j + 1
    return out


def script_for(path, found):
    """The bash script a reader of `path` would type, block after block."""
    parts = [
        "set -euo pipefail",
        "trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true' EXIT",
        "BG=",
    ]
    python_so_far = []
    for line, lang, directive, text in found:
        where = f"{path.name}:{line}"
        if lang not in ("sh", "python"):
            continue
        if directive and directive.startswith("skip: "):
            print(f"  {where}: skipped ({directive[6:]})")
            continue
        parts.append(f'if [ -n "$BG" ]; then kill "$BG"; wait "$BG" 2>/dev/null || true; BG=; fi')
        parts.append(f"echo; echo '--- {where} ({lang})'")
        if lang == "python":
            python_so_far.append(text)
            session = "\n\n".join(python_so_far)
            parts.append(f"python3 - <<'DOCS_CHECK_PY'\n{session}\nDOCS_CHECK_PY")
        elif directive == "background":
            # The reader stops the servers they started before running one in the foreground.
            parts.append("kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true")
            body = text.rstrip().splitlines()
            parts.extend(body[:-1])
            parts.append(body[-1] + " &")
            parts.append("BG=$!")
            # The first background block builds the release binary before it serves: on a slow
            # 2-core machine that alone passed 10 minutes. Wait up to the file's own limit.
            parts.append(
                f"curl -s --retry {READY_WAIT_SECS} --retry-connrefused --retry-delay 1 -o /dev/null {READY}"
            )
            parts.append('kill -0 "$BG"  # the server that answered is this block\'s')
        else:
            parts.append(text)
    return "\n".join(parts) + "\n"


def port_free(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def fresh_copy(dest):
    """The repository's tracked files (as they are in the work tree) under `dest`."""
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.split(b"\0")
    for f in filter(None, files):
        src, dst = ROOT / f.decode(), dest / f.decode()
        if src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def main(argv):
    targets = [Path(a).resolve() for a in argv] or [ROOT / "README.md"] + sorted(
        (ROOT / "docs").glob("*.md")
    )
    # A fixed place (under target/, which git ignores): cargo's fingerprints name the package's
    # folder, so the copies' release builds are reused from one run to the next.
    work = ROOT / "target" / "docs-check"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = dict(os.environ)
    env["CARGO_TARGET_DIR"] = str(ROOT / "target")
    env["CARGO_INSTALL_ROOT"] = str(work / "cargo")
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
    env["VIRTUAL_ENV"] = str(work / "venv")
    env["PATH"] = f"{work / 'cargo' / 'bin'}:{work / 'venv' / 'bin'}:{env['PATH']}"
    env.pop("RUST_LOG", None)
    if ROOT / "README.md" not in targets:
        # Otherwise the README's own `cargo install --locked --path .` block, run first, does it.
        print("== coalition on PATH: cargo install --locked --path .")
        subprocess.run(
            ["cargo", "install", "--quiet", "--locked", "--path", str(ROOT)], env=env, check=True
        )
    failed = []
    try:
        for path in targets:
            found = blocks(path)
            if not any(lang in ("sh", "python") for _, lang, _, _ in found):
                continue
            print(f"== {path.relative_to(ROOT)}")
            if not port_free(8080):
                print("  port 8080 is taken: the docs' examples serve on it")
                failed.append(path.name)
                break
            repo = work / f"repo-{path.stem}"
            shutil.rmtree(repo, ignore_errors=True)
            fresh_copy(repo)
            script = repo / "docs-check.sh"
            script.write_text(script_for(path, found))
            started = time.monotonic()
            try:
                done = subprocess.run(
                    ["bash", str(script)], cwd=repo, env=env, timeout=FILE_TIMEOUT_SECS
                )
                ok = done.returncode == 0
            except subprocess.TimeoutExpired:
                print(f"  timed out after {FILE_TIMEOUT_SECS} s")
                ok = False
            print(f"  {'ok' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s")
            if not ok:
                failed.append(path.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failed:
        print("docs check: FAILED in " + ", ".join(failed))
        return 1
    print("docs check: every block ran as printed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
