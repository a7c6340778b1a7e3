"""The last line of `make test`: how many tests ran, and every one that skipped, with its reason.

Each pytest run of `make test` writes a JUnit report into build/test-reports/. A skipped test is
not a passed one: the browser tests skip on a machine without Chromium, the data tests without
an MNIST copy. This prints them by name so that "passed" never hides them, lists the tests
marked expected to fail (xfail) apart, and exits non-zero when a report is missing or records a
failure (a strict xfail that passed is one).

    .venv/bin/python tools/test_summary.py build/test-reports/unit.xml build/test-reports/...
"""

from __future__ import annotations

import argparse
import ast
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    skipped: list[str] = field(default_factory=list)
    expected_failures: list[str] = field(default_factory=list)  # marked xfail (ran and failed, or not run)


def skip_reason(skip: ET.Element) -> str:
    """The reason pytest gave. A module skipped at collection is reported as the message
    "collection skipped", with the reason in the element's text, a tuple's repr:
    "('path', line, 'Skipped: why')"."""
    message = skip.get("message") or "no reason given"
    if message == "collection skipped" and skip.text:
        try:
            reason = str(ast.literal_eval(skip.text.strip())[2])
        except (ValueError, SyntaxError, IndexError, TypeError):
            return message
        return "skipped at collection: " + reason.removeprefix("Skipped: ")
    return message


def tally(reports: list[Path]) -> Tally:
    """Count the test cases of JUnit reports; a missing report is an error, not zero tests."""
    result = Tally()
    for report in reports:
        if not report.is_file():
            raise FileNotFoundError(f"{report} is missing: its pytest run did not finish")
        for case in ET.parse(report).getroot().iter("testcase"):
            name = f"{case.get('classname', '')}::{case.get('name', '')}".lstrip(":")
            if case.find("failure") is not None or case.find("error") is not None:
                result.failed += 1
            elif (skip := case.find("skipped")) is not None:
                if skip.get("type") == "pytest.xfail":
                    result.expected_failures.append(f"{name}: {skip.get('message') or 'no reason given'}")
                else:
                    result.skipped.append(f"{name}: {skip_reason(skip)}")
            else:
                result.passed += 1
    return result


def tests(count: int) -> str:
    return f"{count:,} test{'' if count == 1 else 's'}"


def summary(result: Tally) -> str:
    if result.failed:
        return f"make test: {tests(result.failed)} FAILED ({result.passed:,} passed)"
    xfails = len(result.expected_failures)
    counted = f", {xfails:,} marked expected to fail (xfail)" if xfails else ""
    if not result.skipped:
        lines = [f"make test: all checks passed ({tests(result.passed)}, none skipped{counted})"]
    else:
        lines = [f"make test: {tests(result.passed)} passed{counted}, {len(result.skipped):,} SKIPPED "
                 "(not checked on this machine):"]
        lines += [f"  - {reason}" for reason in result.skipped]
    if xfails:
        lines.append("marked expected to fail (xfail), not counted as passed:")
        lines += [f"  - {reason}" for reason in result.expected_failures]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path, help="JUnit XML files, one per pytest run")
    args = parser.parse_args(argv)
    try:
        result = tally(args.reports)
    except (FileNotFoundError, ET.ParseError) as error:
        print(f"make test: cannot summarize: {error}", file=sys.stderr)
        return 2
    print(summary(result))
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
