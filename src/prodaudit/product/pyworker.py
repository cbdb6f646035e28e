"""A worker process of the parallel py_index pass (``python -m prodaudit.product.pyworker``). Not
a check module; see :mod:`prodaudit.product.pyparallel` for the protocol.

Reads a header ``(root, max_bytes, extractor modules)`` then chunks of module paths from standard
input (pickles) and answers each chunk with a list of :class:`~prodaudit.product.pyparallel.Row`
(or the exception the pass raised) on standard output, until its input ends.
"""

from __future__ import annotations

import gc
import importlib
import pickle
import signal
import sys
from pathlib import Path
from typing import BinaryIO

from prodaudit.files import FileIndex
from prodaudit.product.pyparallel import Row


def summarise_chunk(reader: FileIndex, max_bytes: int, rels: list[str]) -> list[Row]:
    """What the sequential pass does for each of ``rels``, as plain rows."""
    from prodaudit.product.pyindex import PyModule, extract, pack
    from prodaudit.pysource import parse_python

    out: list[Row] = []
    for rel in rels:
        reader.problems.clear()
        reader.outside_links.clear()
        text = reader.read_text(rel, max_bytes)
        problems, outside = tuple(reader.problems), tuple(reader.outside_links)
        if text is None:
            out.append(Row(rel, None, frozenset(), frozenset(), {}, None, problems, outside))
            continue
        parsed = parse_python(text, rel)
        outcome = parsed.outcome()
        if parsed.tree is None:
            out.append(Row(rel, None, frozenset(), frozenset(), {}, outcome, problems, outside))
            continue
        module = PyModule(rel, parsed.tree, text).index()
        summary = module.summary
        out.append(Row(rel, pack(text), summary.kinds, summary.names, extract(module), outcome,
                       problems, outside))
        del module, parsed
    return out


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    # pickles from the audit that started this process, over its private pipe
    root, max_bytes, modules = pickle.load(stdin)  # noqa: S301
    for name in modules:
        importlib.import_module(name)
    reader = FileIndex(root=Path(root))
    gc.disable()  # a parse makes no reference cycles: the collector would only walk the trees
    while True:
        try:
            rels = pickle.load(stdin)  # noqa: S301
        except EOFError:
            return
        try:
            answer: object = summarise_chunk(reader, max_bytes, rels)
        except Exception as exc:  # the parent raises it where the sequential pass would
            answer = exc
        pickle.dump(answer, stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()


if __name__ == "__main__":
    # the audit handles Ctrl-C and stops its workers; a worker printing a traceback would not
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print() must not break the stream of answers
    serve(sys.stdin.buffer, answers)
