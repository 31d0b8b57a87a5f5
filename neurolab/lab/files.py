"""The page's files: the package's ``static/`` directory, listed once when a server starts.

A request names a file of that list (``/static/<name>``, ``/`` for ``index.html``); no part
of a request becomes a path on the file system.
"""

from __future__ import annotations

from importlib import resources

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}
PAGE_POLICY = (  # the page's scripts and styles come from the lab only; no other site may frame it
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def page_files() -> dict:
    """``{name: (resource, content type)}`` for every file of a known type under ``static/`` (names use ``/``)."""
    found = {}

    def walk(directory, prefix: str) -> None:
        for entry in directory.iterdir():
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
                continue
            suffix = "." + entry.name.rsplit(".", 1)[-1].lower() if "." in entry.name else ""
            if suffix in CONTENT_TYPES:
                found[prefix + entry.name] = (entry, CONTENT_TYPES[suffix])

    walk(resources.files("neurolab.lab") / "static", "")
    return found
