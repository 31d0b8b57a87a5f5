"""The docs cannot drift from the code.

* A ``python`` block whose lines are all indented quotes the library: each of its code lines
  must appear, as written, in ``neurolab/``.
* Any other ``python`` block runs, in order, in one namespace per page; when a ``text`` block
  follows it directly, the block's printed output must equal that text.
* A block right after a ``<!-- not run -->`` line is skipped (e.g. a minute of MNIST training).
* A block right after a ``<!-- needs: torch onnx -->`` line runs when those packages are
  installed (the ``test`` extra installs them); without one of them, the rest of the page is
  skipped, saying which is missing.
* Print options a page sets (``np.set_printoptions``) are undone after the page.
"""

import contextlib
import importlib.util
import io
import os
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)
SOURCE_LINES = {
    line.strip()
    for path in (ROOT / "neurolab").glob("*.py")
    for line in path.read_text().splitlines()
}


NEEDS = re.compile(r"<!-- needs: ([\w ]+) -->")


def blocks(text):
    """``(language, code, skipped, output, needs)`` for each fenced block; ``output`` is the text
    block after it, ``needs`` the packages a ``<!-- needs: ... -->`` line before it names."""
    found = list(FENCE.finditer(text))
    result = []
    for i, match in enumerate(found):
        before = (text[: match.start()].rstrip().splitlines()[-1:] or [""])[0].strip()
        skipped = before == "<!-- not run -->"
        needs = NEEDS.fullmatch(before).group(1).split() if NEEDS.fullmatch(before) else []
        output = None
        if i + 1 < len(found) and found[i + 1].group(1) == "text" and text[match.end() : found[i + 1].start()].strip() == "":
            output = found[i + 1].group(2)
        result.append((match.group(1), match.group(2), skipped, output, needs))
    return result


def is_quote(code: str) -> bool:
    lines = [line for line in code.splitlines() if line.strip()]
    return bool(lines) and all(line.startswith("    ") for line in lines)


def code_part(line: str) -> str:
    """The line without a trailing comment (quotes annotate lines with '# ...')."""
    return re.split(r"\s{2,}#\s", line.strip())[0].strip()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_quoted_library_lines_exist(page):
    for language, code, *_ in blocks(page.read_text()):
        if language != "python" or not is_quote(code):
            continue
        for line in code.splitlines():
            wanted = code_part(line)
            if not wanted or wanted == "..." or wanted.startswith("#"):
                continue
            assert any(source.startswith(wanted) for source in SOURCE_LINES), (
                f"{page.name} quotes a line that is not in neurolab/: {wanted!r}"
            )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_snippets_run_and_print_what_the_page_shows(page, tmp_path, monkeypatch):
    if "load_mnist(" in page.read_text() and not os.environ.get("NEUROLAB_DATA"):
        pytest.skip("the page loads MNIST: set NEUROLAB_DATA")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"doc_{page.stem}"}
    with np.printoptions():  # a page's np.set_printoptions (backprop.md has one) ends with the page
        for language, code, skipped, output, needs in blocks(page.read_text()):
            if language != "python" or skipped or is_quote(code):
                continue
            missing = [name for name in needs if importlib.util.find_spec(name) is None]
            if missing:  # later blocks build on this one: the rest of the page cannot run
                pytest.skip(f"{page.name} needs {', '.join(missing)}: pip install neurolab-nn[{missing[0]}]")
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(code, f"{page.name}", "exec"), namespace)
            if output is not None:
                got = [line.rstrip() for line in printed.getvalue().strip().splitlines()]
                want = [line.rstrip() for line in output.strip().splitlines()]
                assert got == want, f"{page.name}: a snippet printed something else than the page shows"
