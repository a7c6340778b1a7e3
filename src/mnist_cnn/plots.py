"""Figures that several notebooks draw: the series' style, grids of digits, feature maps and
filters, learning curves, the confusion matrix, saliency maps, and the widgets' readings.

A figure that one notebook alone draws is drawn there, in a cell marked `# extra code`."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextPath
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

# JupyterLab's text is 14 px; at 80 dpi a point is 80/72 px, so no figure text is under 13 pt.
TEXT_SIZES = {
    "font.size": 13, "axes.titlesize": 14, "axes.labelsize": 13, "xtick.labelsize": 13,
    "ytick.labelsize": 13, "legend.fontsize": 13, "legend.title_fontsize": 13,
    "figure.titlesize": 15, "figure.labelsize": 13,
}
SMALLEST_TEXT = 13
WIDEST = 11.5  # inches: JupyterLab's output area at 80 dpi; wider figures would be shrunk


def use_style() -> None:
    """One look for every figure of the series: seaborn's whitegrid, text no smaller than the
    notebook's own (13 pt and up), figures shown at 80 dpi and cropped to what they draw."""
    sns.set_theme(context="notebook", style="whitegrid", rc=TEXT_SIZES)
    plt.rcParams.update(TEXT_SIZES)  # after seaborn's context, which would lower them
    plt.rcParams["figure.dpi"] = 80
    plt.rcParams["savefig.bbox"] = "tight"


def _text_width(text: str, fontsize: float = SMALLEST_TEXT, weight: str = "normal") -> float:
    """Width in inches of the widest line of `text`, in the series' font."""
    prop = FontProperties(size=fontsize, weight=weight)
    widths = [TextPath((0, 0), line, prop=prop).get_extents().width
              for line in text.split("\n") if line.strip()]
    return max(widths, default=0.0) / 72


def _wrap(text: str, width: float, fontsize: float = SMALLEST_TEXT) -> str:
    """`text` broken at spaces into lines no wider than `width` inches (where words allow)."""
    if _text_width(text, fontsize) <= width:
        return text
    for chars in range(len(text), 0, -1):
        lines = textwrap.wrap(text, chars, break_long_words=False, break_on_hyphens=False)
        if all(_text_width(line, fontsize) <= width for line in lines) or chars == 1:
            return "\n".join(lines)
    return text


def _integer_ticks(axis) -> None:
    """Counts get whole-number ticks (an x- or y-axis of a plot, or a colorbar's axis)."""
    axis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 5, 10], integer=True))


LOG_TICK_LABELS = {
    "plain": lambda value: f"{value:g}",  # 0.5, 20, 300
    "percent": lambda value: f"{100 * value:g}%",  # a fraction: 0.005 -> 0.5%
    "thousands": lambda value: f"{value / 1000:g}k",  # 20000 -> 20k
}


def log_ticks(axis, values: Sequence[float] | None = None, labels: str = "plain") -> None:
    """Readable ticks on a log-scaled axis (`axes.xaxis` or `axes.yaxis`, after
    `axes.set(xscale="log")`): major ticks at 1, 2 and 5 of each decade, or at 1, 2, 3 and 5 when
    `values` (what the axis shows) span less than a decade, so that it still gets a few; no
    labels on the minor ticks; major labels written as `labels` says ("plain", "percent" for
    fractions, "thousands"; see LOG_TICK_LABELS)."""
    if labels not in LOG_TICK_LABELS:
        raise ValueError(f"labels must be one of {', '.join(LOG_TICK_LABELS)}; got {labels!r}")
    narrow = values is not None and np.max(values) < 10 * np.min(values)
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 3.0, 5.0) if narrow else (1.0, 2.0, 5.0)))
    axis.set_minor_formatter(NullFormatter())
    label = LOG_TICK_LABELS[labels]
    axis.set_major_formatter(FuncFormatter(lambda value, _position: label(value)))


