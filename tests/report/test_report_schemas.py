"""The JSON Schemas of audit.json and prodaudit.toml: published in docs/schemas, current with the
models, and they accept what prodaudit writes and reject what it would not."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest

from prodaudit.config import ConfigError, load_config
from prodaudit.model import AuditRun
from prodaudit.report.json_report import JsonRenderer
from prodaudit.report.schemas import (
    SCHEMAS,
    AuditDocument,
    FindingDocument,
    ResultDocument,
    audit_schema,
    config_schema,
    main,
    render,
    stale,
)

ROOT = Path(__file__).parents[2]
PUBLISHED = ROOT / "docs" / "schemas"


def _validator(schema: dict) -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_published_schemas_are_current() -> None:
    assert stale(PUBLISHED) == [], "regenerate: python -m prodaudit.report.schemas docs/schemas"
    assert main(["--check", str(PUBLISHED)]) == 0


def test_generator_check_fails_when_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path)]) == 0
    assert main(["--check", str(tmp_path)]) == 0
    path = tmp_path / "prodaudit.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    del schema["properties"]["profile"]  # as if a key were added to the model later
    path.write_text(json.dumps(schema), encoding="utf-8")
    assert main(["--check", str(tmp_path)]) == 1
    assert "prodaudit.schema.json: stale" in capsys.readouterr().out


def test_audit_json_validates(run: AuditRun) -> None:
    v = _validator(audit_schema())
    doc = json.loads(JsonRenderer().format(run))
    assert list(v.iter_errors(doc)) == []
    AuditDocument.model_validate(doc)


def test_audit_schema_rejects_what_prodaudit_never_writes(run: AuditRun) -> None:
    v = _validator(audit_schema())
    doc = json.loads(JsonRenderer().format(run))
    doc["results"][0]["status"] = "maybe"
    doc["results"][1]["surprise"] = 1
    del doc["results"][2]["findings"]
    doc["decision"] = "PERHAPS"
    messages = [e.message for e in v.iter_errors(doc)]
    assert len(messages) == 4, messages


def test_schema_declares_exactly_what_to_dict_writes(run: AuditRun) -> None:
    """The pydantic description cannot drift from model.py's serialisation."""
    doc = run.to_dict()
    fields = {f.alias or k for k, f in AuditDocument.model_fields.items()}
    assert fields == set(doc)
    assert set(ResultDocument.model_fields) == set(doc["results"][0])
    assert set(FindingDocument.model_fields) == set(doc["results"][0]["findings"][0])


def test_readme_configuration_example_validates() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = re.search(r"## Configuration file.*?```toml\n(.*?)```", readme, re.S)
    assert example is not None
    data = tomllib.loads(example.group(1))
    v = _validator(config_schema())
    assert list(v.iter_errors(data)) == []
    data["rate_limit"]["max_requestz"] = 5
    assert [e.message for e in v.iter_errors(data)] == [
        "Additional properties are not allowed ('max_requestz' was unexpected)"
    ]


def test_config_schema_agrees_with_the_loader(tmp_path: Path) -> None:
    v = _validator(config_schema())
    good = {"profile": "staging", "perf": {"requests": 50}, "docker": {"base_image": "local/python"}}
    bad = {"profile": "prod", "perf": {"requests": "many"}}
    assert list(v.iter_errors(good)) == []
    assert len(list(v.iter_errors(bad))) == 2
    for data, ok in ((good, True), (bad, False)):
        (tmp_path / "prodaudit.toml").write_text(
            "\n".join(
                f"{k} = {json.dumps(val)}" if not isinstance(val, dict) else
                f"[{k}]\n" + "\n".join(f"{kk} = {json.dumps(vv)}" for kk, vv in val.items())
                for k, val in sorted(data.items(), key=lambda kv: isinstance(kv[1], dict))
            ) + "\n",
            encoding="utf-8",
        )  # fmt: skip
        if ok:
            load_config({"repo": str(tmp_path)})
        else:
            with pytest.raises(ConfigError):
                load_config({"repo": str(tmp_path)})


def test_every_schema_renders_deterministically() -> None:
    for name in SCHEMAS:
        assert render(name) == render(name)
        assert json.loads(render(name))["$id"].endswith(name)
