"""The series' commands, on any system, with or without `make` (each Make target calls one):

    python -m mnist_cnn run [NAME=VALUE ...]      run the series headless (01-06, 08a, 08b, 09)
    python -m mnist_cnn run 03 04 EPOCHS=1        some notebooks, with a setting changed
    python -m mnist_cnn lab                       JupyterLab on your copy of the notebooks (lab/)
    python -m mnist_cnn notebooks [03 03_solutions ...]  re-store outputs in place
    python -m mnist_cnn test                      every test (what CI runs)
    python -m mnist_cnn student                   the student edition, as a zip
    python -m mnist_cnn data --from FOLDER        copy an offline copy of the data (verified)
    python -m mnist_cnn export NAME --to FOLDER   hand in your experiment log for the class view
    python -m mnist_cnn class-report FOLDER       every group's runs in one figure
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from . import STRICT_VARIABLE
from .data import NOTEBOOKS, READING_ORDER, DataError, Files, copy_offline, find_root
from .run import ParameterError, check_settings, execute, inject, parse_settings

SERIES = ("01", "02", "03", "04", "05", "06", "08a", "08b", "09")  # `run`: all but the optional 07s
FASHION = Path("the series on Fashion-MNIST")  # `notebooks`: run (not stored) before the solutions
LAB_OPTIONS = [  # a closed notebook's kernel (1 to 2 GB) is shut down after 15 idle minutes
    "--MappingKernelManager.cull_idle_timeout=900", "--MappingKernelManager.cull_interval=60",
    "--MappingKernelManager.cull_connected=False",
]


def _notebook(root: Path, key: str, solutions: bool = False) -> Path:
    if solutions:
        path = root / "notebooks" / "solutions" / f"{key}_solutions.ipynb"
        if not path.is_file():
            raise ParameterError(f"There are no worked solutions {key}_solutions: choose among "
                                 f"{', '.join(k + '_solutions' for k in READING_ORDER)}.")
        return path
    if key not in NOTEBOOKS:
        raise ParameterError(f"There is no notebook {key}: choose among {', '.join(READING_ORDER)}.")
    return root / "notebooks" / NOTEBOOKS[key]


def _run(path: Path, settings: dict, store: bool) -> None:
    book = inject(nbformat.read(path, as_version=4), settings)
    given = " ".join(f"{name}={value!r}" for name, value in settings.items())
    print(f"running {path.relative_to(path.parents[1])} {given}...", flush=True)
    execute(book, path.parent)
    if store:
        from .widgets import strip_widget_views

        strip_widget_views(book)
        nbformat.write(book, path)


def command_run(args, root: Path) -> int:
    """Run notebooks headless in order (settings injected); `notebooks` stores the outputs."""
    store = args.command == "notebooks"
    keys = [a for a in args.items if "=" not in a]
    settings = parse_settings([a for a in args.items if "=" in a])
    if store and settings:
        raise ParameterError("`notebooks` re-stores the series as shipped: it takes no settings.")
    if store:
        # The stored notebook 04 shows the runs of this re-store only, not the maintainer's earlier ones.
        log = root / "build" / "re-store-experiments.csv"
        log.unlink(missing_ok=True)
        os.environ["MNIST_CNN_EXPERIMENT_LOG"] = str(log)
        paths = [_notebook(root, key.removesuffix("_solutions"), key.endswith("_solutions"))
                 for key in (keys or READING_ORDER)]
        if not keys:  # the solutions of 07a, 08a and 08b compare with the series on Fashion-MNIST
            paths += [FASHION, *sorted((root / "notebooks" / "solutions").glob("*_solutions.ipynb"))]
    else:
        paths = [_notebook(root, key) for key in (keys or SERIES)]
    books = {path: nbformat.read(path, as_version=4) for path in paths if path != FASHION}
    check_settings(settings, books)
    for path in paths:
        if path == FASHION:
            for key in ("01", "02", "03", "04", "05"):
                _run(_notebook(root, key), {"DATASET": "fashion_mnist"}, store=False)
        else:
            _run(path, settings, store)
    metrics = Files(settings.get("DATASET", "mnist"), root)["metrics"]
    if not store and metrics.is_file() and metrics.stat().st_mtime > _started:
        import json

        values = json.loads(metrics.read_text())
        print(f"test accuracy {values['test_accuracy']:.2%} ({values['test_errors']} errors); "
              f"the trained model: {Files(values['dataset'], root).relative('trained_model')}")
    return 0


def command_lab(args, root: Path) -> int:
    """Copy the notebooks into lab/ (never over your copies) and open JupyterLab there."""
    lab = root / "lab"
    for source in [*(root / "notebooks").glob("*.ipynb"), *(root / "notebooks").rglob("results/*"),
                   *(root / "notebooks" / "solutions").glob("*.ipynb")]:
        target = lab / source.relative_to(root / "notebooks")
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    print("lab/ holds your copies of the notebooks (delete one to get the current version back).")
    return subprocess.call([sys.executable, "-m", "jupyter", "lab", *LAB_OPTIONS, *args.items], cwd=lab)


def command_test(args, root: Path) -> int:
    """ruff, then two pytest runs side by side: the unit tests, every lesson under nbval (its
    checks assert), the series on Fashion-MNIST and every worked solution, in order; beside them
    the editions, Colab and the browser. Arguments after `test` go to pytest (say `-x`, or paths
    to test only those, in one run)."""
    os.environ[STRICT_VARIABLE] = "1"
    if subprocess.call([sys.executable, "-m", "ruff", "check", "src", "tests", "tools", "notebooks"], cwd=root):
        return 1
    paths = [a for a in args.items if not a.startswith("-")]
    options = [a for a in args.items if a.startswith("-")]
    pytest = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=1800",
              "--durations=15", *options]
    if paths:
        return subprocess.call([*pytest, *paths], cwd=root)
    tests = sorted(str(p.relative_to(root)) for p in (root / "tests").glob("test_*.py"))
    beside = ["tests/test_editions.py", "tests/test_colab.py", "tests/test_browser.py"]
    lessons = [f"notebooks/{NOTEBOOKS[key]}" for key in READING_ORDER]
    solutions = [f"notebooks/solutions/{key}_solutions.ipynb" for key in READING_ORDER
                 if (root / "notebooks" / "solutions" / f"{key}_solutions.ipynb").is_file()]
    series = [*[t for t in tests if t not in [*beside, "tests/test_fashion.py"]], *lessons, "tests/test_fashion.py",
              *solutions]
    # The editions and Colab share no file with the series' run (the browser test comes last, after
    # 06 has saved its model), and a notebook keeps about one of the two cores busy: run them beside it.
    log = root / "build" / "test-beside.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("w") as out:
        other = subprocess.Popen([*pytest, "-p", "no:cacheprovider", *beside], cwd=root, stdout=out,
                                 stderr=subprocess.STDOUT)
        code = subprocess.call([*pytest, *series], cwd=root)
        other_code = other.wait()
    print(f"\n{' '.join(beside)} (beside the series; all of it in {log.relative_to(root)}):")
    print(log.read_text(encoding="utf-8", errors="replace")[-4000:])
    return code or other_code


def command_data(args, root: Path) -> int:
    for dataset, folder in (("mnist", args.source / "mnist" if args.both else args.source),
                            ("fashion_mnist", args.source / "fashion_mnist" if args.both else None)):
        if folder is not None:
            print(copy_offline(folder, dataset, root))
    return 0


def command_export(args, root: Path) -> int:
    log = Files("mnist", root).experiment_log
    if not log.is_file():
        raise DataError(f"{log.relative_to(root)} does not exist yet: run notebooks 03 and 04 first.")
    args.to.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(log, args.to / f"{args.name}.csv")
    print(f"copied your {log.relative_to(root)} to {args.to / (args.name + '.csv')}")
    return 0


def command_class_report(args, root: Path) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from . import plots

    figure, table = plots.plot_class_runs(sorted(args.folder.glob("*.csv")))
    out = root / "reports" / "class_runs.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    print(table.to_string(index=False))
    print(f"wrote {out.relative_to(root)}")
    return 0


def command_student(args, root: Path) -> int:
    return subprocess.call([sys.executable, str(root / "tools" / "build_student.py")])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mnist_cnn", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "notebooks", "lab", "test"):
        commands.add_parser(name).add_argument("items", nargs="*")
    data = commands.add_parser("data")
    data.add_argument("--from", dest="source", type=Path, required=True)
    data.add_argument("--both", action="store_true", help="FOLDER holds mnist/ and fashion_mnist/")
    commands.add_parser("student")
    export = commands.add_parser("export")
    export.add_argument("name")
    export.add_argument("--to", type=Path, default=Path("reports/class"))
    report = commands.add_parser("class-report")
    report.add_argument("folder", type=Path)
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command in ("test", "lab"):
        args.items += unknown
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    handler = {"run": command_run, "notebooks": command_run, "lab": command_lab, "test": command_test,
               "data": command_data, "student": command_student, "export": command_export,
               "class-report": command_class_report}[args.command]
    try:
        return handler(args, find_root())
    except (ParameterError, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


_started = __import__("time").time()

if __name__ == "__main__":
    raise SystemExit(main())
