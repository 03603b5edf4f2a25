"""``python -m drugwatch``: the command line (the same as the ``drugwatch`` script)."""

from drugwatch.cli import main

if __name__ == "__main__":
    main()
