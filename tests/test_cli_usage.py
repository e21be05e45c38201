"""Every command answers bad input with one clear line and exit status 2, never a traceback;
every subcommand's --help says what it does, with its defaults and allowed values."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from voice.cli import build_parser, main


def _walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, str | None]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help for c in action._choices_actions}
            for name, child in action.choices.items():
                yield (*path, name), child, helps.get(name)
                yield from _walk(child, (*path, name))


SUBCOMMANDS = list(_walk(build_parser(), ()))


@pytest.mark.parametrize(
    ("path", "parser", "summary"), SUBCOMMANDS, ids=[" ".join(p) for p, _, _ in SUBCOMMANDS]
)
def test_every_subcommand_help_says_what_it_does_with_defaults_and_choices(
    path: tuple[str, ...],
    parser: argparse.ArgumentParser,
    summary: str | None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert summary, f"voice {' '.join(path)} has no one-line help"
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"voice {' '.join(path)}: {action.dest} is not explained"
        if action.default not in (None, False, argparse.SUPPRESS):
            assert f"default: {action.default}" in " ".join(shown.split()), (path, action.dest)
        for choice in action.choices or ():
            assert str(choice) in shown, (path, action.dest, choice)


def bad_inputs(tmp: Path) -> list[list[str]]:
    return [
        ["ingest", str(tmp / "missing.ndjson")],
        ["ingest", str(tmp)],
        ["audit", "accounting"],
        ["tasks", "--kind", "nonsense"],
        ["db", "sideways"],
        ["hold", "set", "--days", "many"],
        ["message", "submit", "--channel", "pigeon"],
        ["guard", "release", "not-a-number"],
        ["nonsense"],
    ]


@pytest.mark.usefixtures("voice_env")
@pytest.mark.parametrize("index", range(9))
def test_bad_input_is_a_one_line_usage_error_with_status_2(
    index: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = bad_inputs(tmp_path)[index]
    try:
        status = main(argv)
    except SystemExit as exited:
        status = exited.code  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert status == 2, (argv, err)
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "error:" in last, err


@pytest.mark.usefixtures("voice_env")
def test_message_submit_finds_every_table(database_url: str) -> None:
    # It once raised NoReferencedTableError: the command ran without every table imported.
    # A process of its own, as a user runs it: this test process has imported every table.
    from voice import migrate

    migrate.upgrade(database_url)
    argv = ["message", "submit", "--link-id", "999999", "--body", "Hello", "--by", "s-1"]
    done = subprocess.run(
        [sys.executable, "-m", "voice.cli", *argv], capture_output=True, text=True, check=False
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "voice message submit: no link 999999"
    assert done.returncode == 1
