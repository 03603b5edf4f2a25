"""Text understanding: normalize, hashtags, contacts, lexicon.

Every detector sees text through this layer. Raw text is never modified;
the normalized view keeps a map back to raw offsets for evidence.
"""
