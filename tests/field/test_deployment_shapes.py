"""Issue 16's deployment shapes on the field corpus: the checks of end of life, exposure,
database credentials, development switches and servers, migrations, package managers and build
contexts find the facts of their topics in every corpus project's manifest, flag no must-not
fact, and add no finding the manifest does not explain. One audit per project (config and
deployment suites, these checks only), scored with the harness's own matching rules."""

from __future__ import annotations

import tempfile
from pathlib import Path

import harness
import pytest
from conftest_services import require_service
from helpers import audit_target

#: the checks of the deployment shapes (issue 16, staticb)
SHAPE_CHECKS = ("CFG-031", "CFG-060", "CFG-065", "CFG-066", "CFG-100", "CFG-101", "CFG-102",
                "CFG-103", "CFG-106", "CFG-107", "CFG-109", "CFG-110", "CFG-111", "CFG-112",
                "CFG-150", "CFG-151", "CFG-152", "CFG-153", "CFG-154", "CFG-155", "CFG-157",
                "CFG-158", "CFG-160", "CFG-161", "CFG-162", "DEP-001", "DEP-046", "DEP-070",
                "DEP-072")
#: facts of these topics that the checks cannot find here, with the reason
OUT_OF_REACH = {
    "vulnerable-dependency": "needs advisory data (--vuln-db); the static run has none",
    "yanked-dependency": "needs the package index",
    "migrations-drift": "needs a scratch PostgreSQL (DEP-045)",
    "redis-memory-policy": "needs a live Redis (DEP-062)",
}
#: facts a shape check should find, by manifest (the topics of the shapes)
SHAPE_TOPICS = frozenset({
    "eol-runtime", "service-port-exposed", "admin-ui-exposed", "dev-switch-in-image",
    "dev-server-entrypoint", "migrations-missing", "unneeded-dependency", "incomplete-lock",
    "image-build-tools", "dockerignore-missing", "image-incomplete", "source-bind-mount",
    "image-unpinned", "compose-image-unpinned", "db-volume", "remote-download-unverified",
    "compose-no-healthcheck", "compose-no-restart", "compose-no-limits", "container-root",
    "image-no-healthcheck", "unpinned-dependencies", "dockerfile-lean-install",
})
#: manifest facts in these topics that are known not to be found, with the reason
KNOWN_MISSES = {
    ("benavlabs__FastAPI-boilerplate", "F20"): "the manifest's line 42 is the Redis pool; "
                                                "create_all is on line 37 (reported there)",
    ("Buuntu__fastapi-react", "F25"): "NODE_ENV in a compose environment: CFG-030 (settings, not "
                                      "a shape check) reports it",
}
#: findings the manifests do not explain only because of a known manifest problem (above)
KNOWN_NOISE = {"benavlabs__FastAPI-boilerplate": {"src/app/core/setup.py:37"}}


def _projects() -> list[Path]:
    return harness.manifest_paths()


def _pin_facts(manifest: harness.Manifest) -> list[harness.Fact]:
    return [f for f in manifest.must_flag if f.topic == "vulnerable-dependency"
            and f.path.endswith((".txt", ".lock", ".toml"))]


def _projects_with_pin_facts() -> list[Path]:
    """Manifests that call a Python pin vulnerable (the others have nothing to point at)."""
    return [p for p in _projects() if _pin_facts(harness.load_manifest(p))]


@pytest.fixture(scope="module")
def corpus() -> Path:
    require_service("field corpus", harness.DEFAULT_CORPUS.is_dir(),
                    f"{harness.DEFAULT_CORPUS} is absent (it is ../shared/field wherever CI runs)")
    return harness.DEFAULT_CORPUS


@pytest.mark.parametrize("manifest_path", _projects(), ids=lambda p: p.stem)
def test_shapes_on_the_corpus(corpus: Path, manifest_path: Path, tmp_path: Path) -> None:
    manifest = harness.load_manifest(manifest_path)
    topics = harness.load_topics()
    with tempfile.TemporaryDirectory(dir=tmp_path) as work:
        repo = harness.prepare_copy(corpus, manifest, Path(work))
        run = audit_target(None, tmp_path, suites=["config", "deployment"], repo=repo,
                           only=list(SHAPE_CHECKS))
        observed, statuses, errors = harness.observed_from_audit(run.to_dict(), [str(repo)])
    assert not errors, errors
    score = harness.score_project(manifest, observed, statuses, topics)
    missed = [f for f in score.missed if f.topic in SHAPE_TOPICS
              and (manifest.folder, f.id) not in KNOWN_MISSES and f.topic not in OUT_OF_REACH]
    assert not missed, "\n".join(f"{f.id} [{f.topic}] {f.path}:{f.line}" for f in missed)
    assert not score.violated, "\n".join(
        f"{fact.id} by " + "; ".join(o.describe() for o in hits) for fact, hits in score.violated)
    noise = [o for o in score.noise if o.location not in KNOWN_NOISE.get(manifest.folder, set())]
    assert not noise, "\n".join(o.describe() for o in noise)


@pytest.mark.parametrize("manifest_path", _projects_with_pin_facts(), ids=lambda p: p.stem)
def test_pins_point_at_the_vulnerable_entries(corpus: Path, manifest_path: Path,
                                              tmp_path: Path) -> None:
    """The vulnerability scan needs advisory data the static run does not have; what the
    repository gives it is checked here: every Python package a manifest calls vulnerable is a
    production pin located at the fact's file and line (``uv.lock:1117`` for starlette), so an
    advisory found with ``--vuln-db`` points at the package's entry."""
    from prodaudit.config import load_config
    from prodaudit.context import Context
    from prodaudit.product.dependencies import pinned_packages

    manifest = harness.load_manifest(manifest_path)
    facts = _pin_facts(manifest)
    assert facts, "parametrised only over manifests with such facts"
    with tempfile.TemporaryDirectory(dir=tmp_path) as work:
        repo = harness.prepare_copy(corpus, manifest, Path(work))
        ctx = Context(load_config({"repo": repo, "start_target": False, "output": tmp_path / "o"}))
        pins = [harness.parse_location(p.location) for p in pinned_packages(ctx)]
    for fact in facts:
        assert any(path == fact.path and line is not None
                   and abs(line - fact.line) <= harness.LINE_TOLERANCE for path, line in pins), \
            f"{fact.id}: no pin at {fact.path}:{fact.line}"
