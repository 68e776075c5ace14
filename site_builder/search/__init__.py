"""What a search answer says besides the hit set: ranking (``ranking``), occurrences, the
concordance (KWIC) and the trend by year (``passages``). Both indexes compute the same numbers:
the Whoosh index (``search_index.py``) from its postings and stored texts, the browser from the
static index; ``ranking.reference`` computes them from the plain texts alone (tests, bench)."""