def show_images(
    images: np.ndarray,
    titles: Sequence[str] | None = None,
    ncols: int = 10,
    size: float = 1.1,
    suptitle: str | None = None,
    title_colors: Sequence[str] | None = None,
) -> plt.Figure:
    """A grid of 28x28 images (dark digit on white paper, as a person writes it).

    Each panel is `size` inches, less if `ncols` of them would not fit the notebook's width,
    and wide enough for its title; where the titles need more room, fewer columns are used."""
    images = np.asarray(images).reshape(len(images), 28, 28)
    widest_title = max((_text_width(title) for title in titles), default=0.0) if titles else 0.0
    panel = max(min(size, WIDEST / ncols), widest_title + 0.25)
    ncols = max(1, min(ncols, int(WIDEST // panel)))
    side = min(size, panel)  # the image's own size; the panel may be wider, for its title
    lines = max((title.count("\n") + 1 for title in titles), default=1) if titles else 0
    nrows = max(1, int(np.ceil(len(images) / ncols)))
    figure, axes = plt.subplots(
        nrows, ncols, figsize=(ncols * panel, nrows * (side + 0.4 * lines)), squeeze=False
    )
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= len(images):
            continue
        axis.imshow(images[index], cmap="gray_r", vmin=0, vmax=images.max() or 1)
        if titles is not None:
            color = title_colors[index] if title_colors is not None else "black"
            axis.set_title(titles[index], fontsize=SMALLEST_TEXT, color=color)
    if suptitle:
        figure.suptitle(suptitle)
    figure.tight_layout(h_pad=0.8, w_pad=0.2)
    return figure


def plot_learning_curves(history: dict[str, Sequence[float]]) -> plt.Figure:
    """Loss and accuracy per epoch, on the training data and on the validation split."""
    epochs = np.arange(1, len(history["loss"]) + 1)
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for axis, metric in zip(axes, ("loss", "accuracy"), strict=True):
        axis.plot(epochs, history[metric], "o-", label="training")
        axis.plot(epochs, history[f"val_{metric}"], "s--", label="validation")
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.set_xticks(epochs)
        axis.legend()
    axes[0].set_title("Loss (lower is better)")
    axes[1].set_title("Accuracy (higher is better)")
    figure.tight_layout()
    return figure


def plot_confusion_matrix(
    matrix: np.ndarray, class_names: Sequence[str], title: str = "Confusion matrix"
) -> plt.Figure:
    """Counts of true class (rows) against predicted class (columns), every count written in
    its cell: the errors off the diagonal on a red scale of their own (they are what a reader
    looks for), the right answers on the diagonal in green."""
    matrix = np.asarray(matrix)
    diagonal = np.eye(len(matrix), dtype=bool)
    off_diagonal = np.where(diagonal, np.nan, matrix)
    figure, axis = plt.subplots(figsize=(9, 7.5))
    sns.heatmap(off_diagonal, annot=False, cmap="Reds", cbar_kws={"label": "errors"},
                xticklabels=class_names, yticklabels=class_names, ax=axis, linewidths=0.5,
                linecolor="white", vmin=0)
    _integer_ticks(axis.collections[0].colorbar.ax.yaxis)  # the errors are counts
    sns.heatmap(np.where(diagonal, matrix, np.nan), cmap="Greens", cbar=False, ax=axis, vmin=0,
                vmax=matrix.max() * 1.6, linewidths=0.5, linecolor="white",
                xticklabels=class_names, yticklabels=class_names)
    errors_top = np.nanmax(off_diagonal) if np.isfinite(off_diagonal).any() else 1
    for (row, column), count in np.ndenumerate(matrix):
        dark = (row != column and count > 0.6 * errors_top)
        axis.text(column + 0.5, row + 0.5, f"{count:d}", ha="center", va="center",
                  fontsize=SMALLEST_TEXT, color="white" if dark else "black",
                  weight="bold" if row == column else "normal")
    axis.grid(False)
    axis.set_xlabel("predicted class")
    axis.set_ylabel("true class")
    axis.set_title(title)
    figure.tight_layout()
    return figure


def _signed_limits(values: np.ndarray) -> tuple[float, float]:
    """Colour limits symmetric around 0, so that 0 is always the middle colour (white)."""
    largest = float(np.abs(values).max()) or 1.0
    return -largest, largest


def plot_feature_maps(maps: Sequence[np.ndarray], titles: Sequence[str], ncols: int | None = None,
                      signed: Sequence[bool] | bool = True, size: float = 2.4,
                      suptitle: str | None = None, row_labels: Sequence[str] | None = None
                      ) -> plt.Figure:
    """A grid of 2-D maps. Signed maps use a red-white-blue scale centred on 0 (red positive,
    blue negative); unsigned ones (digits, maps after ReLU) are drawn dark on white.

    Each map is `size` inches, less if `ncols` of them would not fit the notebook's width."""
    ncols = ncols or len(maps)
    nrows = int(np.ceil(len(maps) / ncols))
    signed = [signed] * len(maps) if isinstance(signed, bool) else list(signed)
    label_lines = max((label.count("\n") + 1 for label in row_labels), default=0) if row_labels else 0
    size = min(size, (WIDEST - 0.3 * label_lines) / ncols)
    title_lines = max((title.count("\n") + 1 for title in titles), default=1)
    figure, axes = plt.subplots(nrows, ncols, figsize=(ncols * size + 0.3 * label_lines,
                                                       nrows * (size + 0.3 * title_lines)),
                                squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.set_xticks([])
        axis.set_yticks([])
        if index >= len(maps):
            axis.axis("off")
            continue
        values = np.asarray(maps[index])
        if signed[index]:
            low, high = _signed_limits(values)
            axis.imshow(values, cmap="RdBu_r", vmin=low, vmax=high)
        else:
            axis.imshow(values, cmap="gray_r", vmin=0, vmax=float(values.max()) or 1.0)
        axis.set_title(titles[index], fontsize=SMALLEST_TEXT)
    if row_labels is not None:
        for row, label in enumerate(row_labels):
            axes[row, 0].set_ylabel(label, fontsize=SMALLEST_TEXT)
    if suptitle:
        figure.suptitle(suptitle)
    figure.tight_layout()
    return figure


def plot_filters(kernels: np.ndarray, row_labels: Sequence[str], suptitle: str,
                 size: float = 1.0, most: int = 16) -> plt.Figure:
    """Small (e.g. 3x3) filters: one row per condition (e.g. a step of training), one column per
    filter, at most `most` columns.

    `kernels` has shape (conditions, filters, k, k). More filters than `most` are wrapped into
    blocks: the first block holds filters 0-15 in one row per condition, the next 16-31, and so
    on, so a filter stays right above itself under the next condition. Each block is headed by
    the filters' numbers. Every condition shares one colour scale centred on 0 over all its
    filters (red positive, blue negative weights), so its filters can be compared."""
    kernels = np.asarray(kernels)
    conditions, count = kernels.shape[:2]
    blocks = int(np.ceil(count / most))
    columns = int(np.ceil(count / blocks))
    gap, header, between, top, margin = 0.07, 0.3, 0.2, 0.36, 0.1  # inches
    label_width = max(_text_width(label) for label in row_labels) + 0.3
    tile = min(size, (WIDEST - label_width - margin - (columns - 1) * gap) / columns)
    # Grid rows: per block, an empty row for the filters' numbers, then one row per condition.
    spacers = [header / tile] + [(header + between) / tile] * (blocks - 1)
    ratios = [ratio for spacer in spacers for ratio in (spacer, *[1.0] * conditions)]
    width = label_width + columns * tile + (columns - 1) * gap + margin
    height = top + tile * sum(ratios) + gap * (len(ratios) - 1) + margin
    figure = plt.figure(figsize=(width, height))
    grid = figure.add_gridspec(len(ratios), columns, height_ratios=ratios,
                               left=label_width / width, right=1 - margin / width,
                               top=1 - top / height, bottom=margin / height, wspace=gap / tile,
                               hspace=gap / (tile * np.mean(ratios)))
    for row in range(conditions):
        low, high = _signed_limits(kernels[row])
        for index in range(count):
            block, column = divmod(index, columns)
            axis = figure.add_subplot(grid[block * (conditions + 1) + 1 + row, column])
            axis.imshow(kernels[row, index], cmap="RdBu_r", vmin=low, vmax=high)
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(f"{index}", fontsize=SMALLEST_TEXT)
            if column == 0:
                axis.set_ylabel(row_labels[row], rotation=0, ha="right", va="center",
                                fontsize=SMALLEST_TEXT)
    figure.suptitle(suptitle, y=1 - 0.1 / height, va="top")
    return figure


def plot_saliency(images: np.ndarray, maps: dict, titles: Sequence[str],
                  group_titles: Sequence[str] = ("right answers", "confident mistakes"),
                  scales: dict | None = None) -> plt.Figure:
    """Each image, then each saliency map drawn over it (red: evidence), in groups side by side.

    `maps` maps a method's name to an array (N, 28, 28) aligned with `images` (N, 28, 28); the
    N images are split into len(group_titles) equal groups, drawn as blocks of columns.
    `scales` gives a method a fixed top of its colour scale (e.g. 1.0 for drops of a
    probability); the others are scaled per image, to their own largest value. A title wider
    than its panel is broken into lines."""
    scales = scales or {}
    groups = len(group_titles)
    per_group = int(np.ceil(len(images) / groups))
    columns = 1 + len(maps)
    panel = min(2.3, WIDEST / (groups * columns))
    titles = [_wrap(title, panel - 0.15) for title in titles]
    names = {name: _wrap(name, panel - 0.15) for name in maps}
    lines = max(text.count("\n") + 1 for text in [*titles, *names.values()])
    height = per_group * (panel + 0.3 * lines) + 0.5
    figure, axes = plt.subplots(per_group, groups * columns, figsize=(groups * columns * panel, height),
                                squeeze=False)
    for index in range(per_group * groups):
        group, row = divmod(index, per_group)
        cells = axes[row, group * columns:(group + 1) * columns]
        for axis in cells:
            axis.set_xticks([])
            axis.set_yticks([])
        if index >= len(images):
            for axis in cells:
                axis.axis("off")
            continue
        cells[0].imshow(images[index], cmap="gray_r", vmin=0, vmax=1)
        cells[0].set_title(titles[index], fontsize=SMALLEST_TEXT)
        for axis, (name, values) in zip(cells[1:], maps.items(), strict=True):
            axis.imshow(images[index], cmap="gray_r", vmin=0, vmax=1)
            heat = np.clip(values[index], 0, None)
            top = scales.get(name) or float(heat.max()) or 1.0
            axis.imshow(heat, cmap="Reds", alpha=0.6, vmin=0, vmax=top)
            axis.set_title(names[name], fontsize=SMALLEST_TEXT)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.45 / height), w_pad=0.6)
    for group, title in enumerate(group_titles):  # placed after the layout has moved the axes
        left = axes[0, group * columns].get_position().x0
        right = axes[0, (group + 1) * columns - 1].get_position().x1
        figure.text((left + right) / 2, 1 - 0.05 / height, title, ha="center", va="top",
                    fontsize=15, weight="bold")
    return figure


def _probability_bars(axis: plt.Axes, probabilities: np.ndarray, class_names: Sequence[str],
                      true_class: int | None = None) -> None:
    best = int(np.argmax(probabilities))
    colors = ["seagreen" if k == best else "lightgray" for k in range(len(probabilities))]
    if true_class is not None and true_class != best:
        colors[best] = "crimson"
    axis.barh(np.arange(len(probabilities)), probabilities, color=colors)
    axis.set_yticks(np.arange(len(probabilities)), class_names)
    axis.invert_yaxis()
    axis.set_xlim(0, 1)
    axis.set_xticks([0, 0.5, 1])
    axis.set_xlabel("probability")


def plot_reading(digit, probabilities: np.ndarray, maps: np.ndarray | None,
                 class_names: Sequence[str], title: str) -> plt.Figure:
    """What the network reads in one image: the MNIST-style preparation (the stages kept by
    notebook 06's `prepare_digit_image`), the ten probabilities, and feature maps (H, W,
    channels; the first eight are drawn) if given."""
    # The image as it is (a photo's paper is light); the stages after it are ink, drawn dark.
    stages = {"your image": (digit.original, "gray"), "ink, cropped": (digit.cropped, "gray_r"),
              "fitted in 20×20": (digit.fitted, "gray_r"), "28×28, as MNIST": (digit.image, "gray_r")}
    shown_maps = 0 if maps is None else min(8, maps.shape[-1])
    figure = plt.figure(figsize=(WIDEST - 0.3, 6 if shown_maps else 4.2))
    rows = 2 if shown_maps else 1
    grid = figure.add_gridspec(rows, 6, width_ratios=[1, 1, 1, 1, 0.1, 1.9],
                               height_ratios=[1, 0.55] if shown_maps else [1])
    for column, (name, (image, cmap)) in enumerate(stages.items()):
        axis = figure.add_subplot(grid[0, column])
        axis.imshow(image, cmap=cmap)
        axis.set_title(name, fontsize=SMALLEST_TEXT)
        axis.set_anchor("N")  # right under its title
        axis.axis("off")
    axis = figure.add_subplot(grid[0, 5])
    _probability_bars(axis, probabilities, class_names)
    best = int(np.argmax(probabilities))
    axis.set_title(f"it reads {class_names[best]} ({probabilities[best]:.0%})")
    if shown_maps:
        inner = grid[1, :].subgridspec(1, shown_maps, wspace=0.08)
        for channel in range(shown_maps):
            axis = figure.add_subplot(inner[0, channel])
            axis.imshow(maps[:, :, channel], cmap="gray_r", vmin=0)
            axis.set_title(f"map {channel}", fontsize=SMALLEST_TEXT)
            axis.set_anchor("N")
            axis.set_xticks([])
            axis.set_yticks([])
            axis.grid(False)
            if channel == 0:
                axis.set_ylabel("block 1", fontsize=SMALLEST_TEXT)
    figure.suptitle(_wrap(title, WIDEST - 0.5, fontsize=15))
    figure.tight_layout()
    return figure


def plot_probabilities_of(image: np.ndarray, probabilities: np.ndarray, class_names: Sequence[str],
                          title: str) -> plt.Figure:
    """One (changed) digit and the ten probabilities the network gives it. Narrow enough to
    stand beside the explorer's sliders."""
    figure, axes = plt.subplots(1, 2, figsize=(7.4, 4.4), gridspec_kw={"width_ratios": [1, 1.5]})
    axes[0].imshow(image, cmap="gray_r", vmin=0, vmax=1)
    axes[0].axis("off")
    _probability_bars(axes[1], probabilities, class_names)
    best = int(np.argmax(probabilities))
    axes[1].set_title(f"it reads {class_names[best]} ({probabilities[best]:.0%})")
    figure.suptitle(_wrap(title, 7.0, fontsize=15))
    figure.tight_layout()
    return figure


def plot_class_runs(logs: Sequence) -> tuple[plt.Figure, object]:
    """A class's runs in one view: each group's experiment log (notebook 04's CSV, named after
    the group), one row per configuration, one point per run, by validation accuracy (what
    runs are compared on). Returns the figure and the table it draws."""
    import pandas as pd

    if not logs:
        raise FileNotFoundError("No experiment logs (GROUP.csv) in that folder: each group runs "
                                "`python -m mnist_cnn export GROUP --to FOLDER` first.")
    runs = pd.concat([pd.read_csv(path).assign(group=Path(path).stem) for path in logs], ignore_index=True)
    runs["configuration"] = runs["changes"].fillna("").replace("", "default (as shipped)")
    runs["configuration"] += ["" if seed == 42 else f", seed {seed}" for seed in runs["seed"]]
    order = runs.groupby("configuration")["val_accuracy"].median().sort_values(ascending=False).index
    figure, axis = plt.subplots(figsize=(WIDEST - 0.5, 1.2 + 0.5 * len(order)))
    sns.stripplot(data=runs, x=100 * runs["val_accuracy"], y="configuration", hue="group", order=order,
                  size=9, jitter=0.15, ax=axis)
    axis.set(xlabel="validation accuracy (%)", ylabel="", title=f"The class's runs: {len(runs)} runs of "
             f"{runs['group'].nunique()} groups")
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="group")
    figure.tight_layout()
    table = runs[["group", "configuration", "epochs", "val_accuracy", "test_accuracy", "fit_seconds"]]
    return figure, table.sort_values(["configuration", "group"])
