"""One model of the audited product, shared by every suite.

What the repository deploys, as facts built once per audit and memoised on the ``Context``:
the Compose project (``compose``), the Dockerfiles with their build contexts (``dockerfiles``),
the env files and who reads them (``envfiles``), the environment variable graph (``envgraph``)
and a setting's effective value (``effective``), secret-value heuristics (``secretvalues``).
Check modules of every suite read these instead of building their own picture.
"""
