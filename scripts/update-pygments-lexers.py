#!/usr/bin/env python3
"""Write src/distribution/rst/pygments-lexers.txt, the Pygments lexer names the binary embeds,
from the `pygments` package PyPI renders descriptions with (pinned in
tests/requirements-warehouse.txt):

    target/test-env/venv/bin/python scripts/update-pygments-lexers.py           # rewrite the file
    target/test-env/venv/bin/python scripts/update-pygments-lexers.py --print   # print it instead

One name a line, sorted: exactly the keys `pygments.lexers.get_lexer_by_name` accepts once it has
lower-cased its argument (a lexer's aliases; not its display name, nor file names or MIME
types). docutils looks a `code` role's `:language:` up there. Lexers of plugins are left out:
Warehouse installs none. The test `the_embedded_pygments_lexer_names_are_current` fails when the
file and the pinned package disagree.
"""

import importlib.metadata
from pathlib import Path

from pygments.lexers import LEXERS

from embedded_list import write_or_print

TARGET = Path(__file__).resolve().parent.parent / "src" / "distribution" / "rst" / "pygments-lexers.txt"


def render() -> str:
    version = importlib.metadata.version("pygments")
    names = set()
    for _module, _name, aliases, _filenames, _mimetypes in LEXERS.values():
        for alias in aliases:
            if any(c.isspace() for c in alias):
                raise SystemExit(f"unexpected whitespace in lexer alias {alias!r}")
            # get_lexer_by_name compares the lower-cased argument: an alias with capitals is
            # never found.
            if alias == alias.lower():
                names.add(alias)
    lines = [
        f"# Pygments {version}: the names get_lexer_by_name finds (after lower-casing its argument).",
        "# Written by scripts/update-pygments-lexers.py; do not edit by hand.",
        *sorted(names),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    text = render()
    write_or_print(TARGET, text, f"{text.count(chr(10)) - 2} names")


if __name__ == "__main__":
    main()
