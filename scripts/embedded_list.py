"""Shared by the scripts that regenerate a list the binary embeds (update-classifiers.py,
update-license-ids.py, update-pygments-lexers.py): write the list, or print it with `--print`
for the staleness tests, which compare it with the embedded file."""

import sys
from pathlib import Path


def write_or_print(target: Path, text: str, summary: str) -> None:
    """Print `text` with `--print`; otherwise write it to `target` and say what it holds."""
    if sys.argv[1:] == ["--print"]:
        sys.stdout.write(text)
    else:
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target} ({summary})")
