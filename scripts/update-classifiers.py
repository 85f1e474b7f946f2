#!/usr/bin/env python3
"""Write src/distribution/trove-classifiers.txt, the classifier list the binary embeds, from the
`trove-classifiers` package PyPI validates uploads with (pinned in
tests/requirements-warehouse.txt):

    target/test-env/venv/bin/python scripts/update-classifiers.py           # rewrite the file
    target/test-env/venv/bin/python scripts/update-classifiers.py --print   # print it instead

One classifier per line, sorted as `trove_classifiers.all_classifiers`; a deprecated one is
followed by a tab, `deprecated`, and a tab before each replacement PyPI suggests. The test
`classifier_list_is_current` fails when the file and the pinned package disagree.
"""

import importlib.metadata
from pathlib import Path

import trove_classifiers

from embedded_list import write_or_print

TARGET = Path(__file__).resolve().parent.parent / "src" / "distribution" / "trove-classifiers.txt"


def render() -> str:
    version = importlib.metadata.version("trove-classifiers")
    lines = [
        f"# trove-classifiers {version}: the classifiers PyPI accepts.",
        "# Written by scripts/update-classifiers.py; do not edit by hand.",
    ]
    for classifier in trove_classifiers.all_classifiers:
        if "\t" in classifier or "\n" in classifier:
            raise SystemExit(f"unexpected character in classifier {classifier!r}")
        replacements = trove_classifiers.deprecated_classifiers.get(classifier)
        if replacements is None:
            lines.append(classifier)
        else:
            lines.append("\t".join([classifier, "deprecated", *replacements]))
    return "\n".join(lines) + "\n"


def main() -> None:
    text = render()
    write_or_print(TARGET, text, f"{text.count(chr(10)) - 2} classifiers")


if __name__ == "__main__":
    main()
