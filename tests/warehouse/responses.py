"""PyPI's error answers as Pyramid renders an ``HTTPException`` whose status line carries the
message (``forklift/utils.py`` ``_exc_with_message``): the reason phrase, and a body chosen by
``Accept`` (JSON ``{"message", "code", "title"}``, HTML, or plain text)."""

from __future__ import annotations

import json
from html import escape

# Pyramid's HTTPException: title and explanation per status (the body template's parts).
PYRAMID = {
    200: ("OK", ""),
    308: ("Permanent Redirect", "The resource has been moved to"),
    400: (
        "Bad Request",
        "The server could not comply with the request since it is either malformed or "
        "otherwise incorrect.",
    ),
    403: ("Forbidden", "Access was denied to this resource."),
    404: ("Not Found", "The resource could not be found."),
    410: ("Gone", "This resource is no longer available.  No forwarding address is given."),
    413: ("Request Entity Too Large", "The body of your request was too large for this server."),
    500: (
        "Internal Server Error",
        "The server has either erred or is incapable of performing the requested operation.",
    ),
}


def negotiate(accept: str | None) -> str:
    """Pyramid's choice among text/html and application/json (else text/plain)."""
    if not accept:
        return "text/html"
    ranges = []
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((media.lower(), quality))

    def quality_of(offer: str) -> float:
        kind = offer.split("/")[0]
        best, best_specificity = 0.0, -1
        for media, quality in ranges:
            specificity = {offer: 2, f"{kind}/*": 1, "*/*": 0}.get(media, -1)
            if specificity > best_specificity:
                best, best_specificity = quality, specificity
        return best if best_specificity >= 0 else 0.0

    offers = [(quality_of(o), -i, o) for i, o in enumerate(["text/html", "application/json"])]
    quality, _, offer = max(offers)
    return offer if quality > 0 else "text/plain"


def pyramid_body(status: int, detail: str, accept: str | None) -> tuple[str, bytes]:
    """(content type, body) of a Pyramid HTTPException whose status line carries `detail`."""
    title, explanation = PYRAMID.get(status, ("Unknown Error", ""))
    reason = reason_phrase(detail) if detail else title
    status_line = f"{status} {reason}"
    kind = negotiate(accept)
    if kind == "application/json":
        body = f"{explanation}\n\n\n{detail}\n\n"
        return "application/json", json.dumps(
            {"message": body, "code": status_line, "title": title}
        ).encode()
    if kind == "text/html":
        body = f"{escape(explanation)}<br/><br/>\n{escape(detail)}\n\n"
        page = (
            f"<html>\n <head>\n  <title>{status_line}</title>\n </head>\n <body>\n"
            f"  <h1>{status_line}</h1>\n  {body}\n </body>\n</html>"
        )
        return "text/html; charset=UTF-8", page.encode()
    body = f"{explanation}\n\n\n{detail}\n\n"
    return "text/plain; charset=UTF-8", f"{status_line}\n\n{body}".encode()


def reason_phrase(message: str) -> str:
    """The status line's text: ISO-8859-1 with `?` for the rest (``forklift/utils.py``), on one
    line."""
    text = message.encode("iso-8859-1", "replace").decode("iso-8859-1")
    return text.replace("\r", " ").replace("\n", " ")
