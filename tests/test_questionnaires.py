"""The questionnaires (docs/questionnaires.md) and their answer keys (docs/teaching_answers.md).

Fast, without TensorFlow: each notebook has 8 to 12 questions, in the reading order of the series;
every question has exactly one key with the same number and text; every key holds an answer and
cites a section heading that exists in the notebook it names (quoted as it stands there; a figure
title, when given, must be one that notebook draws), never a cell number; a measured value comes
with its band. The site stages and lists both pages, and the teacher's guide links both; the
student edition carries the questions only (tests/test_student_edition.py).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from functools import cache
from pathlib import Path

import pytest

from mnist_cnn.paths import NOTEBOOKS, READING_ORDER

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "docs" / "questionnaires.md"
KEYS = ROOT / "docs" / "teaching_answers.md"

SECTION = re.compile(r"^## (\d{2}) · (.+)$")
QUESTION = re.compile(r"^(\d+)\. (.+)$")
KEY = re.compile(r"^### (\d+)\. (.+)$")
WHERE = re.compile(r'^\*\*Where:\*\* (\d{2}) › "([^"]+)"(?: · figure "([^"]+)")?$')
# "cell 12", "cells 3-4", "cell #5", "In [7]": a place that moves when a cell is added
CELL_NUMBER = re.compile(r"\bcells?\s*(?:#|no\.?|number)?\s*\d|\bIn \[\s*\d*\s*\]", re.IGNORECASE)
# A measured value is stated with its band: a range, ±, a bound (a rank: "among the three most"),
# or as the figure of one stored run that the text quotes as such.
BAND = re.compile(r"\d\s*(?:-|–|to)\s*\d|±|[<>]|\b(?:at least|at most|more than|fewer than|less than"
                  r"|below|above|between|within|exactly|among the|stored full run)\b")


def words(text: str) -> str:
    return " ".join(text.split())


@cache
def notebook_cells(number: str) -> tuple[dict, ...]:
    return tuple(json.loads((ROOT / "notebooks" / NOTEBOOKS[number]).read_text(encoding="utf-8"))["cells"])


@cache
def headings(number: str) -> frozenset[str]:
    """The notebook's markdown heading lines, without their leading #s."""
    return frozenset(line.lstrip("#").strip() for cell in notebook_cells(number)
                     if cell["cell_type"] == "markdown"
                     for line in "".join(cell["source"]).splitlines() if re.match(r"#{1,6} ", line))


def title(number: str) -> str:
    return next(heading for heading in headings(number) if heading.startswith(f"{number} · "))


def code(number: str) -> str:
    return "\n".join("".join(cell["source"]) for cell in notebook_cells(number)
                     if cell["cell_type"] == "code")


def questionnaire() -> dict[str, tuple[str, list[tuple[int, str]]]]:
    """Section number -> (its title, [(question number, question text), ...]), in file order."""
    sections: dict[str, tuple[str, list[tuple[int, str]]]] = {}
    current = None
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        if match := SECTION.match(line):
            assert match.group(1) not in sections, f"section {match.group(1)} twice"
            current = sections[match.group(1)] = (match.group(2), [])
        elif current is not None and (match := QUESTION.match(line)):
            current[1].append((int(match.group(1)), match.group(2)))
        elif current is not None and current[1] and line.startswith(" ") and line.strip():
            number, text = current[1][-1]
            current[1][-1] = (number, f"{text} {line.strip()}")  # a question wrapped over lines
        elif not line.strip():
            pass
        elif current is not None and current[1]:
            pytest.fail(f"questionnaires.md: a line after the questions of section {current[0]!r}: {line!r}")
    return {number: (name, [(n, words(text)) for n, text in listed])
            for number, (name, listed) in sections.items()}


def answer_keys() -> dict[str, tuple[str, list[dict]]]:
    """Section number -> (its title, [{number, question, answer, expected, where}, ...])."""
    sections: dict[str, tuple[str, list[dict]]] = {}
    current, entry = None, None
    for line in KEYS.read_text(encoding="utf-8").splitlines():
        if match := SECTION.match(line):
            assert match.group(1) not in sections, f"section {match.group(1)} twice"
            current = sections[match.group(1)] = (match.group(2), [])
            entry = None
        elif match := KEY.match(line):
            assert current is not None, f"a key before the first section: {line!r}"
            entry = {"number": int(match.group(1)), "question": words(match.group(2)), "paragraphs": [[]]}
            current[1].append(entry)
        elif entry is not None:
            if line.strip():
                entry["paragraphs"][-1].append(line.strip())
            elif entry["paragraphs"][-1]:
                entry["paragraphs"].append([])
    for _, entries in sections.values():
        for entry in entries:
            paragraphs = [" ".join(lines) for lines in entry.pop("paragraphs") if lines]
            kinds = [next((kind for kind in ("**Answer.**", "**Expected:**", "**Where:**")
                           if paragraph.startswith(kind)), paragraph) for paragraph in paragraphs]
            assert kinds in (["**Answer.**", "**Where:**"], ["**Answer.**", "**Expected:**", "**Where:**"]), (
                f"key {entry['number']}. {entry['question']!r}: its paragraphs must be an answer, "
                f"an optional expected value and where, in that order; found {kinds}")
            entry["answer"] = paragraphs[0].removeprefix("**Answer.**").strip()
            expected = paragraphs[1] if len(paragraphs) == 3 else None
            entry["expected"] = expected.removeprefix("**Expected:**").strip() if expected else None
            entry["where"] = paragraphs[-1]
    return sections


