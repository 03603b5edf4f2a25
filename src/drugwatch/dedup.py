"""Exact and near-duplicate text detection with MinHash / LSH (``datasketch``).

Dealers post the same advert hundreds of times with small edits (another
quantity, another price, an emoji more). Researchers must count unique
adverts, and evaluation must remove near-duplicates before splitting, so
one text cannot sit on both sides of a fold.

Texts are reduced to a *fingerprint view* (lower case, URLs removed, digit
runs collapsed to ``0``, punctuation and repeated whitespace dropped), then
to a set of word 3-shingles (character 4-grams for texts of fewer than
three words), then to a MinHash signature. Two texts are near-duplicates
when the MinHash estimate of their Jaccard similarity is at least
``threshold`` (default 0.7). Clusters are the connected components of that
relation; exact duplicates of the fingerprint view are always in one
cluster.

LSH uses ``BANDS`` bands of ``ROWS`` rows over ``NUM_PERM`` permutations
(16 × 4 = 64): a pair at Jaccard 0.7 becomes a candidate with probability
1 - (1 - 0.7^4)^16 ≈ 0.9996; candidates are then checked against the
threshold, so the band width only affects recall, not precision. The
banding is tuned for thresholds of 0.5 and above (a pair at 0.5 is a
candidate with probability 0.64, at 0.6 with 0.89); lower thresholds lose
recall.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import LeanMinHash, MinHash

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
SEED = 1
DEFAULT_THRESHOLD = 0.7

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)

# One MinHash's permutations, built once and shared (building them is the
# expensive part of constructing a MinHash).
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=SEED)

#: Shingles hashed together in one numpy block by :func:`minhash_values`
#: (the block is this many rows of ``NUM_PERM`` 32-bit values: 4 MiB).
_BLOCK_SHINGLES = 16_384


def fingerprint_text(text: str) -> str:
    """The view of ``text`` that near-duplicate detection compares."""
    text = text.lower()
    # Case-insensitive, _URL is tried at every character: about 2.5 µs of this
    # function's 9 on a 300-character text, 1 % of an import's instructions.
    # On lower-cased text it can only match where "http" or "www." is (no
    # other character matches h, t, p, w or "." when case is ignored, and the
    # long s that matches "s" follows "http"), so most texts skip it.
    if "http" in text or "www." in text:
        text = _URL.sub(" ", text)
    text = _DIGITS.sub("0", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def shingles(view: str) -> set[bytes]:
    words = view.split()
    if len(words) >= 3:
        return {" ".join(words[i : i + 3]).encode("utf-8") for i in range(len(words) - 2)}
    compact = view.replace(" ", "_")
    if len(compact) < 4:
        return {compact.encode("utf-8")} if compact else set()
    return {compact[i : i + 4].encode("utf-8") for i in range(len(compact) - 3)}


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What clustering needs of a text before any MinHash: its view and the view's exact digest.

    Exact duplicates are recognised by ``exact`` alone, so a store shingles
    and MinHashes only the texts whose view it has not seen. A view is empty
    (nothing to compare: no text, emoji only) exactly when it has no shingles.
    """

    exact: str  # sha1 hex of the fingerprint view
    view: str

    @property
    def empty(self) -> bool:
        return not self.view

    def grams(self) -> set[bytes]:
        return shingles(self.view)


def fingerprint(text: str) -> Fingerprint:
    view = fingerprint_text(text)
    return Fingerprint(hashlib.sha1(view.encode("utf-8")).hexdigest(), view)


#: One keyed BLAKE2b state per band, copied for each key (keying a new hasher costs more than copying one).
_BAND_HASHERS = [hashlib.blake2b(digest_size=8, key=band.to_bytes(2, "little")) for band in range(BANDS)]


@dataclass(frozen=True, slots=True)
class Signature:
    """A text's MinHash signature plus the exact-duplicate digest of its view."""

    hashvalues: np.ndarray  # uint64, NUM_PERM values
    exact: str  # sha1 hex of the fingerprint view
    empty: bool

    def band_keys(self) -> list[int]:
        """One signed 63-bit key per band (fits a SQL BIGINT): BLAKE2b keyed by the band's number, of its rows' bytes."""
        data = self.hashvalues.tobytes()
        width = ROWS * self.hashvalues.itemsize
        keys = []
        for band, keyed in enumerate(_BAND_HASHERS):
            hasher = keyed.copy()
            hasher.update(data[band * width : (band + 1) * width])
            keys.append(int.from_bytes(hasher.digest(), "little", signed=True) >> 1)
        return keys

    def jaccard(self, other: Signature) -> float:
        if self.empty or other.empty:
            return 1.0 if self.exact == other.exact else 0.0
        return float(np.count_nonzero(self.hashvalues == other.hashvalues)) / NUM_PERM

    def to_bytes(self) -> bytes:
        return self.hashvalues.astype("<u8").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, exact: str) -> Signature:
        values = np.frombuffer(data, dtype="<u8").astype(np.uint64)
        return cls(values, exact, empty=False)


_EMPTY_VALUES = np.full(NUM_PERM, np.iinfo(np.uint64).max, dtype=np.uint64)


def _datasketch_values(grams: Collection[bytes]) -> np.ndarray:
    """One text's MinHash values the way datasketch computes them, one MinHash object per text."""
    minhash = _TEMPLATE.copy()
    minhash.update_batch(list(grams))
    return LeanMinHash(minhash).hashvalues.astype(np.uint64)


