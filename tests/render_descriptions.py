"""The oracle of the description differential test (tests/description.rs): readme_renderer's
reStructuredText render, exactly as Warehouse calls it, over JSON lines {"id", "text"} on stdin;
prints {"id", "renders", "message"} per line (message: the system message that halted docutils,
or "empty" when the render produced nothing). One process for the whole set, for speed; the
custom roles a description defines (`.. role::`), which docutils keeps in a module-wide registry,
are forgotten before the next one is rendered, as a fresh Warehouse process would.

    render_descriptions.py --tables   # docutils' directive and role tables, for the staleness test
"""

import importlib
import io
import json
import sys

from docutils.core import publish_parts
from docutils.utils import SystemMessage
from readme_renderer.rst import SETTINGS, ReadMeHTMLTranslator, render


def why(text):
    settings = dict(SETTINGS, warning_stream=io.StringIO())
    from docutils.writers.html5_polyglot import Writer

    writer = Writer()
    writer.translator_class = ReadMeHTMLTranslator
    try:
        publish_parts(text, writer=writer, settings_overrides=settings)
    except SystemMessage as error:
        return str(error).split("\n")[0]
    return "empty"


def tables():
    from docutils.parsers.rst import directives, roles
    from docutils.parsers.rst.languages import en

    out = {"directives": {}, "roles": sorted(set(en.roles) | set(roles._role_registry))}
    for name in sorted(en.directives):
        module, cls = directives._directive_registry[en.directives[name]]
        directive = getattr(importlib.import_module("docutils.parsers.rst.directives." + module), cls)
        out["directives"][name] = {
            "required_arguments": directive.required_arguments,
            "optional_arguments": directive.optional_arguments,
            "final_argument_whitespace": bool(directive.final_argument_whitespace),
            "has_content": bool(directive.has_content),
            "options": sorted(directive.option_spec) if directive.option_spec is not None else None,
        }
    print(json.dumps(out))


def main():
    if sys.argv[1:] == ["--tables"]:
        return tables()
    from docutils.parsers.rst import roles

    fresh_roles = dict(roles._roles)
    out = sys.stdout
    for line in sys.stdin:
        case = json.loads(line)
        text = case["text"]
        roles._roles.clear()
        roles._roles.update(fresh_roles)
        try:
            renders = render(text) is not None
        except RecursionError:
            # Deep nesting: Warehouse does not catch it, the upload fails (HTTP 500).
            renders, message = False, "RecursionError"
        else:
            message = None if renders else why(text)
        out.write(json.dumps({"id": case["id"], "renders": renders, "message": message}) + "\n")


if __name__ == "__main__":
    main()
