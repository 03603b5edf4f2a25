"""One router per resource; every route depends on a role requirement (see auth.py)."""
