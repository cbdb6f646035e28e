"""CFG-106–107: Dockerfile ``RUN`` rules — piped installers, disabled TLS verification, lean and
reproducible package installs. Where a rule overlaps one of hadolint's, the finding's ``rule`` is
hadolint's id (DL4006, DL3009, DL3015, DL3042, DL3013, DL3019)."""

from __future__ import annotations

import re
import shlex

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    check,
    failed,
    passed,
    warned,
)
from prodaudit.checks.config._dockerfiles import parsed, shipped_stages
from prodaudit.product.dockerfiles import (
    Instruction,
    chain,
)
from prodaudit.product.envgraph import env_pairs

OFF = ("0", "false", "off", "no")


PIPE_SH_RE = re.compile(r"\b(curl|wget)\b[^|;&]*\|\s*(sudo\s+)?(ba|z|da)?sh\b")


DOWNLOAD_RE = re.compile(
    r"\b(?:curl|wget)\b(?=[^;&|\n]*https?://)(?:[^;&|\n]*?\s(?:-o|-O|--output|"
    r"--output-document)[=\s]+(?P<out>\S+))?[^;&|\n]*?(?P<url>https?://[^\s;&|\"']+)"
    r"(?:[^;&|\n]*?\s(?:-o|-O|--output|--output-document)[=\s]+(?P<out2>\S+))?")
VERIFY_RE = re.compile(r"\b(sha(1|224|256|384|512)sum|shasum|md5sum|gpg\s+--verify|gpgv|"
                       r"cosign\s+verify|minisign|--checksum|sha256\s*=|checksum)\b", re.I)
TLS_OFF_RE = re.compile(
    r"(\bcurl\b[^;&|]*\s(-k|--insecure)\b|--no-check-certificate|--trusted-host\b|"
    r"PYTHONHTTPSVERIFY=0|NODE_TLS_REJECT_UNAUTHORIZED=0|GIT_SSL_NO_VERIFY=(1|true)|"
    r"strict-ssl\s+false|sslverify\s*=?\s*(0|false)|http\.sslVerify\s+false|--allow-insecure)",
    re.I,
)


def _unverified_download(text: str) -> str | None:
    """The URL a RUN downloads to a file that it then makes executable, runs or puts on the
    PATH, when the same RUN verifies no checksum or signature."""
    if VERIFY_RE.search(text):
        return None
    for m in DOWNLOAD_RE.finditer(text):
        target = m.group("out") or m.group("out2") or m.group("url").rsplit("/", 1)[-1]
        name = target.rsplit("/", 1)[-1]
        if not name:
            continue
        runs = re.search(rf"(chmod\s+[^;&|]*\+?x[^;&|]*{re.escape(name)}|\b(ba|z|da)?sh\s+"
                         rf"\S*{re.escape(name)}|\./{re.escape(name)}\b|/(usr/)?(local/)?s?bin/"
                         rf"{re.escape(name)}\b)", text)
        if runs or re.search(r"/(usr/)?(local/)?s?bin/", target):
            return m.group("url")
    return None


def _pipefail_active(stage_ins: list[Instruction], upto: Instruction) -> bool:
    active = False
    for ins in stage_ins:
        if ins is upto:
            break
        if ins.name == "SHELL":
            active = "pipefail" in ins.value
    return active


@check("CFG-106", "No piped installers or disabled TLS verification in RUN",
       severity=Severity.HIGH, needs=("repo",), checklist=("3.1.3",),
       references=("CWE-494", "CWE-295", "hadolint DL4006"), evidence=Evidence.PARSED)
def run_safety(ctx: Context) -> list[Finding]:
    """``RUN`` does not pipe a download into a shell (``curl … | sh``), does not disable TLS
    verification (``curl -k``, ``--no-check-certificate``, ``pip --trusted-host``,
    ``NODE_TLS_REJECT_UNAUTHORIZED=0`` ...), does not download a script or binary that it then
    makes executable, runs or installs on the PATH without verifying a checksum or signature in
    the same RUN (``wget -O /usr/bin/wait-for https://…/master/wait-for``), and a RUN with a pipe
    sets ``-o pipefail`` (WARN, hadolint DL4006) so a failing download does not go unnoticed.

    A piped installer runs whatever the server (or a man in the middle, when TLS is off) sends,
    unverified, as root in your build.

    Remediation: download to a file, verify its checksum or signature, then run it; keep TLS
    verification on (install the CA certificate instead); ``SHELL ["/bin/bash", "-o",
    "pipefail", "-c"]`` before piped RUNs.
    """
    out: list[Finding] = []
    runs = 0
    for df in parsed(ctx, out):
        for st in df.stages:
            for ins in st.instructions:
                if ins.name not in ("RUN", "ENV", "ARG"):
                    continue
                text = ins.content if "<<" in ins.value else ins.value
                if ins.name == "RUN":
                    runs += 1
                    m = PIPE_SH_RE.search(text)
                    if m:
                        out.append(failed(f"RUN pipes a download into a shell ({m.group(0)[:80]})",
                                          location=df.loc(ins.line)))
                unverified = _unverified_download(text) if ins.name == "RUN" and not m else None
                if unverified:
                    out.append(failed(f"RUN downloads {unverified} and installs or runs it without "
                                      "verifying a checksum or signature",
                                      location=df.loc(ins.line)))
                m2 = TLS_OFF_RE.search(text)
                if m2:
                    out.append(failed(f"{ins.name} disables TLS verification ({m2.group(0)[:60]})",
                                      location=df.loc(ins.line)))
                if ins.name == "RUN" and not ins.value.lstrip().startswith("["):
                    body = re.sub(r"\|\|", "", text)
                    if "|" in body and "pipefail" not in text and not _pipefail_active(
                            st.instructions, ins):
                        out.append(warned("RUN with a pipe but without -o pipefail",
                                          location=df.loc(ins.line), rule="DL4006"))
    if not out:
        out.append(passed(f"{runs} RUN instruction(s): no piped installer, TLS verification on"))
    return out


