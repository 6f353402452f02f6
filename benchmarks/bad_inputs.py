"""Run the bad-input corpus (``tests/cli/corpus.py``) through real ``sim2real`` processes.

For each input: exit status, the first stderr line, the number of stderr lines, whether the
guarded folder (and the working directory, inside it) is unchanged, and the wall time. An input
passes with exit 2, exactly one stderr line starting ``error: `` (for a Click usage error, one
that ends with the subcommand's ``--help`` hint) and nothing changed. The corpus is the one of
this checkout; the code under test is ``--code`` (another checkout, e.g. an older commit in a
``git worktree``), so the same inputs can be compared before and after a fix.

    python benchmarks/bad_inputs.py [--code PATH] [--out benchmarks/results/bad_inputs.md]
                                    [--only NAME ...] [--timeout 120]

The guarded folder (a tiny run and its exported policy) is made by the code under test. Its
read-only folder is mode 0555 and, as root (who writes in a 0555 folder), immutable
(``chattr +i``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.cli.corpus import (  # noqa: E402  (the corpus of this checkout)
    CORPUS,
    USAGE,
    build_guarded,
    fill,
    lock,
    snapshot,
    unlock,
)

COMMANDS = ("pretrain", "transfer", "benchmark", "evaluate", "export", "deploy", "inspect", "envs")


@dataclass
class Outcome:
    """What one input did."""

    name: str
    args: list[str]
    code: int | str
    first_line: str
    lines: int
    unchanged: bool
    seconds: float
    passed: bool


def _env(code: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(code), "OMP_NUM_THREADS": "1", "COLUMNS": "200"}


def _cli(code: Path, args: list[str], cwd: Path, timeout: float):
    return subprocess.run(
        [sys.executable, "-m", "sim2real", *args],
        capture_output=True,
        text=True,
        env=_env(code),
        cwd=cwd,
        timeout=timeout,
    )


def _hint(args: list[str]) -> str:
    words = ["sim2real"]
    if args and args[0] in COMMANDS:
        words.append(args[0])
        if args[0] == "envs" and len(args) > 1 and args[1] in ("list", "show", "sample"):
            words.append(args[1])
    return f"(see '{' '.join(words)} --help')"


def run_one(name: str, code: Path, base: Path, timeout: float) -> Outcome:
    args = fill(CORPUS[name], base)
    before = snapshot(base)
    t0 = time.perf_counter()
    try:
        proc = _cli(code, args, base / "cwd", timeout)
        status: int | str = proc.returncode
        err = proc.stderr
    except subprocess.TimeoutExpired as exc:
        status = f"timeout {timeout:g}s"
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
    seconds = time.perf_counter() - t0
    lines = err.strip().splitlines()
    unchanged = snapshot(base) == before
    ok_line = len(lines) == 1 and lines[0].startswith("error: ")
    if name in USAGE:
        ok_line = ok_line and lines[0].endswith(_hint(args))
    return Outcome(
        name,
        CORPUS[name],
        status,
        lines[0] if lines else "",
        len(lines),
        unchanged,
        seconds,
        status == 2 and ok_line and unchanged,
    )


def _restore(base: Path, pristine: Path) -> None:
    """Put the guarded folder back as it was (after an input that changed it)."""
    unlock(base / "readonly")
    shutil.rmtree(base)
    shutil.copytree(pristine, base, symlinks=True)
    lock(base / "readonly")


def _cell(text: str, width: int = 150) -> str:
    text = text if len(text) <= width else text[: width - 3] + "..."
    return text.replace("|", "\\|").replace("`", "'")


def write_markdown(outcomes: list[Outcome], out: Path, code: Path, command: str) -> None:
    commit = subprocess.run(
        ["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    passed = sum(o.passed for o in outcomes)
    lines = [
        f"# Bad inputs through the CLI: {passed}/{len(outcomes)} pass",
        "",
        f"Code under test: `{code}` at commit `{commit or 'unknown'}`; corpus: "
        f"`tests/cli/corpus.py` ({len(outcomes)} inputs, {len(USAGE)} Click usage errors).",
        f"Command: `{command}`",
        "",
        "Pass = exit 2, exactly one stderr line starting `error: ` (usage errors: ending with the "
        "subcommand's `--help` hint), guarded folder and working directory unchanged. "
        "Time is wall-clock per process (Python start-up included) on a shared 2-core VM.",
        "",
        "| input | args | exit | stderr first line | lines | unchanged | time s | pass |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        lines.append(
            f"| {o.name} | `{_cell(' '.join(o.args), 90)}` | {o.code} | {_cell(o.first_line)} | "
            f"{o.lines} | {'yes' if o.unchanged else 'NO'} | {o.seconds:.1f} | "
            f"{'yes' if o.passed else 'NO'} |"
        )
    failed = [o.name for o in outcomes if not o.passed]
    lines += ["", f"Failed ({len(failed)}): {', '.join(failed) if failed else 'none'}", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--code", type=Path, default=REPO, help="checkout whose sim2real is tested")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks/results/bad_inputs.md")
    ap.add_argument("--only", nargs="*", help="run only these inputs")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds before a hang")
    ns = ap.parse_args(argv)
    code = ns.code.resolve()
    names = ns.only or list(CORPUS)
    with tempfile.TemporaryDirectory(prefix="sim2real-bad-inputs-") as tmp:
        base, pristine = Path(tmp) / "guarded", Path(tmp) / "pristine"
        base.mkdir()

        def setup(args: list[str]) -> None:
            proc = _cli(code, args, Path(tmp), 600)
            if proc.returncode != 0:
                raise SystemExit(f"setup failed: sim2real {' '.join(args)}\n{proc.stderr}")

        build_guarded(base, setup)
        shutil.copytree(base, pristine, symlinks=True)
        if not lock(base / "readonly"):
            raise SystemExit("cannot make a read-only folder here (root without chattr +i)")
        outcomes = []
        try:
            for i, name in enumerate(names, 1):
                o = run_one(name, code, base, ns.timeout)
                outcomes.append(o)
                mark = "ok  " if o.passed else "FAIL"
                print(f"[{i}/{len(names)}] {mark} {name} ({o.code}, {o.seconds:.1f}s)", flush=True)
                if not o.unchanged:
                    _restore(base, pristine)
        finally:
            unlock(base / "readonly")
    command = "python benchmarks/bad_inputs.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    write_markdown(outcomes, ns.out, code, command.strip())
    print(f"{sum(o.passed for o in outcomes)}/{len(outcomes)} pass; wrote {ns.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
