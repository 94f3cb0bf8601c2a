"""`python -m distribute` and the `distribute` console script."""

from __future__ import annotations


def main() -> None:
    import sys

    from .send.cron import nothing_due

    if nothing_due(sys.argv[1:]):  # cron's every-minute `send --due`, answered without heavy imports
        sys.exit(4)
    from .cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