def _segments(cmd: str) -> list[str]:
    return [s.strip() for s in re.split(r"&&|;|\|\||\n", cmd) if s.strip()]


@check("CFG-107", "Package installs are lean and reproducible", severity=Severity.LOW,
       needs=("repo",), checklist=("3.1.1", "3.1.4"),
       references=("hadolint DL3009", "DL3015", "DL3042", "DL3013", "DL3019"),
       evidence=Evidence.PARSED)
def package_hygiene(ctx: Context) -> list[Finding]:
    """``apt-get install`` uses ``--no-install-recommends`` (DL3015) and the same RUN removes
    ``/var/lib/apt/lists`` in final stages (DL3009); ``pip install`` uses ``--no-cache-dir`` (or
    its prefix ``--no-cache``, which pip accepts) or ``PIP_NO_CACHE_DIR`` (DL3042); ``apk add``
    uses ``--no-cache`` (DL3019). Unpinned pip packages on the command line (DL3013) are WARNs.
    Distribution packages are not required to be pinned (hadolint DL3008/DL3018): old versions
    leave the archives, so version pins break rebuilds; the pinned base image (CFG-100) decides
    the package set.

    Recommends and caches add tens to hundreds of megabytes and packages nobody reviews;
    unpinned packages make builds irreproducible.

    Remediation: ``apt-get update && apt-get install -y --no-install-recommends pkg && rm
    -rf /var/lib/apt/lists/*``; ``pip install --no-cache-dir -r requirements.txt``.
    """
    out: list[Finding] = []
    runs = 0
    for df in parsed(ctx, out):
        final_stages = {id(s) for t in shipped_stages(ctx, df) for s in chain(df, t)}
        for st in df.stages:
            pip_env = any(
                ins.name == "ENV" and any(k == "PIP_NO_CACHE_DIR" and v.lower() not in OFF
                                          for k, v in env_pairs(ins.value))
                for s in chain(df, st) for ins in s.instructions)
            for ins in st.instructions:
                if ins.name != "RUN":
                    continue
                runs += 1
                text = ins.content if "<<" in ins.value else ins.value
                cache_mount = "--mount=type=cache" in text
                for seg in _segments(text):
                    if (re.search(r"\bapt(-get)?\s+(-\S+\s+)*install\b", seg)
                            and "--no-install-recommends" not in seg
                            and "Install-Recommends" not in seg):
                        out.append(failed("apt-get install without --no-install-recommends",
                                          location=df.loc(ins.line), rule="DL3015"))
                    if re.search(r"\bpip3?\s+install\b|-m\s+pip\s+install\b", seg):
                        # pip takes an option's unambiguous prefix: --no-cache is --no-cache-dir
                        if ("--no-cache" not in seg and not pip_env and not cache_mount
                                and "PIP_NO_CACHE_DIR" not in text):
                            out.append(failed("pip install without --no-cache-dir",
                                              location=df.loc(ins.line), rule="DL3042"))
                        words = _words(seg.split("install", 1)[1])
                        if not any(w in ("-r", "--requirement", "-e", ".") or w.startswith("-r")
                                   for w in words):
                            loose = [w for w in words if not w.startswith("-") and "==" not in w
                                     and not w.startswith(("/", ".", "$")) and not w.endswith(
                                         (".whl", ".tar.gz"))]
                            if loose:
                                out.append(warned(f"pip install of unpinned packages: "
                                                  f"{' '.join(loose[:5])}",
                                                  location=df.loc(ins.line), rule="DL3013"))
                    if re.search(r"\bapk\s+add\b", seg) and "--no-cache" not in seg:
                        out.append(failed("apk add without --no-cache",
                                          location=df.loc(ins.line), rule="DL3019"))
                if (id(st) in final_stages and re.search(r"\bapt-get\s+(-\S+\s+)*install\b", text)
                        and "/var/lib/apt/lists" not in text and not cache_mount):
                    out.append(failed("apt lists not removed in the same RUN "
                                      "(rm -rf /var/lib/apt/lists/*)",
                                      location=df.loc(ins.line), rule="DL3009"))
    if not out:
        out.append(passed(f"{runs} RUN instruction(s): package installs are lean"))
    return out


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=False)
    except ValueError:
        return text.split()
