"""mkdocs hooks (mkdocs.yml's `hooks:`): the repository's README.md shown as the site's readme page.

docs/readme.md is a stub in the nav; when the site is built its text is replaced by
README.md's, with the README's links made to work from docs/: `docs/x.md` becomes `x.md`,
`docs/` the home page, and a link to a file outside docs/ (CONTRIBUTING.md, LICENSE, ...)
its plain text, since the site does not hold those files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parent / "README.md"
STUB = "readme.md"
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


def site_links(markdown: str) -> str:
    """README's links, relative to the repository's root, as links relative to docs/."""

    def one(match: re.Match) -> str:
        bang, text, target = match.groups()
        if re.match(r"^[a-z]+://", target) or target.startswith("#"):
            return match.group(0)
        if target == "docs/" or target == "docs":
            return f"{bang}[{text}](index.md)"
        if target.startswith("docs/"):
            return f"{bang}[{text}]({target[len('docs/') :]})"
        return f"{text} (`{target}` in the repository)" if text != target else f"`{target}` (in the repository)"

    return LINK.sub(one, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri != STUB:
        return markdown
    return site_links(README.read_text())
