#!/usr/bin/env python3
"""Entry point in the CloudAI style: ``python cloudaix.py run --system-config … ``.

Same CLI as the installed ``cloudaix`` command (``pip install .`` first).
"""

from cloudai_dynamo_rs.engine import main

if __name__ == "__main__":
    raise SystemExit(main())
