"""Write docs/reference.md, every config key with its type, default and meaning, from the
declarations in the code (wavenet_harness/adapter/reference.py).

From a checkout only: scripts/ is not part of the installed package (not in the wheel).

    python scripts/config_reference.py          # rewrite docs/reference.md
    python scripts/config_reference.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from wavenet_harness.adapter.config import config_dir
from wavenet_harness.adapter.reference import reference_markdown

PAGE = Path(__file__).resolve().parents[1] / "docs" / "reference.md"


def main(argv: list[str]) -> int:
    text = reference_markdown(Path(config_dir()))
    if "--check" in argv:
        current = PAGE.read_text() if PAGE.is_file() else ""
        if current != text:
            print(f"{PAGE} is out of date: run python scripts/config_reference.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text)
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
