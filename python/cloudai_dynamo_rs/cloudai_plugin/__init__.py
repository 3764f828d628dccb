"""Plug cloudai-dynamo-rs into NVIDIA CloudAI as its ``AIDynamo`` workload.

``register()`` imports CloudAI (which registers its built-in workloads) and replaces the
built-in AIDynamo in CloudAI's Registry: the test definition (either schema generation, read by
our core) and the Slurm command-generation strategy (our sbatch, run.sh, dynamo_config.yaml).
Where CloudAI picks a test run's report strategies, ours (CloudAI's metric keys, for DSE) is
picked for our definition; the Registry's report map stays CloudAI's own. The job-status check
reads our markers. Every other CloudAI workload, verb and behaviour is untouched.

The pure parts (``convert``, ``results``) do not import CloudAI; ``adapters`` does.
"""

from __future__ import annotations


def register() -> None:
    """Replace CloudAI's built-in AIDynamo with ours; raises ImportError without CloudAI."""
    from . import adapters  # imports CloudAI, hence not at module level

    adapters.register()


__all__ = ["register"]
