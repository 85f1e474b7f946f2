#!/usr/bin/env python3
"""Write src/distribution/spdx-ids.txt, the SPDX license and exception identifiers the binary embeds,
from the `packaging` PyPI validates `License-Expression` with (pinned in
tests/requirements-warehouse.txt):

    target/test-env/venv/bin/python scripts/update-license-ids.py           # rewrite the file
    target/test-env/venv/bin/python scripts/update-license-ids.py --print   # print it instead

One identifier per line, `license <id>` or `exception <id>`, sorted. The test
`the_embedded_license_ids_are_current` fails when the file and the pinned package disagree.
"""

import importlib.metadata
from pathlib import Path

from packaging.licenses._spdx import EXCEPTIONS, LICENSES

from embedded_list import write_or_print

TARGET = Path(__file__).resolve().parent.parent / "src" / "distribution" / "spdx-ids.txt"


def render() -> str:
    version = importlib.metadata.version("packaging")
    lines = [
        f"# packaging {version}: the SPDX identifiers PyPI accepts in License-Expression.",
        "# Written by scripts/update-license-ids.py; do not edit by hand.",
    ]
    lines += [f"license {entry['id']}" for entry in sorted(LICENSES.values(), key=lambda e: e["id"])]
    lines += [f"exception {entry['id']}" for entry in sorted(EXCEPTIONS.values(), key=lambda e: e["id"])]
    return "\n".join(lines) + "\n"


def main() -> None:
    text = render()
    write_or_print(TARGET, text, f"{len(LICENSES)} licenses, {len(EXCEPTIONS)} exceptions")


if __name__ == "__main__":
    main()
