"""The upload form as Warehouse sees it.

Warehouse reads ``request.POST``, a webob ``MultiDict``: repeated keys stay repeated, ``get``
and ``[]`` answer the LAST value of a key, ``getall`` every value, deleting a key removes all
its values and assigning one replaces them all by a single value at the end. The ``sanitize``
decorator (``forklift/decorators.py``) then drops ``UNKNOWN`` placeholders and escapes NUL with
exactly those semantics, so a multi-valued field behaves as it does on PyPI.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class FileField:
    """A form part sent as a file (``filename=`` in its Content-Disposition)."""

    filename: str
    # The part's media type as cgi.FieldStorage reports it: `text/plain` when the part has no
    # Content-Type header, "" when the header is empty; not lower-cased.
    content_type: str
    data: bytes


class FormData:
    """An ordered multi-map with webob ``MultiDict`` semantics."""

    def __init__(self, items=()):
        self._items: list[tuple[str, object]] = list(items)

    def __iter__(self):
        # webob iterates over every item's key, duplicates included.
        return iter([key for key, _ in self._items])

    def __contains__(self, key):
        return any(k == key for k, _ in self._items)

    def __getitem__(self, key):
        for k, value in reversed(self._items):
            if k == key:
                return value
        raise KeyError(key)

    def __setitem__(self, key, value):
        self._items = [(k, v) for k, v in self._items if k != key]
        self._items.append((key, value))

    def __delitem__(self, key):
        if key not in self:
            raise KeyError(key)
        self._items = [(k, v) for k, v in self._items if k != key]

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def getall(self, key):
        return [v for k, v in self._items if k == key]

    def keys(self):
        """Each key once, in first-seen order."""
        return list(dict.fromkeys(k for k, _ in self._items))

    def items(self):
        return list(self._items)


class MultipartError(ValueError):
    """The body is not a multipart/form-data body we can read."""


def _split_params(header: str) -> tuple[str, dict[str, str]]:
    """``value; key="quoted; value"; other=x`` -> (value, {key: ..., other: ...})."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for char in header:
        if escaped:
            current.append(char)
            escaped = False
        elif quoted and char == "\\":
            current.append(char)
            escaped = True
        elif char == '"':
            quoted = not quoted
            current.append(char)
        elif char == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    main = parts[0].strip().lower()
    params: dict[str, str] = {}
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\\\', '\\').replace('\\"', '"')
        params[key.strip().lower()] = value
    return main, params


def boundary_of(content_type: str | None) -> bytes:
    kind, params = _split_params(content_type or "")
    if kind != "multipart/form-data" or not params.get("boundary"):
        raise MultipartError("not a multipart/form-data request")
    return params["boundary"].encode("latin-1")


def parse_multipart(body: bytes, content_type: str | None) -> FormData:
    """Parse a ``multipart/form-data`` body into a :class:`FormData` (text values decoded as
    UTF-8; parts with a file name become :class:`FileField`)."""
    delimiter = b"--" + boundary_of(content_type)
    start = body.find(delimiter)
    if start < 0:
        raise MultipartError("the boundary does not occur in the body")
    items: list[tuple[str, object]] = []
    position = start + len(delimiter)
    while True:
        if body[position : position + 2] == b"--":
            break  # the closing delimiter
        if body[position : position + 2] != b"\r\n":
            raise MultipartError("a boundary line is not followed by CRLF")
        position += 2
        header_end = body.find(b"\r\n\r\n", position)
        if header_end < 0:
            raise MultipartError("a part has no end of headers")
        headers: dict[str, str] = {}
        for line in body[position:header_end].split(b"\r\n"):
            name, sep, value = line.decode("utf-8", "replace").partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        data_start = header_end + 4
        next_delimiter = body.find(b"\r\n" + delimiter, data_start)
        if next_delimiter < 0:
            raise MultipartError("a part is not closed by the boundary")
        data = body[data_start:next_delimiter]
        position = next_delimiter + 2 + len(delimiter)
        disposition, params = _split_params(headers.get("content-disposition", ""))
        if disposition != "form-data" or "name" not in params:
            continue
        if "filename" in params:
            part_type = headers.get("content-type")
            part_type = "text/plain" if part_type is None else part_type.split(";")[0].strip()
            items.append((params["name"], FileField(params["filename"], part_type, data)))
        else:
            items.append((params["name"], data.decode("utf-8", "replace")))
    return FormData(items)


def sanitize(form: FormData) -> str | None:
    """Warehouse's ``sanitize`` decorator, applied in place. Returns the 400 message when a
    text field was sent as a file, else None."""
    for key in list(form):
        value = form.get(key)
        if isinstance(value, str):
            if value.strip() == "UNKNOWN":
                del form[key]
            if "\x00" in value:
                form[key] = value.replace("\x00", "\\x00")
    for field in sorted(set(form) - {"content", "gpg_signature"}):
        if any(isinstance(value, FileField) for value in form.getall(field)):
            return f"{field}: Should not be a tuple."
    return None
