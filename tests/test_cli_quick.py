"""The quick command-line path of `dry-run` and `plan` (cli_args) gives what argparse gives.

`dry-run` and `plan` skip argparse and pathlib on plain command lines. These tests hold the
quick path to the reference it replaces: argparse's namespace for the same command line,
``str(PurePosixPath(text))`` for path spellings, ``sorted(Path.rglob("*.toml"))`` for the test
files of a directory; and every other command line goes to argparse, for its messages.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from cloudai_dynamo_rs import cli, cli_args
from cloudai_dynamo_rs.cli_parser import build_parser


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path (also the working directory) with a system file, a scenario file and a tests
    directory (the inputs need not be valid: nothing is read here)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sys.toml").write_text("")
    (tmp_path / "scen.toml").write_text("")
    (tmp_path / "tests").mkdir()
    (tmp_path / "out").mkdir()
    return tmp_path


BASE = ["--system-config", "sys.toml", "--tests-dir", "tests", "--test-scenario", "scen.toml"]

QUICK = [
    ["dry-run", *BASE],
    ["dry-run", *BASE, "--output-dir", "out", "--max-runs", "7", "--skip-host-checks"],
    ["dry-run", "--skip-host-checks", "--test-scenario", "./scen.toml", "--tests-dir", "tests/",
     "--max-runs", " +12 ", "--system-config", ".//sys.toml", "--output-dir", "new/./dir//"],
    ["plan", *BASE],
    ["plan", *BASE, "--json", "-"],
    ["plan", *BASE, "--json", "./plans//p.json", "--output-dir", "out", "--max-runs", "3"],
]  # fmt: skip


@pytest.mark.parametrize("argv", QUICK, ids=lambda a: " ".join(a))
def test_quick_parse_gives_argparse_namespace(files: Path, argv: list[str]) -> None:
    quick = cli_args.quick_parse(argv)
    assert quick is not None, "a plain command line takes the quick path"
    assert vars(cli.parse_args(argv)) == vars(build_parser().parse_args(argv))


NOT_QUICK = [
    ["dry-run", "--help"],
    ["dry-run", *BASE, "-h"],
    ["--version"],
    ["dry-run", "--system", "sys.toml", *BASE[2:]],  # an abbreviation
    ["dry-run", "--system-config=sys.toml", *BASE[2:]],
    ["dry-run", *BASE, "--max-runs", "2", "--max-runs", "3"],  # repeated: last one wins
    ["dry-run", *BASE[:4]],  # a required flag missing
    ["dry-run", *BASE, "--max-runs", "0"],  # a value refused
    ["dry-run", *BASE, "--output-dir", "sys.toml"],
    ["dry-run", *BASE, "--output-dir", ""],
    ["dry-run", *BASE[:2], "--tests-dir", "nope", *BASE[4:]],
    ["dry-run", *BASE, "--output-dir", "-o"],  # a value that looks like an option
    ["dry-run", *BASE, "--output-dir"],
    ["dry-run", *BASE, "--sytem-config", "x"],  # unknown
    ["dry-run", *BASE, "extra"],
    ["dry-run", *BASE, "--engine", "embedded"],
    ["dry-run", *BASE, "--"],
    ["dry-run", *BASE, "--json", "-"],  # plan's flag
    ["run", *BASE],
    ["verify-configs", "sys.toml"],
    ["generate-report", *BASE, "--result-dir", "out"],
    [],
]


@pytest.mark.parametrize("argv", NOT_QUICK, ids=lambda a: " ".join(a) or "(none)")
def test_other_command_lines_go_to_argparse(files: Path, argv: list[str]) -> None:
    assert cli_args.quick_parse(argv) is None


def test_a_refused_value_gets_argparse_message(files: Path) -> None:
    # Through the real entry point: the quick path declines, argparse explains, exit code 2.
    argv = ["dry-run", *BASE, "--max-runs", "0"]
    done = subprocess.run(
        [sys.executable, "-m", "cloudai_dynamo_rs.cli", *argv],
        capture_output=True,
        text=True,
        cwd=files,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "cloudaix dry-run: error: argument --max-runs: expected an integer ≥ 1, found '0'"
    )


@pytest.mark.parametrize(
    "text",
    ["", ".", "./", "a", "a/", "./a", "a//b", "a/./b/.", "a/../b", "/", "//", "///", "/a",
     "//a", "///a//b/", "./../x", "a\nb", " a "],
)  # fmt: skip
def test_path_text_spells_paths_as_pathlib(text: str) -> None:
    assert cli_args.path_text(text) == str(PurePosixPath(text))


def test_toml_files_are_those_of_rglob_in_its_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "tests"
    for name in [
        "b.toml",
        "a-c.toml",  # '-' sorts before '/' as text, after "a" as a path part
        "a/b.toml",
        "a/z/deep.toml",
        ".hidden.toml",
        "x.TOML",  # not *.toml: names are case-sensitive here
        "notes.txt",
        "a/toml",
    ]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")
    (root / "dir.toml").mkdir()  # a directory whose name matches is listed, as rglob does
    (root / "dir.toml" / "in.toml").write_text("")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "o.toml").write_text("")
    (root / "linked").symlink_to(outside)  # not followed
    (root / "link.toml").symlink_to(outside / "o.toml")
    for given in [str(root), str(root) + "/", f"{tmp_path}/./tests//"]:
        expected = [str(p) for p in sorted(Path(given).rglob("*.toml"))]
        assert [str(p) for p in cli._toml_files([given])] == expected
        assert len(expected) == 8
    # Relative to the working directory, as given on the command line.
    monkeypatch.chdir(tmp_path)
    for given in ["tests", "./tests", "tests/."]:
        expected = [str(p) for p in sorted(Path(given).rglob("*.toml"))]
        assert [str(p) for p in cli._toml_files([given])] == expected
    monkeypatch.chdir(root)
    assert cli._toml_files(["."]) == [str(p) for p in sorted(Path(".").rglob("*.toml"))]
    # A file is kept as it is given.
    assert cli._toml_files([Path("b.toml"), "a/b.toml"]) == [Path("b.toml"), "a/b.toml"]
