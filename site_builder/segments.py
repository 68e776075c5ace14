"""Rows of segments: ``seg_index(starts, lengths)`` is the concatenation of ``range(s, s + l)`` for
each segment, as one numpy array — how every stage gathers runs of rows (a speech's words, a key's
table rows, a doc's entries) without a loop. The one copy of it (``static_search.keys`` re-exports it).
"""

from __future__ import annotations

import numpy as np


def seg_index(starts, lengths) -> np.ndarray:
    """Concatenation of ``range(s, s + l)`` for each (s, l) (int32 when every value fits, else int64):
    ones, a jump at each segment start, summed up. The same as
    ``np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())``
    without its three temporaries of the output's size."""
    lengths = np.asarray(lengths, np.int64)
    starts = np.asarray(starts, np.int64)
    if not lengths.all():
        keep = lengths > 0
        starts, lengths = starts[keep], lengths[keep]
    if not len(lengths):
        return np.zeros(0, np.int64)
    ends = np.cumsum(lengths)
    total = int(ends[-1])
    dtype = np.int32 if total < 1 << 31 and int(starts.max()) + int(lengths.max()) < 1 << 31 else np.int64
    idx = np.ones(total, dtype)
    idx[0] = starts[0]
    idx[ends[:-1]] = starts[1:] - (starts[:-1] + lengths[:-1]) + 1
    return np.cumsum(idx, dtype=dtype, out=idx)