def test_every_notebook_has_eight_to_twelve_questions_in_reading_order():
    sections = questionnaire()
    assert list(sections) == list(READING_ORDER), "one section per notebook, in the reading order"
    for number, (name, questions) in sections.items():
        assert f"{number} · {name}" == title(number), f"section {number}: the notebook's own title"
        assert 8 <= len(questions) <= 12, f"{number}: {len(questions)} questions"
        assert [n for n, _ in questions] == list(range(1, len(questions) + 1)), f"{number}: numbered 1, 2, 3"
        assert all(text.endswith("?") for _, text in questions), f"{number}: each question asks"


def test_every_question_has_exactly_one_key_with_the_same_number_and_text():
    questions, keys = questionnaire(), answer_keys()
    assert list(keys) == list(questions), "the keys' sections are the questionnaires'"
    for number, (name, listed) in questions.items():
        assert keys[number][0] == name, number
        keyed = [(entry["number"], entry["question"]) for entry in keys[number][1]]
        assert keyed == listed, f"{number}: the keys must repeat the questions, same numbers, same text"


def test_every_key_answers_and_cites_a_heading_of_the_notebook_it_names():
    for number, (_, entries) in answer_keys().items():
        for entry in entries:
            label = f"{number} question {entry['number']}"
            assert len(entry["answer"].split()) >= 5, f"{label}: no answer"
            match = WHERE.match(entry["where"])
            assert match, (f"{label}: 'Where' reads NN › \"heading\" [· figure \"title\"], "
                           f"not {entry['where']!r}")
            cited, heading, figure = match.groups()
            assert cited in NOTEBOOKS, f"{label}: no notebook {cited}"
            assert heading in headings(cited), f"{label}: no heading {heading!r} in notebook {cited}"
            if figure:
                assert figure in code(cited), f"{label}: notebook {cited} draws no figure titled {figure!r}"


def test_no_key_cites_a_cell_number_and_every_measured_value_has_its_band():
    for path in (QUESTIONS, KEYS):
        found = CELL_NUMBER.search(path.read_text(encoding="utf-8"))
        assert not found, f"{path.name} cites a cell by number: {found.group()!r}; cite a heading"
    for number, (_, entries) in answer_keys().items():
        for entry in entries:
            if entry["expected"] is not None:
                assert BAND.search(entry["expected"]), (
                    f"{number} question {entry['number']}: an expected value needs its band (a range, "
                    f"±, a bound), not one machine's last digit: {entry['expected']!r}")


def test_the_site_stages_and_lists_both_pages_and_the_guide_links_them(tmp_path):
    """What tools/build_site.py stages and site/conf.py puts in the contents, without Sphinx's
    build (tests/test_site.py, slow, builds the site and checks every docs page in order)."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_site
    finally:
        sys.path.remove(str(ROOT / "tools"))
    staged = tmp_path / "src"
    pages = build_site.stage(staged, ROOT)
    assert {staged / "docs" / "questionnaires.md", staged / "docs" / "teaching_answers.md"} <= set(pages)
    spec = importlib.util.spec_from_file_location("site_conf_for_questionnaires", ROOT / "site" / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    _, _, docs = conf.series_pages(staged)
    assert {"docs/questionnaires", "docs/teaching_answers"} <= set(docs)

    guide = build_site.local_targets(build_site.markdown_text(ROOT / "docs" / "teaching.md"))
    assert {"questionnaires.md", "teaching_answers.md"} <= guide
    # The questions go into the student edition without the keys: no link from them to the keys,
    # and every link they hold resolves there as here (docs/ beside notebooks/).
    links = build_site.local_targets(build_site.markdown_text(QUESTIONS))
    assert not [link for link in links if "teaching" in link]
    for link in links:
        target = (QUESTIONS.parent / link).resolve()
        assert target.is_file() and target.parent.name == "notebooks", link
