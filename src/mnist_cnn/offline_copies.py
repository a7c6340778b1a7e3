"""Copy an offline copy of the raw IDX files into data/raw/<dataset>/ and verify it.

    python -m mnist_cnn.offline_copies --from ../shared/mnist

Without a copy at that place nothing is copied: notebook 01 then downloads the data with
Keras (online), or says how to get it (offline). A copy that fails verification is removed
again, so data/raw/ never holds a damaged file set.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from .datasets import IDX_FILES, get_dataset
from .errors import DataError
from .paths import find_project_root
from .raw_data import find_idx_file, load_idx_folder


def prepare(source: Path, dataset_name: str, root: Path) -> str:
    dataset = get_dataset(dataset_name)
    target = root / "data" / "raw" / dataset.name
    if all(find_idx_file(target, name) for name in IDX_FILES):
        load_idx_folder(target, dataset)
        return f"{dataset.title}: data/raw/{dataset.name}/ is present and verified"
    if not source.is_dir():
        return (
            f"{dataset.title}: no offline copy at {source}; notebook 01 will download it with "
            f"Keras (needs internet)"
        )
    load_idx_folder(source, dataset)  # verify before copying anything
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    try:
        for name in IDX_FILES:
            file = find_idx_file(source, name)
            shutil.copyfile(file, target / file.name)
            copied.append(target / file.name)
        load_idx_folder(target, dataset)
    except (OSError, DataError):
        for file in copied:
            file.unlink(missing_ok=True)
        raise
    return f"{dataset.title}: copied and verified {len(copied)} files into data/raw/{dataset.name}/"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, required=True)
    parser.add_argument("--dataset", default="mnist")
    args = parser.parse_args(argv)
    try:
        print(prepare(args.source, args.dataset, find_project_root()))
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