def _fmix32(hv: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (datasketch's pre-mix for its ``affine32`` scheme)."""
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    return hv ^ (hv >> np.uint32(16))


def _vectorised_values(gram_sets: Sequence[Collection[bytes]]) -> np.ndarray:
    """datasketch's ``affine32`` MinHash for many texts at once (none empty): one row per text.

    Each shingle is hashed as datasketch's default ``sha1_hash32`` does (the
    first 4 bytes of its SHA-1, little-endian), pre-mixed, mapped through the
    shared affine permutations ``a * h + b mod 2**32`` and minimised per
    text with ``np.minimum.reduceat``.
    """
    a, b = _TEMPLATE.permutations
    lengths = [len(grams) for grams in gram_sets]
    digests = b"".join(hashlib.sha1(gram).digest()[:4] for grams in gram_sets for gram in grams)
    hv = _fmix32(np.frombuffer(digests, dtype="<u4").astype(np.uint32))
    permuted = hv[:, None] * a[None, :] + b[None, :]  # uint32 arithmetic wraps: mod 2**32
    starts = np.cumsum([0, *lengths[:-1]])
    return np.minimum.reduceat(permuted, starts, axis=0).astype(np.uint64)


def _vectorised_matches_datasketch() -> bool:
    """Whether :func:`_vectorised_values` reproduces this datasketch version exactly.

    Stored signatures must not depend on which path computed them; a
    datasketch release with another scheme makes every text go through
    datasketch itself instead.
    """
    if getattr(_TEMPLATE, "scheme", None) != "affine32":
        return False
    a, b = _TEMPLATE.permutations
    if a.dtype != np.uint32 or b.dtype != np.uint32:
        return False
    probes = [
        shingles(fingerprint_text(t)) for t in ("xanax 2mg bars in stock dm me", "ok", "order now, fast delivery")
    ]
    return bool(np.array_equal(_vectorised_values(probes), np.stack([_datasketch_values(g) for g in probes])))


_VECTORISED = _vectorised_matches_datasketch()


def minhash_values(gram_sets: Sequence[Collection[bytes]]) -> np.ndarray:
    """MinHash values (``uint64``, shape ``(len(gram_sets), NUM_PERM)``) of many shingle sets.

    Identical to datasketch's ``MinHash(num_perm=NUM_PERM, seed=SEED)`` fed
    each set; computed in blocks of about :data:`_BLOCK_SHINGLES` shingles
    (memory stays bounded whatever the batch). An empty set gets the
    all-maximum row, as an empty datasketch MinHash has.
    """
    out = np.empty((len(gram_sets), NUM_PERM), dtype=np.uint64)
    if not _VECTORISED:
        for i, grams in enumerate(gram_sets):
            out[i] = _datasketch_values(grams) if grams else _EMPTY_VALUES
        return out
    block: list[int] = []
    size = 0

    def run() -> None:
        out[block] = _vectorised_values([gram_sets[i] for i in block])

    for i, grams in enumerate(gram_sets):
        if not grams:
            out[i] = _EMPTY_VALUES
            continue
        if block and size + len(grams) > _BLOCK_SHINGLES:
            run()
            block, size = [], 0
        block.append(i)
        size += len(grams)
    if block:
        run()
    return out


def signatures_of(fingerprints: Sequence[Fingerprint]) -> list[Signature]:
    """The signature of each fingerprint, computed together (see :func:`minhash_values`)."""
    values = minhash_values([fp.grams() for fp in fingerprints])
    return [Signature(values[i], fp.exact, empty=fp.empty) for i, fp in enumerate(fingerprints)]


def signatures(texts: Iterable[str]) -> list[Signature]:
    """:func:`signature` of each text, computed together (much faster than one by one)."""
    return signatures_of([fingerprint(text) for text in texts])


def signature(text: str) -> Signature:
    """The MinHash signature of ``text`` (see the module docstring for the view)."""
    return signatures([text])[0]


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # Keep the smaller index as the root: cluster ids are then the
            # index of the cluster's first text, stable under appends.
            if ra < rb:
                self.parent[rb] = ra
            else:
                self.parent[ra] = rb


def cluster_signatures(signatures: Sequence[Signature], threshold: float = DEFAULT_THRESHOLD) -> list[int]:
    """Cluster ids (index of each cluster's first member) for precomputed signatures."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    uf = _UnionFind(len(signatures))
    by_exact: dict[str, int] = {}
    buckets: dict[tuple[int, int], list[int]] = {}
    for i, sig in enumerate(signatures):
        if sig.empty:
            continue  # texts with nothing to compare (empty, emoji only) stay alone
        first = by_exact.setdefault(sig.exact, i)
        if first != i:
            uf.union(first, i)
            continue
        for band, key in enumerate(sig.band_keys()):
            members = buckets.setdefault((band, key), [])
            for j in members:
                if uf.find(i) != uf.find(j) and sig.jaccard(signatures[j]) >= threshold:
                    uf.union(i, j)
            members.append(i)
    return [uf.find(i) for i in range(len(signatures))]


def cluster_texts(texts: Iterable[str], threshold: float = DEFAULT_THRESHOLD) -> list[int]:
    """Near-duplicate cluster id for each text: the index of its cluster's first text.

    >>> cluster_texts(["Xanax 2mg bars, 100 for $150, dm me",
    ...                "xanax 2mg bars, 300 for $400 dm me!!",
    ...                "lovely sunset at the beach today"])
    [0, 0, 2]
    """
    return cluster_signatures(signatures(texts), threshold)
