"""WordprocessingML names and attribute helpers shared by the .docx reader's modules."""

from __future__ import annotations

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
NS_M = "http://schemas.openxmlformats.org/officeDocument/2006/math"


def w(tag: str) -> str:
    """The qualified name of ``w:tag``."""
    return f"{{{_W}}}{tag}"


def wval(el, attr: str = "val") -> str | None:
    """The ``w:attr`` attribute of ``el`` (``w:val`` by default); None if ``el`` is None or has none."""
    return None if el is None else el.get(w(attr))


W_P, W_R, W_T, W_TBL, W_TR, W_TC, W_SDT, W_SDTCONTENT = (
    w(t) for t in ("p", "r", "t", "tbl", "tr", "tc", "sdt", "sdtContent")
)
W_TXBX = w("txbxContent")


def to_int(value, base: int = 10) -> int | None:
    """``int(value, base)``, or None for None or anything that is not a number."""
    try:
        return int(value, base) if value is not None else None
    except (TypeError, ValueError):
        return None
