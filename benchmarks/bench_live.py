"""4. Live probing against a started reference target on 127.0.0.1, and the redaction cost.

The functional and security suites run once each (``rounds=1``): the security suite's bursts
consume the target's rate-limit budget, so a second round on the same target would measure a
different (rate-limited) run. Requests are counted by the shared HTTP client.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import string
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from prodaudit.config import REFERENCE_TARGET, load_config
from prodaudit.context import Context
from prodaudit.model import CheckResult, Status
from prodaudit.redact import MASK, Redactor
from prodaudit.registry import load_checks
from prodaudit.runner import run_checks
from prodaudit.target import ReferenceTarget


@pytest.mark.parametrize("suite", ["functional", "security"])
def bench_live_suite(benchmark: Any, record: Callable[..., None],
                     reference_target: ReferenceTarget, suite: str) -> None:
    t = reference_target
    cfg = load_config({
        "repo": REFERENCE_TARGET, "start_target": False, "base_url": t.base_url,
        "frontend_url": t.frontend_url, "env_file": t.env_file,
        "output": Path(tempfile.mkdtemp(prefix="prodaudit-bench-")),
    })
    specs = load_checks().select([suite], cfg.only, cfg.skip)
    holder: dict[str, Context] = {}

    def run() -> list[CheckResult]:
        ctx = Context(cfg, target_env=t.env, target_logs=t.logs)
        holder["ctx"] = ctx
        return asyncio.run(run_checks(specs, ctx))

    saved = dict(os.environ)
    os.environ.update(t.audit_env)
    try:
        results = benchmark.pedantic(run, rounds=1, iterations=1)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert len(results) == len(specs)
    assert any(r.status is Status.PASS for r in results)
    requests = holder["ctx"].http.count
    assert requests > 0
    benchmark.extra_info["requests"] = requests
    benchmark.extra_info["statuses"] = {
        s.value: sum(1 for r in results if r.status is s) for s in Status}
    benchmark.extra_info["slowest"] = [
        f"{r.id} {r.duration_s:.2f}s" for r in sorted(results, key=lambda r: -r.duration_s)[:5]]
    record(per=len(specs), per_label="check")
    if benchmark.stats is not None:
        benchmark.extra_info["requests_per_s"] = round(requests / benchmark.stats.stats.median, 1)


def _text_with_secrets(values: list[str], size: int = 1_000_000) -> str:
    rng = random.Random(7)  # noqa: S311 - synthetic data
    words = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 10)))
             for _ in range(2000)]
    lines: list[str] = []
    n = 0
    i = 0
    while n < size:
        i += 1
        if i % 50 == 0:  # a registered value, as a header, an env line or a URL password
            v = values[i // 50 % len(values)]
            line = rng.choice([f"Authorization: Bearer {v}", f"LLM_API_KEY={v}",
                               f"postgresql://app:{v}@127.0.0.1:5432/app"])
        elif i % 170 == 0:  # credentials the redactor only knows by pattern
            line = "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0." + secrets.token_urlsafe(32)
        else:
            line = " ".join(rng.choice(words) for _ in range(12))
        lines.append(line)
        n += len(line) + 1
    return "\n".join(lines)


def bench_redaction_1mb_50_secrets(benchmark: Any, record: Callable[..., None]) -> None:
    values = [secrets.token_urlsafe(24) for _ in range(50)]
    text = _text_with_secrets(values)

    def once() -> str:  # a fresh redactor: no memo from the previous round
        red = Redactor()
        red.register(*values)
        return red.redact(text)

    out = benchmark(once)
    assert not any(v in out for v in values)
    assert out.count(MASK) >= len(values)
    record(nbytes=len(text.encode()))


def bench_redaction_of_findings_741_values(benchmark: Any, record: Callable[..., None]) -> None:
    """The audit's pattern: 741 registered values (a noisy secret scan) and 22,000 finding texts
    (message, evidence, remediation ...), each redacted by the runner and again by the final
    pass over the run (governance)."""
    rng = random.Random(11)  # noqa: S311 - synthetic data
    values = [secrets.token_urlsafe(18) for _ in range(741)]
    texts = [f"high-entropy value assigned to key_{i} in src/m{i}.py: "
             f"KEY_{i} = \"{rng.choice(values)}\" and some more words of evidence {i}"
             for i in range(22_000)]

    def run() -> list[str]:
        red = Redactor()
        red.register(*values)
        first = [red.redact(t) for t in texts]  # runner
        return [red.redact(t) for t in first]  # governance: memoised, not redone

    out = benchmark.pedantic(run, rounds=3, iterations=1)
    assert all(MASK in t for t in out) and not any(v in out[0] for v in values)
    record(per=2 * len(texts), per_label="redaction")
