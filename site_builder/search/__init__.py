"""Search: the text analysis (``analysis``), the query language (``query``), the Whoosh index
(``whoosh_index`` and its parts ``whoosh_*``), and what an answer says besides the hit set:
ranking (``ranking``), occurrences, the concordance (KWIC) and the trend by year (``passages``).
Both indexes compute the same numbers: the Whoosh index from its postings and stored texts, the browser from the
static index; ``ranking.reference`` computes them from the plain texts alone (tests, bench)."""


def _cached_property_shim() -> None:
    """Whoosh's reader takes one decorator from the cached-property package, which imports asyncio
    for its other decorators: a fifth of `site-builder search`'s start-up (#15). Until anything
    else of that package is asked for, ``functools.cached_property`` (the same for a plain method)
    stands in for it; any other name imports the real package."""
    import sys
    import types
    from functools import cached_property

    if "cached_property" in sys.modules:
        return
    shim = types.ModuleType("cached_property")
    shim.cached_property = cached_property  # type: ignore[attr-defined]

    def __getattr__(name: str):
        import importlib

        if name.startswith("__"):  # the import system asks for __path__ and the like
            raise AttributeError(name)
        del sys.modules["cached_property"]
        real = importlib.import_module("cached_property")
        return getattr(real, name)

    shim.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules["cached_property"] = shim


_cached_property_shim()


def _whoosh_compat_without_urllib() -> None:
    """``whoosh.compat`` (imported by every Whoosh module) takes one name from ``urllib.request``,
    ``urlretrieve``, which imports ``http.client``, ``email`` and ``ssl``: ≈ 0.02 s of every
    `site-builder search` (#15). While ``whoosh.compat`` is imported, a stand-in module gives it a
    function that imports the real one when called; the stand-in is then removed, so any later
    ``import urllib.request`` is the real module."""
    import sys
    import types

    if "whoosh.compat" in sys.modules or "urllib.request" in sys.modules:
        return

    def urlretrieve(*args, **kwargs):
        from urllib.request import urlretrieve as real

        return real(*args, **kwargs)

    stand_in = types.ModuleType("urllib.request")
    stand_in.urlretrieve = urlretrieve  # type: ignore[attr-defined]
    sys.modules["urllib.request"] = stand_in
    try:
        import whoosh.compat  # noqa: F401
    finally:
        if sys.modules.get("urllib.request") is stand_in:
            del sys.modules["urllib.request"]


_whoosh_compat_without_urllib()
