"""A PyPI-strict test index: Warehouse's upload rules (forklift/legacy.py at commit 6b62157)
applied by our own code with the libraries PyPI uses (packaging, trove-classifiers,
email-validator, readme-renderer, rfc3986), in front of a real pypiserver for storage.

Modules:
- ``formdata``: the multipart form as Warehouse sees it (webob MultiDict semantics, sanitize).
- ``metadata``: the core-metadata rules Warehouse applies to the form.
- ``archives``: ``_is_valid_dist_file``, ZIP framing, RECORD/entry points, the PyArmor scan.
- ``rules``: ``validate_upload``, every rule in Warehouse's order, PyPI's status and message;
  ``distfile`` holds the rules that need the file, ``model`` the index's state and verdicts.
- ``client``: the form a correct client (twine) builds from a dist file, for the offline check.
- ``server``: the HTTP index (upload, test knobs) with pypiserver behind it; ``responses``
  renders PyPI's error answers, ``jsonapi`` PyPI's JSON API.

Run ``python -m warehouse --help`` (with ``tests/`` on ``PYTHONPATH``).
"""
