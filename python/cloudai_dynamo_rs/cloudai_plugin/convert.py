"""The core's rendered texts as CloudAI's files and records.

CloudAI hands the plugin its models' dumps, which the core reads itself (``_core.render_one``
and ``_core.read_cloudai_test`` take them as they are: every key, spelling and CloudAI-only
field is the core's business, ``src/config/host.rs``). What is left here is writing what the
core rendered where CloudAI expects it. Nothing in this module imports CloudAI.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import _core

# ---- rendered files ----------------------------------------------------------------------

SBATCH_FILE = _core.SBATCH_FILE
LAUNCH_FILE = _core.LAUNCH_FILE
#: ``render_one``'s key of the job's main srun on one line (CloudAI's ``gen_srun_command``).
SRUN_COMMAND = "srun_command"


def write_rendered(run_dir: Path, rendered: Mapping[str, Any]) -> Path:
    """Write the texts ``render_one`` returned into ``run_dir``; return the sbatch script."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for name, text in rendered.items():
        # Files only: not `topology` (the node plan) nor `srun_command` (CloudAI's record).
        if isinstance(text, str) and name != SRUN_COMMAND:
            (run_dir / name).write_text(text)
    (run_dir / LAUNCH_FILE).chmod(0o755)
    return run_dir / SBATCH_FILE
