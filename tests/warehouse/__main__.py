"""Command line of the PyPI-strict test index (run with ``tests/`` on ``PYTHONPATH``).

  python -m warehouse serve --packages DIR --state DIR [--file-size-limit BYTES]
      The HTTP index with pypiserver behind it; the upload token comes from the environment
      variable WAREHOUSE_FAKE_TOKEN. Prints one JSON line {"port", "storage_port"} when ready.
  python -m warehouse check [--json] [--drop-newer-fields] FILE... (or @LISTFILE, or @corpus)
      Judge each dist file as PyPI would when a correct client sends it (the form built from
      the file's own metadata as twine builds it, see client.py), each as the first file of a
      new release. --drop-newer-fields: the client leaves out every field newer than the
      declared Metadata-Version (twine drops only License-File below 2.4).
  python -m warehouse descriptions FILE... (or @LISTFILE, or @corpus)
      One JSON line per file: {file, content_type, description, renders, message}: the
      description and content type as PyPI receives them (UNKNOWN placeholders dropped) and
      whether PyPI renders it. `@corpus` stands for every file of the real-world corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

from . import client, rules
from .formdata import FormData, sanitize

TOKEN = "pypi-offline-check"


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def corpus_files() -> list[str]:
    """Every file of the real-world corpus (tests/corpus/releases.json, in target/corpus/)."""
    with open(os.path.join(ROOT, "tests", "corpus", "releases.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    return [
        os.path.join(ROOT, "target", "corpus", release["folder"], entry["filename"])
        for release in manifest["releases"]
        for entry in release["files"]
    ]


def expand(paths: list[str]) -> list[str]:
    files = []
    for path in paths:
        if path == "@corpus":
            files.extend(corpus_files())
            continue
        if path.startswith("@"):
            with open(path[1:], encoding="utf-8") as listing:
                files.extend(line.strip() for line in listing if line.strip())
        else:
            files.append(path)
    return files


def check_file(path: str, drop_newer_fields: bool = False) -> dict:
    result = {"file": path}
    try:
        form = client.upload_form(path, drop_newer_fields)
    except client.NoMetadata as problem:
        return result | {"verdict": "client:no-metadata", "status": None, "message": str(problem)}
    except client.UndecodableMetadata as problem:
        return result | {
            "verdict": "client:metadata-encoding",
            "status": None,
            "message": str(problem),
        }
    except Exception as error:  # an archive too broken for a client to read its metadata
        return result | {
            "verdict": "client:unreadable",
            "status": None,
            "message": f"{type(error).__name__}: {error}",
        }
    index = rules.Index(tokens={TOKEN})
    verdict = rules.validate_upload(form, index, username="__token__", password=TOKEN)
    return result | {
        "verdict": "accept" if verdict.accepted else verdict.rule,
        "status": verdict.status,
        "message": verdict.message,
    }


def describe(path: str) -> dict:
    result = {"file": path}
    try:
        fields = client.metadata_fields(client.read_metadata(path)[1])
    except Exception as error:
        return result | {"error": f"{type(error).__name__}: {error}"}
    form = FormData(fields)
    sanitize(form)  # PyPI drops UNKNOWN placeholders (a Description-Content-Type among them)
    values = {name: form.getall(name)[0] for name in form.keys()}
    description = values.get("description")
    content_type = values.get("description_content_type")
    result |= {"content_type": content_type, "description": description}
    if description is None:
        return result | {"renders": None, "message": None}
    verdict = rules.description_refusal(
        type("Meta", (), {"description": description, "description_content_type": content_type})
    )
    return result | {
        "renders": verdict is None,
        "message": verdict.message if verdict else None,
    }


def main(argv=None) -> int:
    warnings.simplefilter("ignore")
    parser = argparse.ArgumentParser(prog="python -m warehouse", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP index")
    serve.add_argument("--packages", required=True, help="pypiserver's package folder")
    serve.add_argument("--state", required=True, help="a folder for the htpasswd file")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument(
        "--file-size-limit",
        type=int,
        default=int(os.environ.get("WAREHOUSE_FAKE_FILE_SIZE_LIMIT", rules.DEFAULT_FILE_SIZE_LIMIT)),
        help="bytes (default 100 MiB, or $WAREHOUSE_FAKE_FILE_SIZE_LIMIT)",
    )
    serve.add_argument("--exit-with-stdin", action="store_true",
                       help="exit when stdin is closed (the parent is gone)")
    check = commands.add_parser("check", help="judge dist files offline")
    check.add_argument("--json", action="store_true", help="one JSON line per file")
    check.add_argument(
        "--drop-newer-fields",
        action="store_true",
        help="leave every field newer than the declared Metadata-Version out of the form "
        "(default: only License-File below 2.4, as twine does)",
    )
    check.add_argument("files", nargs="+", help="dist files, @LISTFILE, or @corpus")
    descriptions = commands.add_parser("descriptions", help="dump descriptions as JSON lines")
    descriptions.add_argument("files", nargs="+", help="dist files, @LISTFILE, or @corpus")
    args = parser.parse_args(argv)

    if args.command == "serve":
        from . import server

        token = os.environ.get("WAREHOUSE_FAKE_TOKEN")
        if not token:
            parser.error("set WAREHOUSE_FAKE_TOKEN to the upload token")
        server.serve(args.packages, args.state, token, args.file_size_limit, args.port,
                     args.exit_with_stdin)
        return 0
    if args.command == "check":
        refused = 0
        for path in expand(args.files):
            result = check_file(path, args.drop_newer_fields)
            refused += result["verdict"] != "accept"
            if args.json:
                print(json.dumps(result), flush=True)
            else:
                print(f"{os.path.basename(path)}: {result['verdict']}"
                      + (f" ({result['status']}) {result['message']}" if result["message"] else ""))
        return 1 if refused else 0
    for path in expand(args.files):
        print(json.dumps(describe(path)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
