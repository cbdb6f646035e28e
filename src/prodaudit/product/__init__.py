"""One model of the audited product, shared by every suite.

What the repository deploys, as facts built once per audit and memoised on the ``Context``:
the Compose project (``compose``), the Dockerfiles with their build contexts (``dockerfiles``),
the env files and who reads them (``envfiles``), the environment variable graph (``envgraph``)
and a setting's effective value (``effective``), secret-value heuristics (``secretvalues``);
for the deployment shapes: image references (``images``), the end-of-life table (``eol``) and
the versions the repository deploys (``runtimes``), development-only Compose projects
(``compose_dev``), a service's container environment (``service_env``), build contexts
(``build_context``), entry points and what they run (``entrypoints``), dependency knowledge
(``knowledge``, ``packages``) and how the schema reaches production (``schema``).
Check modules of every suite read these instead of building their own picture.
"""
