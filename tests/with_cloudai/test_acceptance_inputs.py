"""CloudAI 13816b1a's own AIDynamo acceptance inputs (tests/test_acceptance.py in its archive)
through the plugin: tests/data/cloudai/acceptance holds them as the files a user writes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from cloudai_cli import dry_run

DATA = Path(__file__).resolve().parents[1] / "data"


def test_cloudai_acceptance_inputs_through_the_plugin(tmp_path: Path) -> None:
    """tests/test_acceptance.py's `ai-dynamo` case at 13816b1a, as files, through the plugin.

    Expected values come from CloudAI's reference sbatch for these inputs
    (tests/ref_data/ai-dynamo.sbatch at 13816b1a) and from the inputs themselves.
    """
    ws = tmp_path
    shutil.copytree(DATA / "cloudai" / "acceptance", ws, dirs_exist_ok=True)
    (ws / "hf").mkdir()
    test = ws / "test" / "ai-dynamo.toml"
    test.write_text(test.read_text().replace("__HF_HOME__", str(ws / "hf")))
    run_dir = dry_run(ws, ws / "system.toml", ws / "test", ws / "scenario.toml") / "ai-dynamo" / "0"
    sbatch = (run_dir / "cloudai_sbatch_script.sh").read_text()
    # From ref_data/ai-dynamo.sbatch: partition, 3 nodes, 8 GPUs per node, HF_HOME, the image.
    assert "#SBATCH --partition=main\n" in sbatch
    assert re.search(r"^#SBATCH (-N |--nodes=)3$", sbatch, re.M)
    assert "#SBATCH --gpus-per-node=8\n#SBATCH --gres=gpu:8\n" in sbatch
    assert re.search(rf"^export HF_HOME=['\"]?{re.escape(str(ws / 'hf'))}['\"]?$", sbatch, re.M)
    # The image CloudAI installed: the URL (13816b1a), or at 5b5c0f72, where the fixture's
    # cache_docker_images_locally = true counts, the squashfs CloudAI names after it.
    image = re.search(r"--container-image=(\S+)", sbatch)
    assert image is not None
    assert image[1] in (
        "nvcr.io/nvidia/ai-dynamo:24.09",
        f"{ws}/install/nvcr.io_nvidia__ai-dynamo__24.09.sqsh",
    )
    assert "--no-container-mount-home" not in sbatch  # the fixture sets container_mount_home
    # The inputs reach Dynamo's config and genai-perf.
    config = (run_dir / "dynamo_config.yaml").read_text()
    assert "served_model_name: llama2-7b" in config
    assert "block-size: 64" in config and "min-workers: 1" in config
    assert config.count("ServiceArgs:") == 2
    words = (run_dir / "run.sh").read_text().split()
    for flag, value in [
        ("--output-tokens-mean", "128"),
        ("--random-seed", "42"),
        ("--request-count", "100"),
        ("--synthetic-input-tokens-mean", "550"),
        ("--warmup-request-count", "10"),
    ]:
        assert words[words.index(flag) + 1] == value, flag
    assert "--streaming" in words and "--extra-inputs" in words
    roles = (run_dir / "node_roles.txt").read_text()
    assert [line.split()[1] for line in roles.splitlines() if line[:1].isdigit()] == [
        "frontend",
        "prefill",
        "decode",
    ]
