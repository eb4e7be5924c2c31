"""`erpsync apps new`: render a new sync app project from the templates shipped in this package.

Templates live in `template/` as `*.tmpl` files (so no tool mistakes them for the host's own
code) and are package data of the host wheel. Placeholders are `{{name}}` tokens replaced
literally, which leaves GitHub Actions' `${{ ... }}` expressions alone. Path parts are mapped:
`package` -> the import package, `dot-github` -> `.github`, `dot-gitignore` -> `.gitignore`.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from host.connector import CONNECTOR_ID_PATTERN

TEMPLATE_SUFFIX = ".tmpl"
PATH_PARTS = {"dot-github": ".github", "dot-gitignore": ".gitignore"}
TOKEN = re.compile(r"\{\{([a-z_]+)\}\}")


class ScaffoldError(Exception):
    """The project cannot be created; the message is one line for the user."""


def project_names(name: str, *, vendor: str, title: str | None = None) -> dict[str, str]:
    """Every name the templates use, derived from connector id `name`.

    `acme` -> distribution erpsync-acme, package erpsync_acme, class AcmeConnector.
    """
    if not CONNECTOR_ID_PATTERN.match(name):
        raise ScaffoldError(
            f"{name!r} is not a connector id: use lowercase letters, digits, '-' or '_', "
            "starting with a letter (e.g. acme or acme-erp)"
        )
    if not vendor.strip():
        raise ScaffoldError("--vendor must not be empty")
    if title is not None and (
        not title.strip() or set(title) & set('"\\{}') or not title.isprintable()
    ):
        raise ScaffoldError(f"--title {title!r} must be printable text without quotes or braces")
    stem = name[len("erpsync-") :] if name.startswith("erpsync-") and len(name) > 8 else name
    distribution = f"erpsync-{stem}"
    words = re.split(r"[-_]+", stem)
    shown = title or " ".join(w.capitalize() for w in words) + " ERP"
    from host import __version__

    return {
        "connector_id": name,
        "app_name": name,
        "distribution": distribution,
        "package": distribution.replace("-", "_"),
        "class_name": "".join(w.capitalize() for w in words) + "Connector",
        "title": shown,
        "title_repr": json.dumps(shown, ensure_ascii=False),
        "vendor": vendor.strip(),
        "vendor_repr": json.dumps(vendor.strip(), ensure_ascii=False),
        "vendor_toml": json.dumps(vendor.strip()),
        "host_version": __version__,
    }


def template_root() -> Traversable:
    return resources.files("host.scaffold") / "template"


def _walk(node: Traversable, parts: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    found: list[tuple[tuple[str, ...], str]] = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.is_dir():
            if child.name != "__pycache__":
                found += _walk(child, (*parts, child.name))
        elif child.name.endswith(TEMPLATE_SUFFIX):
            found.append(((*parts, child.name), child.read_text(encoding="utf-8")))
    return found


def render_text(text: str, names: dict[str, str]) -> str:
    """Replace every `{{name}}` token; an unknown token is a bug in the template."""

    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in names:
            raise ScaffoldError(f"template token {{{{{key}}}}} has no value")
        return names[key]

    return TOKEN.sub(one, text)


def target_path(parts: tuple[str, ...], names: dict[str, str]) -> Path:
    mapped = [names["package"] if p == "package" else PATH_PARTS.get(p, p) for p in parts]
    mapped[-1] = mapped[-1][: -len(TEMPLATE_SUFFIX)]
    mapped[-1] = PATH_PARTS.get(mapped[-1], mapped[-1])
    return Path(*mapped)


def render_project(directory: Path, names: dict[str, str]) -> list[Path]:
    """Write the project into `directory` (missing or empty); returns the files written."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ScaffoldError(f"{directory} already exists and is not an empty directory")
    templates = _walk(template_root())
    if not templates:
        raise ScaffoldError("the app templates are missing from this erpsync-host installation")
    rendered = [(directory / target_path(p, names), render_text(t, names)) for p, t in templates]
    written: list[Path] = []
    try:
        for path, text in rendered:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise ScaffoldError(f"cannot write {exc.filename}: {exc.strerror}") from exc
    return written
