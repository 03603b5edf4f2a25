"""The seeded synthetic demo corpus: for demos and tests ONLY.

Everything in it is invented: usernames from random syllables, contacts in
reserved fictional ranges (555-01xx phones, example.com/org e-mails, bitcoin
strings that can never validate), captions from hand-written templates and
images drawn with Pillow. Nothing is derived from real posts, accounts or
photos, and no result measured on it says anything about real platforms; it
exists so drugwatch's detectors, account models, contact linking, crawler
simulations and OCR can be exercised and tested end to end without data.

>>> from drugwatch.demo import generate_demo
>>> corpus = generate_demo(seed=0, n_accounts=12, posts_per_account=(2, 4), images=False)
>>> corpus.summary()["accounts"]
12

See :mod:`drugwatch.demo.generator` for the labelling convention and the
truth kept in ``meta``.
"""

from drugwatch.demo.generator import DemoCorpus, generate_demo, write_demo

__all__ = ["DemoCorpus", "generate_demo", "write_demo"]
