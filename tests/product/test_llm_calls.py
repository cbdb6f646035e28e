"""prodaudit.product.llm_calls: which project functions reach an LLM (parsed sources only)."""

from __future__ import annotations

import ast

from prodaudit.product.llm_calls import llm_functions, reaches_llm

CLIENT = '''import httpx

KEY = None
BASE = "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"

if not KEY:
    async def ask(prompt):
        return "not configured"
else:
    async def ask(prompt):
        async with httpx.AsyncClient(timeout=60) as c:
            return (await c.post(BASE, json={"messages": []})).json()


def send(payload):
    return httpx.post("https://hooks.example.test/notify", json=payload)
'''
SDK = '''from openai import OpenAI

client = OpenAI()


def summarise(text):
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])


def send(payload):
    return summarise(payload)
'''


def _mods(**files: str) -> list[tuple[str, ast.Module]]:
    return [(rel.replace("__", "/") + ".py", ast.parse(src)) for rel, src in files.items()]


def test_alternative_definitions_of_one_module_count_together() -> None:
    known = llm_functions(_mods(llm_client=CLIENT))
    assert "ask" in known and "generativelanguage.googleapis.com" in known["ask"]
    assert "send" not in known  # a webhook, not a provider


def test_a_name_defined_elsewhere_without_an_llm_call_is_ambiguous() -> None:
    known = llm_functions(_mods(llm_client=CLIENT, app__summary=SDK))
    assert "summarise" in known
    assert "send" not in known  # one module's send reaches the model, the other's does not
    handler = ast.parse("async def route(body):\n    return await ask(body['q'])\n").body[0]
    assert reaches_llm(handler, known).startswith("ask() → ")
    plain = ast.parse("async def route(body):\n    return send(body)\n").body[0]
    assert reaches_llm(plain, known) == ""
