"""Hashtag extraction (segmentation and categorization build on it)."""

from __future__ import annotations

import re

# A tag is '#' followed by letters, digits, marks or underscores in any
# script. Tags glued together ("#xanax#oxy") split at each '#'.
_TAG = re.compile(r"#([^\W_][\w]*|_[\w]+)", re.UNICODE)


def extract_hashtags(text: str) -> list[str]:
    """Return the hashtags in ``text``, lower-cased, without '#', first-seen order, unique.

    >>> extract_hashtags("hmu #Xanax#oxy #2mgXanax #xanax, #шишки")
    ['xanax', 'oxy', '2mgxanax', 'шишки']
    """
    seen: dict[str, None] = {}
    for match in _TAG.finditer(text):
        tag = match.group(1).lower()
        if tag not in seen:
            seen[tag] = None
    return list(seen)
