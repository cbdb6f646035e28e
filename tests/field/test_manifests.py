"""Every field manifest follows the schema: required keys, known topics and check ids, and facts
that point at files and lines that exist in the corpus project (after its render step)."""

from __future__ import annotations

import importlib.util
import shutil
import tomllib
from pathlib import Path

import harness
import pytest
from conftest_services import require_service

from prodaudit.registry import load_checks

MANIFESTS = harness.manifest_paths()
CHECK_IDS = frozenset(spec.id for spec in load_checks().select(None))


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def test_there_are_manifests() -> None:
    assert MANIFESTS, "no tests/field/<owner>__<name>.toml manifest"


def test_topics_name_existing_checks() -> None:
    topics = harness.load_topics()
    unknown = {name: sorted(t.checks - CHECK_IDS) for name, t in topics.items() if t.checks - CHECK_IDS}
    assert not unknown, f"topics.toml names checks that do not exist: {unknown}"


@pytest.mark.parametrize("path", MANIFESTS, ids=_ids(MANIFESTS))
def test_manifest_schema(path: Path) -> None:
    """Structure, ids, topics, check ids and the live section, without the corpus."""
    manifest = harness.load_manifest(path)
    topics = harness.load_topics()
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    problems = harness.validate_manifest(manifest, topics, CHECK_IDS)
    problems += harness.validate_live(data.get("live"), topics, CHECK_IDS)
    assert manifest.must_flag, "a manifest lists at least one must-flag fact"
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


@pytest.fixture(scope="module")
def corpus() -> Path:
    require_service("field corpus", harness.DEFAULT_CORPUS.is_dir(),
                    f"{harness.DEFAULT_CORPUS} is absent (it is ../shared/field wherever CI runs)")
    return harness.DEFAULT_CORPUS


@pytest.mark.parametrize("path", MANIFESTS, ids=_ids(MANIFESTS))
def test_manifest_points_into_the_corpus(path: Path, corpus: Path, tmp_path: Path) -> None:
    """Every fact's path exists in the (rendered) project and its line is within the file."""
    manifest = harness.load_manifest(path)
    if manifest.render.startswith("cookiecutter"):
        require_service("cookiecutter", importlib.util.find_spec("cookiecutter") is not None
                        or shutil.which("cookiecutter") is not None, "pip install cookiecutter")
    repo = harness.prepare_copy(corpus, manifest, tmp_path)
    problems = harness.validate_manifest(manifest, harness.load_topics(), CHECK_IDS, repo)
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


def test_validation_catches_a_wrong_line(tmp_path: Path) -> None:
    """The path/line validation can fail: a fact past the end of its file is reported."""
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    bad = harness.Fact("F01", "hard-coded-secret", frozenset(), "app.py", 7, frozenset({"FAIL"}), "w")
    gone = harness.Fact("F02", "no-such-topic", frozenset({"CFG-999"}), "gone.py", 0,
                        frozenset({"FAIL"}), "w")
    m = harness.Manifest("owner__name", "", ".", "", (bad, gone), (), (), Path("owner__name.toml"))
    problems = harness.validate_manifest(m, harness.load_topics(), CHECK_IDS, tmp_path)
    assert any("has 1 lines" in p for p in problems)
    assert any("gone.py does not exist" in p for p in problems)
    assert any("unknown topic" in p for p in problems) and any("CFG-999" in p for p in problems)


def test_live_validation_catches_bad_recipes() -> None:
    topics = harness.load_topics()
    live = {"runnable": True, "python": "three", "start": "uvicorn app:app", "health": "health",
            "services": ["mysql"], "env": {"X": "{nope}"},
            "must_flag": [{"id": "L01", "topic": "docs-exposed", "operation": "/docs", "why": "w"}]}
    problems = "\n".join(harness.validate_live(live, topics, CHECK_IDS))
    for needle in ("python", "health", "services", "{nope}", "{port}", "METHOD /path"):
        assert needle in problems
    assert harness.validate_live({"runnable": False}, topics, CHECK_IDS) == [
        "[live] runnable = false needs why_not"]
