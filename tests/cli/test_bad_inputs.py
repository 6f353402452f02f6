"""The bad-input corpus (``tests/cli/corpus.py``), in-process: each input gives exactly one
``error:`` line, exit 2, and leaves the guarded folder untouched (no file changed or added).

``benchmarks/bad_inputs.py`` runs the same corpus through real ``sim2real`` processes and
records times, also on older code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.corpus import (
    CORPUS,
    READ_ONLY_INPUTS,
    USAGE,
    build_guarded,
    fill,
    lock,
    snapshot,
    unlock,
)
from tests.cli_runner import invoke


def _cli(args: list[str]) -> tuple[int, str]:
    proc = invoke(*args)
    return proc.returncode, proc.stderr


def _must_succeed(args: list[str]) -> None:
    code, err = _cli(args)
    assert code == 0, err


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, bool]]:
    """The guarded folder, and whether its read-only subfolder could be locked."""
    root = tmp_path_factory.mktemp("guarded")
    build_guarded(root, _must_succeed)
    try:
        yield root, lock(root / "readonly")
    finally:
        unlock(root / "readonly")


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_bad_input(name: str, guarded: tuple[Path, bool], monkeypatch: pytest.MonkeyPatch) -> None:
    base, read_only = guarded
    if name in READ_ONLY_INPUTS and not read_only:
        pytest.skip("no read-only folder here: running as root without chattr +i")
    monkeypatch.chdir(base / "cwd")  # default output folders would show in the snapshot
    args = fill(CORPUS[name], base)
    before = snapshot(base)
    code, err = _cli(args)
    lines = err.strip().splitlines()
    assert "Traceback" not in err, err[-2000:]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert snapshot(base) == before
    if name in USAGE:  # a Click usage error points to the subcommand's --help
        assert lines[0].endswith(f"(see '{_command_path(args)} --help')"), lines[0]


def _command_path(args: list[str]) -> str:
    from sim2real.cli.app import app

    words = ["sim2real"]
    commands = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    if args[0] in commands:
        words.append(args[0])
        if (
            args[0] in ("envs", "policies")
            and len(args) > 1
            and args[1] in ("list", "show", "sample")
        ):
            words.append(args[1])
    return " ".join(words)


def test_corpus_size() -> None:
    assert len(CORPUS) >= 150
    assert len(USAGE) >= 20
