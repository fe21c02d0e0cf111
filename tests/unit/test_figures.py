"""Every measured figure the README and docs/*.md state agrees with docs/figures.yaml, its one source.

docs/figures.yaml lists each figure once: its value as the pages write it, when it was
measured, under what load, with which seeds, and where the pages state it (`stated`: per page,
patterns in which `{v}` stands for the value and `{*}` for any text within a table cell or
a line). The checks, on the pages' text with whitespace collapsed and ** and backticks dropped:

- every pattern is found in its page, and gives there exactly the file's value (a value is
  matched by its shape: "1.9246 ± 0.0021" finds "1.9277 ± 0.0030", which is then refused);
- a figure marked `every_occurrence` has no other occurrence in any page: each appearance of
  its number lies inside one of the registered patterns (of it or of another figure with the
  same number), so a new sentence with a different wording cannot state it unregistered;
- no page gives a 4- or 6-decimal loss rounded (1.925 for 1.9246) unless `not_figures` says
  what that number is instead;
- the page section holding each statement carries the figure's date, load and seeds (`says`),
  or links, directly or through another section, to a section that does.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml

from helpers import REPO

FIGURES = REPO / "docs" / "figures.yaml"
NUMBER = r"\d+(?:[.,]\d+)*"
BEFORE, AFTER = r"(?<![\d.,])", r"(?![\d]|[.,]\d)"  # a whole number: not part of a longer one
ANY = r"[^|]{0,200}?"  # {*}: any text within one table cell or one passage


def pages() -> list[str]:
    return ["README.md", *sorted(f"docs/{p.name}" for p in (REPO / "docs").glob("*.md"))]


def normalise(text: str) -> str:
    """Whitespace collapsed, ** and backticks dropped, a link read as its text."""
    text = re.sub(r"\[([^\]]*)\]\([^)\s]*\)", r"\1", text.replace("**", "").replace("`", ""))
    return re.sub(r"\s+", " ", text).strip()


def slug(heading: str) -> str:
    """The anchor mkdocs (Python-Markdown's toc) and GitHub give a heading."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


@dataclass
class Section:
    page: str
    slug: str
    raw: str
    text: str  # normalised


@cache
def sections(page: str, root: Path = REPO) -> tuple[Section, ...]:
    """A page cut at its headings (none inside fenced code)."""
    found: list[tuple[str, str]] = []  # (heading, text)
    current: list[str] = []
    heading, fenced = "", False
    for line in (root / page).read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        title = None if fenced else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if title:
            if current or heading:
                found.append((heading, "\n".join(current)))
            heading, current = title.group(1), []
        current.append(line)
    found.append((heading, "\n".join(current)))
    return tuple(Section(page, slug(h), raw, normalise(raw)) for h, raw in found)


def shape(value: str) -> str:
    """A regex for any value written like this one: each number may differ, the rest may not."""
    parts = re.split(f"({NUMBER})", value)
    return "".join(NUMBER if i % 2 else re.escape(part) for i, part in enumerate(parts))


def pattern_regex(pattern: str, value: str) -> re.Pattern:
    pieces = re.split(r"(\{v\}|\{\*\})", normalise(pattern))
    regex = ""
    for piece in pieces:
        if piece == "{v}":
            regex += f"{BEFORE}(?P<v>{shape(value)}){AFTER}"
        elif piece == "{*}":
            regex += ANY
        else:
            regex += re.escape(piece)
    return re.compile(regex)


def key_number(value: str) -> str:
    """The number that stands for the figure: a range whole ("27-28"), else its first number."""
    if re.fullmatch(f"{NUMBER}-{NUMBER}", value):
        return value
    found = re.search(NUMBER, value)
    assert found is not None, f"no number in {value!r}"
    return found.group(0)


def occurrences(number: str, text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(f"{BEFORE}{re.escape(number)}{AFTER}", text)]


@cache
def load(path: Path = FIGURES) -> dict:
    return yaml.safe_load(path.read_text())


def statements(data: dict, root: Path = REPO) -> list[tuple[dict, Section, re.Match]]:
    """(figure, section, match) for every place a pattern is found."""
    found = []
    for figure in data["figures"]:
        for page, patterns in figure["stated"].items():
            for pattern in patterns:
                regex = pattern_regex(pattern, str(figure["value"]))
                for section in sections(page, root):
                    found += [(figure, section, m) for m in regex.finditer(section.text)]
    return found


def problems(data: dict, root: Path = REPO) -> list[str]:
    """Everything that is wrong, one line each; empty when the pages and the file agree."""
    bad: list[str] = []
    figures = data["figures"]
    ids = [f["id"] for f in figures]
    bad += [f"{i}: listed twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    for figure in figures:
        missing = {"id", "value", "date", "load", "seeds", "source", "says", "stated"} - set(figure)
        if missing:
            bad.append(f"{figure.get('id')}: no {', '.join(sorted(missing))}")
    if bad:
        return bad
    found = statements(data, root)

    # 1. every pattern is there and gives the file's value
    for figure in figures:
        value = str(figure["value"])
        for page, patterns in figure["stated"].items():
            for pattern in patterns:
                regex = pattern_regex(pattern, value)
                matches = [m for s in sections(page, root) for m in regex.finditer(s.text)]
                if not matches:
                    bad.append(f"{figure['id']}: {page} no longer says {pattern!r} with a value shaped like {value!r}")
                bad += [
                    f"{figure['id']}: {page} says {m.group('v')!r} where figures.yaml has {value!r}: ...{m.group(0)}..."
                    for m in matches
                    if m.group("v") != value
                ]

    # 2. numbers that are always this figure appear only in registered statements
    covered: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for _, section, match in found:
        covered.setdefault((section.page, section.slug), []).append(match.span())
    for figure in figures:
        if not figure.get("every_occurrence"):
            continue
        number = key_number(str(figure["value"]))
        for page in pages():
            for section in sections(page, root):
                spans = covered.get((page, section.slug), [])
                for start, end in occurrences(number, section.text):
                    if not any(a <= start and end <= b for a, b in spans):
                        bad.append(
                            f"{figure['id']}: {page} states {number} in a place figures.yaml does not list: "
                            f"...{section.text[max(0, start - 60) : end + 40]}..."
                        )

    # 3. no loss given rounded
    registered = {key_number(str(f["value"])) for f in figures}
    allowed = [(n["page"], normalise(n["text"])) for n in data.get("not_figures", [])]
    for figure in figures:
        number = key_number(str(figure["value"]))
        decimals = len(number.partition(".")[2])
        if decimals < 4 or "," in number or "-" in number:
            continue
        rounded = {f"{float(number):.{d}f}" for d in range(3, decimals)} - registered
        for page in pages():
            for section in sections(page, root):
                for r in rounded:
                    for start, end in occurrences(r, section.text):
                        context = section.text[max(0, start - 60) : end + 40]
                        if not any(p == page and r in text and text in section.text for p, text in allowed):
                            bad.append(f"{figure['id']}: {page} gives {number} rounded as {r}: ...{context}...")

    # 4. where each statement stands, the date, load and seeds are said or linked to
    for figure in figures:
        source_page, _, source_slug = figure["source"].partition("#")
        source = [s for s in sections(source_page, root) if s.slug == source_slug]
        says = [normalise(str(s)) for s in figure["says"]]
        if not source:
            bad.append(f"{figure['id']}: its source {figure['source']} is not a section")
            continue
        if str(figure["date"]) not in source[0].text:
            bad.append(f"{figure['id']}: {figure['source']} does not give its date {figure['date']}")
        bad += [f"{figure['id']}: {figure['source']} does not say {s!r}" for s in says if s not in source[0].text]
        sourced = sourced_sections(figure, says, root)
        for _, section, _ in [f for f in found if f[0] is figure]:
            if (section.page, section.slug) not in sourced:
                bad.append(
                    f"{figure['id']}: {section.page}#{section.slug} states it without its date, load and "
                    f"seeds and links nowhere that has them (say them, or link to {figure['source']})"
                )
    return sorted(set(bad))


def links(section: Section) -> list[tuple[str, str]]:
    """(page, anchor) of each relative link; anchor '' for a whole page."""
    out = []
    for target in re.findall(r"\]\(([^)\s]+)\)", section.raw):
        if re.match(r"^[a-z]+://", target):
            continue
        path, _, anchor = target.partition("#")
        if not path:
            page = section.page
        else:
            base = Path(section.page).parent
            page = (base / path).as_posix()
            page = re.sub(r"(^|/)[^/]+/\.\./", r"\1", page)
        if page == "docs/readme.md":  # the site's copy of the README
            page = "README.md"
        out.append((page, anchor))
    return out


def sourced_sections(figure: dict, says: list[str], root: Path = REPO) -> set[tuple[str, str]]:
    """Sections that say the figure's date, load and seeds, or link on to one that does."""
    source_page, _, source_slug = figure["source"].partition("#")
    every = [s for p in pages() for s in sections(p, root)]
    done = {(source_page, source_slug)}
    done |= {(s.page, s.slug) for s in every if str(figure["date"]) in s.text and all(x in s.text for x in says)}
    while True:
        more = {
            (s.page, s.slug)
            for s in every
            if (s.page, s.slug) not in done
            and any(
                (page, anchor) in done or (not anchor and any(p == page for p, _ in done)) for page, anchor in links(s)
            )
        }
        if not more:
            return done
        done |= more


# ------------------------------------------------------------------ the tests


def test_the_pages_state_every_figure_as_figures_yaml_has_it():
    bad = problems(load())
    assert not bad, f"{len(bad)} disagreements between the pages and docs/figures.yaml:\n" + "\n".join(bad)


def test_every_figure_has_a_date_a_load_and_seeds():
    for figure in load()["figures"]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", str(figure["date"])), figure["id"]
        assert str(figure["load"]).strip() and str(figure["seeds"]).strip(), figure["id"]


def _copy(tmp_path: Path) -> Path:
    for page in pages():
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / page).write_text((REPO / page).read_text())
    return tmp_path


@pytest.mark.parametrize(
    "page, old, new, complaint",
    [
        # the README's table gives another val for the best recipe
        (
            "README.md",
            "| 130,233 | **1.9246 ± 0.0021** |",
            "| 130,233 | **1.9250 ± 0.0021** |",
            "says '1.9250 ± 0.0021'",
        ),
        # a rounded form comes back
        ("README.md", "a transformer at val 1.9246 ± 0.0021,", "a transformer at val 1.925,", "rounded as 1.925"),
        # a new sentence states the figure in a form the file does not list
        ("README.md", "## Results\n", "## Results\n\nThe best recipe reaches 1.9246.\n", "does not list"),
        # the first run's time changes on one page only
        ("README.md", "in 27-28 s end to end", "in 26-28 s end to end", "says '26-28'"),
        # the source loses the load it states
        ("README.md", "nothing else running: load 0.5 before it", "load not noted", "does not say"),
        # a page repeats the lecture run's time without its date, load and seeds or a link to them
        (
            "docs/tuning.md",
            "304 s end to end on 2026-12-02 (seed 42, nothing else\nrunning: load 0.5 before it; the README's figure)",
            "304 s end to end",
            "without its date, load and seeds",
        ),
    ],
)
def test_a_changed_page_is_caught(tmp_path, page, old, new, complaint):
    root = _copy(tmp_path)
    changed = root / page
    assert old in changed.read_text(), old
    changed.write_text(changed.read_text().replace(old, new, 1))
    sections.cache_clear()
    try:
        bad = problems(load(), root)
    finally:
        sections.cache_clear()
    assert any(complaint in line for line in bad), bad
