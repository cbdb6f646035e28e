"""Which API operations call an LLM (and so cost money per call), shared by the functional and
security suites.

Detection uses whole words of the path, the operationId and the tags (``sendTestEmail`` is
send, test, email: never "ai" inside "email") and the shape of the request body (a prompt to
send). A body shaped like a chat-completion request — ``messages`` whose items carry ``role``
and ``content``, or a ``model`` next to a ``prompt``/``messages``/``input`` — is an LLM call
whatever the path is named. A configured ``llm.endpoints`` always wins over detection.
"""

from __future__ import annotations

import re
from typing import Any

from prodaudit.openapi import OpenAPIDoc, Operation

STRONG_WORDS = frozenset(
    {"chat", "chats", "completion", "completions", "llm", "prompt", "prompts", "assistant", "ai",
     "gpt", "openai"}
)
WEAK_WORDS = frozenset({"generate", "generation", "ask", "answer", "answers"})
AUTH_WORDS = frozenset(
    {"login", "logout", "signin", "signup", "register", "token", "refresh", "password", "jwt",
     "revoke"}
)
PROMPT_FIELDS = ("messages", "prompt", "message", "input", "query", "question", "text", "content")
_WORD_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def words_of(*texts: str) -> set[str]:
    """Lower-case whole words of paths, ids and tags (``sendTestEmail`` -> send, test, email)."""
    return {w.lower() for text in texts for w in _WORD_RE.findall(text)}


def prompt_shaped(op: Operation, doc: OpenAPIDoc | None = None) -> bool | None:
    """Whether the JSON request body carries a prompt (``messages`` or a prompt-like text
    field); None when the operation declares no usable body schema."""
    schema = _body_schema(op, doc)
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict) or not props:
        return None
    return any(name in props for name in PROMPT_FIELDS)


def _body_schema(op: Operation, doc: OpenAPIDoc | None) -> dict[str, Any] | None:
    content = (op.request_body or {}).get("content") or {}
    media = next((m for k, m in content.items() if "json" in k.lower()), None)
    schema = media.get("schema") if isinstance(media, dict) else None
    if doc is not None and isinstance(schema, dict):
        schema = doc.resolve(schema)
    return schema if isinstance(schema, dict) else None


def chat_shaped(op: Operation, doc: OpenAPIDoc | None = None) -> bool:
    """The JSON request body has the shape of a chat-completion request: ``messages`` as an
    array of objects with ``role`` and ``content``, or ``model`` next to ``messages``,
    ``prompt`` or ``input`` (OpenAI-compatible requests)."""
    schema = _body_schema(op, doc)
    props = schema.get("properties") if schema is not None else None
    if not isinstance(props, dict):
        return False
    if "model" in props and any(k in props for k in ("messages", "prompt", "input")):
        return True
    messages = props.get("messages")
    items = messages.get("items") if isinstance(messages, dict) else None
    if isinstance(items, dict) and doc is not None:
        items = doc.resolve(items)
    item_props = items.get("properties") if isinstance(items, dict) else None
    return isinstance(item_props, dict) and {"role", "content"} <= set(item_props)


def is_llm_operation(op: Operation, doc: OpenAPIDoc | None = None) -> bool:
    """A POST operation that calls an LLM: a strong word (chat, completion, llm, prompt, ai …)
    or a weak one (generate, ask …) as a whole word of its path, id or tags, and a request body
    shaped like a prompt; without a body schema only a strong word in the path counts.
    Authentication operations never are."""
    if op.method != "POST":
        return False
    path_words = words_of(op.path)
    words = path_words | words_of(op.operation_id, *op.tags)
    if path_words & AUTH_WORDS:
        return False
    if chat_shaped(op, doc):
        return True
    shaped = prompt_shaped(op, doc)
    if shaped is None:
        return bool(path_words & STRONG_WORDS)
    return shaped and bool(words & (STRONG_WORDS | WEAK_WORDS))


def llm_operations(doc: OpenAPIDoc) -> list[Operation]:
    """The document's LLM operations, the most chat-like first."""
    ops = [op for op in doc.operations if is_llm_operation(op, doc)]
    return sorted(
        ops, key=lambda o: (not (words_of(o.path) & {"chat", "completion", "completions"}),
                            len(o.path))
    )
