"""A tiny sample package published by pypi-oidc-publish's tests."""

__version__ = "0.3.0"


def greet(name: str) -> str:
    """Return a greeting."""
    return f"Hello, {name}!"
