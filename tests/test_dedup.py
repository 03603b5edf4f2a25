"""Near-duplicate clustering on a hand-made set."""

from __future__ import annotations

from drugwatch.dedup import cluster_texts, fingerprint_text, signature

# Three adverts of one dealer (quantities, prices, emoji and case change),
# two of another, and unrelated texts that share words with them.
ADVERTS = [
    "🔥 Xanax 2mg bars in stock, 100 for $150, discreet shipping, wickr: demo_plug7",  # 0
    "XANAX 2MG BARS IN STOCK!! 300 for $400 discreet shipping wickr: demo_plug7",  # 1
    "xanax 2mg bars in stock 50 for $90, discreet shipping. wickr: demo_plug7 🚚",  # 2
    "Fresh shrooms and LSD tabs available, telegram @demo_trips, same day delivery",  # 3
    "fresh shrooms and lsd tabs available!! telegram @demo_trips same day delivery 🍄",  # 4
    "Lovely sunset at the beach today with the dog",  # 5
    "We are hiring: barista wanted, discreet location, apply in store",  # 6
    "xanax saved my life, my doctor prescribes 2mg and I take it every night",  # 7
    "",  # 8
    "",  # 9
]


def test_clusters_match_the_hand_made_truth() -> None:
    clusters = cluster_texts(ADVERTS)
    assert clusters[0] == clusters[1] == clusters[2] == 0
    assert clusters[3] == clusters[4] == 3
    # Everything else is its own cluster; empty texts never cluster together.
    assert clusters[5:] == [5, 6, 7, 8, 9]


def test_threshold_controls_merging() -> None:
    a = "order now fresh kush 3.5g for 40 dollars delivery tonight to your door"
    b = "order now fresh kush 7g for 70 dollars delivery tonight to your house"
    similarity = signature(a).jaccard(signature(b))
    assert 0.5 < similarity < 0.9
    assert cluster_texts([a, b], threshold=0.5) == [0, 0]
    assert cluster_texts([a, b], threshold=0.9) == [0, 1]


def test_fingerprint_ignores_numbers_case_urls_and_punctuation() -> None:
    assert fingerprint_text("BUY 2 get 1 free!! https://example.com/x") == fingerprint_text("buy 5 get 3 free")


def test_signature_round_trips_through_bytes() -> None:
    sig = signature(ADVERTS[0])
    again = type(sig).from_bytes(sig.to_bytes(), sig.exact)
    assert again.jaccard(sig) == 1.0 and again.band_keys() == sig.band_keys()


def test_batched_signatures_are_datasketchs_own_values() -> None:
    """The vectorised MinHash must give exactly datasketch's values: stored signatures
    and LSH band keys written by either path have to match each other."""
    import numpy as np

    from drugwatch import dedup
    from drugwatch.dedup import signatures

    texts = [*ADVERTS, "ok", "a b", "🔥🔥🔥", " ".join(f"word{i} x" for i in range(3000))]
    batch = signatures(texts)
    for text, sig in zip(texts, batch):
        grams = dedup.fingerprint(text).grams()
        expected = dedup._datasketch_values(grams) if grams else dedup._EMPTY_VALUES
        assert np.array_equal(sig.hashvalues, expected), text[:40]
        assert sig.empty == (not grams) and sig.exact == signature(text).exact
    # Blocks: a batch larger than one block gives the same rows as one text at a time.
    many = [f"{a} {i}" for i in range(40) for a in ADVERTS[:5]] * 20
    values = dedup.minhash_values([dedup.fingerprint(t).grams() for t in many])
    assert sum(len(dedup.fingerprint(t).grams()) for t in many) > dedup._BLOCK_SHINGLES
    assert np.array_equal(values[-1], signature(many[-1]).hashvalues)


def test_fingerprint_is_empty_exactly_when_there_is_nothing_to_shingle() -> None:
    from drugwatch.dedup import fingerprint

    for text in ["", "!!!", "🔥", "a", "_", "ab cd", "xanax bars now"]:
        fp = fingerprint(text)
        assert fp.empty == (not fp.grams()), text
