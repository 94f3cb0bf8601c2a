"""Write a recipient CSV of N fictional subscribers (email, name, organization) for the benchmarks.

    python benchmarks/make_recipients.py 20000 lists/big.csv

Names mix Latin and Korean scripts, and one row in seven has no name (greeted as "reader"),
so every personalisation path of the newsletter is exercised.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

FIRST = ["Jane", "Minji", "Pat", "Anne", "Jiwoo", "Omar", "Sofia", "Haruto", "Lena", "Chidi"]
KOREAN = ["김민지", "박지우", "이서연", "최현우", "정하은"]
ORGS = ["Korea Defense Daily", "Institute for Alliance Studies", "Brussels Wire", ""]


def write(path: Path, count: int) -> Path:
    """N rows; addresses are unique, so every row becomes a message."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "name", "organization"])
        for i in range(count):
            if i % 7 == 0:
                name = ""
            elif i % 5 == 0:
                name = f"{KOREAN[i % len(KOREAN)]} {i}"
            else:
                name = f"{FIRST[i % len(FIRST)]} Reader-{i}"
            writer.writerow([f"subscriber{i}@example.org", name, ORGS[i % len(ORGS)]])
    return path


if __name__ == "__main__":
    write(Path(sys.argv[2]), int(sys.argv[1]))
