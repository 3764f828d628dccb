"""Data passed into and out of the runner.

Kept free of any scheduler or native-module import so that the dry-run code, the CLI and the
tests can build these objects cheaply.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

#: Final status of one run, as written to ``status.json``.
Status = Literal["completed", "failed", "cancelled", "timeout", "not_submitted"]

#: CloudAI dependency types (``[[Tests.dependencies]]`` in a scenario).
START_POST_COMP = "start_post_comp"
START_POST_INIT = "start_post_init"
END_POST_COMP = "end_post_comp"
DEPENDENCY_TYPES = frozenset({START_POST_COMP, START_POST_INIT, END_POST_COMP})


@dataclass(frozen=True)
class PreparedRun:
    """One sbatch script written by the dry-run code, ready to submit."""

    key: str  # "<test id>/<iteration>/<step>", e.g. "Tests.1/0/2"
    test_id: str
    iteration: int
    step: int | None
    run_dir: Path  # holds the script; the job writes its markers and results here
    sbatch_script: Path
    depends_on: list[tuple[str, str]] = field(default_factory=list)  # (type, test id)
    params: dict[str, Any] = field(default_factory=dict)  # sweep values, for display only


@dataclass(frozen=True)
class JobInfo:
    """What the scheduler knows about one job at one poll."""

    state: str  # normalised Slurm state: "RUNNING", "COMPLETED", "CANCELLED", ...
    exit_code: str | None = None  # Slurm's "code:signal", when known
    elapsed: float | None = None  # seconds the job has run, when known

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES


#: Slurm job states of a job whose script has started (and not ended).
STARTED_STATES = frozenset(
    {"RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "RESIZING"}
)

#: Slurm job states after which a job never runs again.
TERMINAL_STATES = frozenset(
    {
        "BOOT_FAIL",
        "CANCELLED",
        "COMPLETED",
        "DEADLINE",
        "FAILED",
        "NODE_FAIL",
        "OUT_OF_MEMORY",
        "PREEMPTED",
        "REVOKED",
        "SPECIAL_EXIT",
        "TIMEOUT",
    }
)


@dataclass
class RunOutcome:
    """The final word on one run; also the content of ``run_dir/status.json``."""

    key: str
    job_id: str | None
    slurm_state: str | None  # None when the job was never submitted
    status: Status
    cause: str  # human explanation; empty when completed
    elapsed: float  # seconds; Slurm's figure when known, else the runner's own

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def exit_code(returncode: int | None) -> str | None:
    """A local process's return code in Slurm's ``code:signal`` form."""
    if returncode is None:
        return None
    return f"{returncode}:0" if returncode >= 0 else f"0:{-returncode}"
