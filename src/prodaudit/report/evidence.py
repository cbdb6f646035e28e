"""Evidence files a renderer embeds (the readiness screenshots), loaded once by the writer.

Renderers are pure (``AuditRun -> str``); reading a PNG is I/O, so ``write_reports`` and
``rerender`` call :func:`load_screenshots` for the run's report directory and hand the bytes to
``HtmlRenderer(screenshots=...)``. Only files inside ``<run dir>/evidence/`` are read, looked up by
the base name of the path the check exported (a crafted ``audit.json`` cannot make the writer read
anything else), only real PNGs, and within a per-image and a total size cap; whatever is left out
is kept with the reason, which the page shows next to the screenshot's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from prodaudit.model import AuditRun
from prodaudit.report.facts_view import SCREENSHOTS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: one screenshot at most this big is embedded (a full-page 1280 px capture is ~100-500 KB)
MAX_IMAGE_BYTES = 2 * 1024 * 1024
#: all screenshots of one page together
MAX_TOTAL_BYTES = 6 * 1024 * 1024


@dataclass(frozen=True)
class Screenshots:
    """PNG bytes by screenshot name, and the reason for every screenshot not embedded."""

    images: Mapping[str, bytes] = field(default_factory=dict)
    omitted: Mapping[str, str] = field(default_factory=dict)


def load_screenshots(
    run: AuditRun,
    run_dir: Path,
    max_image_bytes: int = MAX_IMAGE_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> Screenshots:
    """The screenshots named by ``facts["readiness.screenshots"]``, read from ``run_dir/evidence``."""
    shots = run.facts.get(SCREENSHOTS) if isinstance(run.facts, Mapping) else None
    if not isinstance(shots, Mapping):
        return Screenshots()
    evidence = (run_dir / "evidence").resolve()
    images: dict[str, bytes] = {}
    omitted: dict[str, str] = {}
    total = 0
    for name, exported in sorted(shots.items(), key=lambda kv: str(kv[0])):
        key = str(name)
        base = PurePath(str(exported)).name
        path = evidence / base
        if not base.lower().endswith(".png"):
            omitted[key] = "not a PNG file name"
            continue
        if not path.is_file():
            omitted[key] = f"evidence/{base} is not in this report directory"
            continue
        size = path.stat().st_size
        if size > max_image_bytes:
            omitted[key] = f"{size // 1024} KB, over the {max_image_bytes // 1024} KB embedding cap"
            continue
        if total + size > max_total_bytes:
            omitted[key] = (
                f"the page already embeds {total // 1024} KB of screenshots "
                f"(cap {max_total_bytes // 1024} KB)"
            )
            continue
        data = path.read_bytes()
        if not data.startswith(PNG_MAGIC):
            omitted[key] = "the file is not a PNG image"
            continue
        images[key] = data
        total += size
    return Screenshots(images, omitted)
