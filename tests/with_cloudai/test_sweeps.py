"""Both engines expand the same files into the same cases (issue 10, item 4): CloudAI's DSE
sweeps every list in `cmd_args`, ours only the sweepable fields; under the plugin a list that
is one value (e.g. `extra_inputs`) must stay one value."""

from __future__ import annotations

import shutil
from pathlib import Path

from cloudai_cli import dry_run

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "conf" / "local"


def _cases(results_dir: Path) -> dict[str, str]:
    """Step name -> its environment (the sbatch's exports), run.sh and Dynamo config, with the
    run directory's path taken out."""
    cases = {}
    for run_dir in sorted(p.parent for p in results_dir.glob("1p1d/0/*/run.sh")):
        sbatch = (run_dir / "cloudai_sbatch_script.sh").read_text().splitlines()
        exports = [line for line in sbatch if line.startswith("export ")]
        texts = [*exports, (run_dir / "run.sh").read_text()]
        texts.append((run_dir / "dynamo_config.yaml").read_text())
        cases[run_dir.name] = "\n".join(texts).replace(str(run_dir), "<run>")
    return cases


def test_both_engines_make_the_same_cases_from_the_same_files(tmp_path: Path) -> None:
    tests = tmp_path / "test"
    # The seed-schema tests only: the plugin does not read CloudAI main's schema yet
    # (issue 12), and CloudAI refuses a tests directory with one file it cannot load.
    shutil.copytree(LOCAL / "test", tests, ignore=shutil.ignore_patterns("current_*"))
    test = tests / "mocker_genai_perf.toml"
    text = test.read_text()
    assert 'extra_inputs = ["max_tokens:16", "min_tokens:16", "ignore_eos:true"]' in text
    # Two real axes (concurrency, an environment value) next to the 3-element extra_inputs.
    text = text.replace("concurrency = 2", "concurrency = [1, 2]")
    test.write_text(text + 'SWEPT = ["a", "b"]\n')
    system = LOCAL / "cloudai" / "system.toml"
    scenario = LOCAL / "test_scenario" / "mocker_genai_perf.toml"

    ours = _cases(dry_run(tmp_path, system, tests, scenario, engine="embedded"))
    theirs = _cases(dry_run(tmp_path, system, tests, scenario, engine="cloudai"))

    # 2 x 2 cases, not 3 x 2 x 2: extra_inputs is one value of every case.
    assert list(ours) == ["1", "2", "3", "4"]
    assert theirs == ours
    for step, (concurrency, swept) in zip(
        ours, [(1, "a"), (1, "b"), (2, "a"), (2, "b")], strict=True
    ):
        words = ours[step].split()
        assert words[words.index("--concurrency") + 1] == str(concurrency)
        assert f'export SWEPT="{swept}"\n' in ours[step]  # env values: double-quoted words
        assert words.count("--extra-inputs") == 3
