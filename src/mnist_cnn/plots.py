"""Plotting helpers shared by the notebooks (matplotlib and seaborn)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextPath
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

# JupyterLab's notebook text is 14 px; at the series' 80 dpi a point is 80/72 px, so no text of
# a figure is smaller than 13 pt (14.4 px).
TEXT_SIZES = {
    "font.size": 13, "axes.titlesize": 14, "axes.labelsize": 13, "xtick.labelsize": 13,
    "ytick.labelsize": 13, "legend.fontsize": 13, "legend.title_fontsize": 13,
    "figure.titlesize": 15, "figure.labelsize": 13,
}
SMALLEST_TEXT = 13  # points: annotations and the titles of small panels
# Lab's output area is about 950 px wide in a 1,400 px window; wider images are shrunk, their
# text with them. Figures are laid out within this width (11.5 in = 920 px at 80 dpi).
WIDEST = 11.5


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


def plot_class_balance(
    train_labels: np.ndarray, test_labels: np.ndarray, class_names: Sequence[str]
) -> plt.Figure:
    """How many examples of each class the training and test sets hold."""
    classes = np.arange(len(class_names))
    train_counts = np.bincount(train_labels, minlength=len(classes))
    test_counts = np.bincount(test_labels, minlength=len(classes))
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=False)
    for axis, counts, name in zip(axes, (train_counts, test_counts), ("training", "test"),
                                  strict=True):
        sns.barplot(x=list(class_names), y=counts, ax=axis, color="steelblue")
        axis.axhline(counts.mean(), color="darkorange", linestyle="--", label="mean")
        axis.set_title(f"{name} set: {counts.sum():,} images")
        axis.set_xlabel("class")
        axis.set_ylabel("images")
        axis.set_ylim(0, counts.max() * 1.3)  # room above the bars for the legend
        _integer_ticks(axis.yaxis)
        axis.tick_params(axis="x", rotation=45 if len(max(class_names, key=len)) > 2 else 0)
        if len(max(class_names, key=len)) > 2:
            plt.setp(axis.get_xticklabels(), ha="right", rotation_mode="anchor")
        axis.legend(loc="upper right")
    figure.tight_layout()
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


def plot_confidence(confidence: np.ndarray, correct: np.ndarray,
                    threshold: float | None = None) -> plt.Figure:
    """How sure the model is when it is right (left) and when it is wrong (right).

    Two panels of counts, each on its own scale (the wrong answers are a hundred times fewer),
    with the count written above each bar; the highest softmax probability is at least 0.1 with
    ten classes, so the bins run from 0.1 to 1 in steps of 0.1. `threshold`, when given, is
    drawn as a dashed line: the answers left of it are the ones a system would pass to a person.
    """
    bins = np.linspace(0.1, 1.0, 10)
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    for axis, chosen, name, colour in ((axes[0], correct, "right", "seagreen"),
                                       (axes[1], ~correct, "wrong", "crimson")):
        counts, _, bars = axis.hist(confidence[chosen], bins=bins, color=colour, edgecolor="white")
        # On white: a threshold on a bin edge would otherwise cross the count (text is drawn
        # above lines, so the box hides the line behind it).
        axis.bar_label(bars, labels=[f"{int(count):,}" if count else "" for count in counts],
                       fontsize=SMALLEST_TEXT, padding=2,
                       bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "edgecolor": "none"})
        axis.set_ylim(0, max(counts.max(), 1) * 1.18)  # room for the count above the tallest bar
        axis.set_title(f"{name} answers ({int(chosen.sum()):,})")
        axis.set_xlabel("confidence (highest softmax probability)")
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))
        axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        if threshold is not None:
            axis.axvline(threshold, color="black", linestyle="--", linewidth=1.5,
                         label=f"threshold {threshold:g}")
    axes[0].set_ylabel("test images")
    if threshold is not None:
        axes[1].legend(loc="upper left")
    axes[0].set_xlim(0.1, 1.0)
    figure.tight_layout()
    return figure


def plot_runs(runs: Sequence[dict], reference=None, current_run_id: str | None = None,
              most: int = 8) -> plt.Figure:
    """Validation loss and accuracy per epoch of several training runs, against the default.

    `runs` are records of the experiment log. The default's reference is drawn as a grey band
    (the range of its curves over the reference seeds) and a dashed line: its curve with the
    current run's seed when the reference has that seed (same split, same initial weights: the
    fair comparison), else its mean. The current run is a thick line, earlier runs thin ones;
    only the `most` latest runs are drawn, so the legend stays readable.
    """
    shown = list(runs)[-most:]
    current = next((run for run in shown if run["run_id"] == current_run_id), None)
    seed = current.get("seed") if current else None
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    for axis, metric, label in ((axes[0], "val_loss", "validation loss"),
                                (axes[1], "val_accuracy", "validation accuracy")):
        if reference is not None:
            curves = np.asarray(reference.history_per_seed[metric])
            epochs = np.arange(1, curves.shape[1] + 1)
            seeds = ", ".join(str(s) for s in reference.seeds)
            axis.fill_between(epochs, curves.min(axis=0), curves.max(axis=0), color="0.85",
                              label=f"default, seeds {seeds}: range")
            if seed in reference.seeds:
                line, name = curves[reference.seeds.index(seed)], f"default, seed {seed}"
            else:
                line, name = curves.mean(axis=0), "default: mean over seeds"
            axis.plot(epochs, line, color="0.35", linestyle="--", linewidth=2, label=name)
        for run in shown:
            values = run["history"][metric]
            is_current = run is current
            name = ", ".join(run.get("changes", [])) or "default"
            axis.plot(np.arange(1, len(values) + 1), values, marker="o",
                      linewidth=3 if is_current else 1.2, markersize=6 if is_current else 3,
                      label=f"{name} (seed {run.get('seed')})" + (" - this run" if is_current else ""))
        axis.set_xlabel("epoch")
        axis.set_ylabel(label)
        _integer_ticks(axis.xaxis)
    axes[0].set_title("Validation loss (lower is better)")
    axes[1].set_title("Validation accuracy (higher is better)")
    handles, labels = axes[1].get_legend_handles_labels()
    widest = max((_text_width(label) for label in labels), default=0.0) + 0.9  # with its marker
    columns = 2 if 2 * widest <= WIDEST - 0.5 else 1
    figure.set_figheight(4 + 0.3 * np.ceil(len(labels) / columns))  # the legend below, the plots as tall
    figure.legend(handles, labels, loc="outside lower center", frameon=False, ncol=columns)
    return figure


# ----- looking inside the network (notebooks 02, 03 and 08) ---------------------------------------
def _signed_limits(values: np.ndarray) -> tuple[float, float]:
    """Colour limits symmetric around 0, so that 0 is always the middle colour (white)."""
    largest = float(np.abs(values).max()) or 1.0
    return -largest, largest


def _annotate(axis: plt.Axes, values: np.ndarray, fmt: str, dark_above: float,
              fontsize: float = SMALLEST_TEXT) -> None:
    """Write each value in its cell, white on the cells whose colour is dark."""
    for (r, c), value in np.ndenumerate(values):
        color = "white" if abs(value) > dark_above else "black"
        axis.text(c, r, format(value, fmt), ha="center", va="center", fontsize=fontsize,
                  color=color)


def plot_convolution_step(image: np.ndarray, kernel: np.ndarray, row: int, col: int,
                          padding: str = "same") -> plt.Figure:
    """One output value of a convolution, worked out: the window on the digit, its pixel values,
    the filter's weights, their products, and the sum that becomes the feature map's value at
    (row, col). With padding "same" the image gets a border of zeros first (the window may
    reach into it) and output (row, col) is centred on pixel (row, col); with "valid" there is
    no border and the window's top-left corner is pixel (row, col).

    Up to 3x3 the four panels stand in one row; a larger filter gets a 2x2 grid, so that every
    written value keeps room in its cell."""
    size = kernel.shape[0]
    border = (size - 1) // 2 if padding == "same" else 0  # Keras pads (size-1)//2 before, the rest after
    padded = np.pad(image, (border, size - 1 - border)) if padding == "same" else image
    patch = padded[row:row + size, col:col + size]
    products = patch * kernel
    if size <= 3:
        figure, axes = plt.subplots(1, 4, figsize=(WIDEST, 3.9),
                                    gridspec_kw={"width_ratios": [0.85, 1, 1, 1]})
    else:
        side = min(WIDEST, 1.1 * size + 5)
        figure, grid = plt.subplots(2, 2, figsize=(side, side + 0.5))
        axes = grid.ravel()
    axes[0].imshow(image, cmap="gray_r", vmin=0, vmax=1)
    axes[0].add_patch(plt.Rectangle((col - border - 0.5, row - border - 0.5), size, size,
                                    fill=False, edgecolor="crimson", linewidth=2.5))
    axes[0].set_title(f"window of output\nrow {row}, column {col}")
    axes[1].imshow(patch, cmap="gray_r", vmin=0, vmax=1)
    _annotate(axes[1], patch, ".2f", dark_above=0.5)
    axes[1].set_title("pixel values\nin the window")
    low, high = _signed_limits(kernel)
    axes[2].imshow(kernel, cmap="RdBu_r", vmin=low, vmax=high)
    _annotate(axes[2], kernel, "+.2f", dark_above=0.6 * high)
    axes[2].set_title("the filter's\nweights")
    low, high = _signed_limits(products)
    axes[3].imshow(products, cmap="RdBu_r", vmin=low, vmax=high)
    _annotate(axes[3], products, "+.3f", dark_above=0.6 * high)
    axes[3].set_title(f"products,\nsum = {products.sum():+.4f}")
    for axis in axes:
        axis.set_xticks([])
        axis.set_yticks([])
    for axis in axes[1:]:
        axis.set_xlabel("window column")
    axes[1].set_ylabel("window row")
    figure.suptitle("window × weights, summed: one value of the feature map")
    figure.tight_layout()
    return figure


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


def plot_receptive_fields(image: np.ndarray, boxes: Sequence[tuple[str, int, int, int, int]]
                          ) -> plt.Figure:
    """The digit with, for one unit of each layer, the square of pixels it sees.

    `boxes` holds (label, top, bottom, left, right), inclusive pixel indices."""
    figure, axis = plt.subplots(figsize=(8.5, 6.5))
    axis.imshow(image, cmap="gray_r", vmin=0, vmax=1)
    colors = plt.cm.viridis(np.linspace(0.0, 0.9, len(boxes)))
    for (label, top, bottom, left, right), color in zip(boxes, colors, strict=True):
        axis.add_patch(plt.Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1,
                                     fill=False, edgecolor=color, linewidth=2.5, label=label))
    axis.grid(False)
    axis.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    axis.set_title("What one unit of each layer sees of the digit")
    axis.set_xlabel("column")
    axis.set_ylabel("row")
    figure.tight_layout()
    return figure


ARCHITECTURE_HEADER = ("layer", "output shape", "weights")


def _block_size(shape: tuple) -> tuple[float, float]:
    """Width and thickness (inches) of a layer's block in `plot_architecture`: an image-shaped
    output is as wide as its height in pixels and as thick as the square root of its channels
    (up to a row's height); a vector is a thin bar as long as the log of its length."""
    if len(shape) == 3:
        return 0.08 * shape[0], min(0.42, 0.05 * np.sqrt(shape[2]))
    return 0.25 * np.log2(shape[0]), 0.12


def plot_architecture(model) -> plt.Figure:
    """The network as it is built, drawn from the model: one row per layer, top to bottom.

    Each row holds the layer's block and, to its right, its name, output shape and number of
    weights, as a table. Image-shaped outputs (height x width x channels) are drawn as slabs
    whose width follows the image size and whose thickness follows the number of channels;
    vectors as thin bars whose width follows their length (log scale). The figure is laid out
    in inches: its data coordinates are inches from the top left corner of the table."""
    layers = list(model.layers)
    shapes = [tuple(layer.output.shape[1:]) for layer in layers]
    rows = [(layer.name, " × ".join(str(d) for d in shape), f"{layer.count_params():,}")
            for layer, shape in zip(layers, shapes, strict=True)]
    kinds = {"Conv2D": "steelblue", "BatchNormalization": "lightsteelblue", "Activation": "khaki",
             "MaxPooling2D": "darkorange", "Flatten": "gray", "Dropout": "lightgray",
             "Dense": "seagreen", "GlobalAveragePooling2D": "darkorange"}
    used = [kind for kind in kinds if any(type(layer).__name__ == kind for layer in layers)]
    pitch, header, title, gap = 0.45, 0.45, 0.8, 0.35  # inches
    drawing = max(_block_size(shape)[0] for shape in shapes) + 0.2
    column_widths = [max(_text_width(row[k]) for row in [*rows, ARCHITECTURE_HEADER]) for k in range(3)]
    name_x = drawing + gap
    shape_x = name_x + column_widths[0] + gap
    weights_right = shape_x + column_widths[1] + gap + column_widths[2]
    legend_x = weights_right + gap
    width = legend_x + max(_text_width(kind) for kind in used) + 0.9
    height = header + pitch * len(layers) + 0.1
    figure = plt.figure(figsize=(width, height + title))
    axis = figure.add_axes((0, 0, 1, height / (height + title)))
    for x, text, align in zip((name_x, shape_x, weights_right), ARCHITECTURE_HEADER,
                              ("left", "left", "right"), strict=True):
        axis.text(x, -header / 2, text, ha=align, va="center", weight="bold")
    for index, (layer, shape, (name, shape_text, weights)) in enumerate(zip(layers, shapes, rows,
                                                                            strict=True)):
        y = -(header + (index + 0.5) * pitch)
        block_width, thickness = _block_size(shape)
        axis.add_patch(plt.Rectangle((drawing / 2 - block_width / 2, y - thickness / 2), block_width,
                                     thickness, facecolor=kinds.get(type(layer).__name__, "white"),
                                     edgecolor="black"))
        axis.text(name_x, y, name, ha="left", va="center")
        axis.text(shape_x, y, shape_text, ha="left", va="center")
        axis.text(weights_right, y, weights, ha="right", va="center")
    axis.plot([name_x, weights_right], [-header, -header], color="0.6", linewidth=1)
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor=kinds[kind], edgecolor="black") for kind in used]
    axis.legend(handles, used, loc="upper left", bbox_to_anchor=(legend_x, 0),
                bbox_transform=axis.transData, frameon=False, borderaxespad=0)
    axis.set_xlim(0, width)
    axis.set_ylim(-height, 0)
    axis.axis("off")
    axis.set_title(f"{model.name}: {len(layers)} layers, {model.count_params():,} weights\n"
                   "block width: image size, or vector length (log scale); thickness: channels",
                   loc="left", x=0.1 / width)
    return figure


def plot_journey(image: np.ndarray, activations: dict, class_names: Sequence[str]) -> plt.Figure:
    """One digit through a trained network: the input, every feature map of the two blocks
    (after ReLU), the dense layer's numbers and the probabilities.

    `activations` holds the outputs (batch of one) of "block1_relu" (1, H, W, C1),
    "block2_relu" (1, H', W', C2), "dense_relu" (1, units) and "class_probabilities" (1, classes).
    The maps are tiled, 4 to a row for block 1 and 8 to a row for block 2.
    """
    block1 = activations["block1_relu"][0]
    block2 = activations["block2_relu"][0]
    dense = activations["dense_relu"][0]
    probabilities = activations["class_probabilities"][0]

    def tiles(maps: np.ndarray, columns: int) -> np.ndarray:
        count, (height, width) = maps.shape[-1], maps.shape[:2]
        rows = int(np.ceil(count / columns))
        canvas = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1), np.nan)
        for index in range(count):
            r, c = divmod(index, columns)
            values = maps[:, :, index]
            scale = values.max() or 1.0
            canvas[r * (height + 1):r * (height + 1) + height,
                   c * (width + 1):c * (width + 1) + width] = values / scale
        return canvas

    def size(maps: np.ndarray) -> str:
        return f"{maps.shape[-1]} maps of {maps.shape[0]}×{maps.shape[1]}"

    panels = [(image, f"input\n{image.shape[0]}×{image.shape[1]}"),
              (tiles(block1, 4), f"block 1:\n{size(block1)}"),
              (tiles(block2, 8), f"block 2:\n{size(block2)}")]
    # The maps' panels as wide as their pictures are (for their height), the input smaller.
    aspects = [float(np.clip(values.shape[1] / values.shape[0], 0.4, 1.5)) for values, _ in panels[1:]]
    figure = plt.figure(figsize=(WIDEST - 0.3, 7))
    grid = figure.add_gridspec(2, 4, width_ratios=[0.5, *aspects, 0.7], height_ratios=[1, 0.28])
    cmap = plt.get_cmap("gray_r").with_extremes(bad="white")
    for column, (values, title) in enumerate(panels):
        axis = figure.add_subplot(grid[0, column])
        axis.imshow(values, cmap=cmap, vmin=0, vmax=1)
        axis.set_title(title)
        axis.axis("off")
    axis = figure.add_subplot(grid[0, 3])
    _probability_bars(axis, probabilities, class_names)
    axis.set_title("softmax:\nthe answer")
    axis = figure.add_subplot(grid[1, :])
    axis.imshow(dense[np.newaxis, :], cmap="gray_r", aspect="auto", vmin=0)
    axis.set_yticks([])
    axis.set_xlabel(f"the {len(dense)} numbers of the dense layer (after ReLU; darker = larger)")
    figure.suptitle("One digit through the trained network (each map on its own scale)")
    figure.tight_layout()
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


def plot_embedding(points: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                   mistakes: np.ndarray, title: str) -> plt.Figure:
    """A 2-D projection of feature vectors, coloured by class, mistakes marked with black x."""
    figure, axis = plt.subplots(figsize=(10.5, 7.5))
    palette = sns.color_palette("tab10", len(class_names))
    for k, name in enumerate(class_names):
        chosen = labels == k
        axis.scatter(points[chosen, 0], points[chosen, 1], s=8, alpha=0.6, color=palette[k], label=name)
        centre = points[chosen].mean(axis=0)
        axis.text(centre[0], centre[1], name, fontsize=15, weight="bold", ha="center", va="center",
                  bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": palette[k]})
    axis.scatter(points[mistakes, 0], points[mistakes, 1], s=60, marker="x", color="black",
                 label=f"misclassified ({int(mistakes.sum())})")
    axis.set_xlabel("first principal component")
    axis.set_ylabel("second principal component")
    axis.set_title(_wrap(title, 7.5, fontsize=14))
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=2, frameon=False)
    figure.tight_layout()
    return figure


def plot_shift_robustness(shifts: Sequence[int], curves: dict) -> plt.Figure:
    """Mean probability of the true class against the shift of the digits, per network.

    `curves` maps (network, direction) to one value per shift; thin lines show each direction,
    the thick line their mean."""
    figure, axis = plt.subplots(figsize=(9, 4.5))
    networks = list(dict.fromkeys(name for name, _ in curves))
    palette = dict(zip(networks, ["seagreen", "crimson", *sns.color_palette("tab10")], strict=False))
    for network in networks:
        lines = [values for (name, _), values in curves.items() if name == network]
        for values in lines:
            axis.plot(shifts, values, color=palette[network], linewidth=0.8, alpha=0.5)
        axis.plot(shifts, np.mean(lines, axis=0), color=palette[network], linewidth=3, marker="o",
                  label=network)
    axis.set_xticks(list(shifts))
    axis.set_ylim(0, 1.02)
    axis.set_xlabel("shift of the test digits (pixels, in each of four directions)")
    axis.set_ylabel("mean probability\nof the true class")
    axis.set_title("How far can a digit move before the network loses it?")
    axis.legend(loc="lower left")
    figure.tight_layout()
    return figure


def plot_probabilities_over_training(images: np.ndarray, steps: Sequence[int], probabilities: np.ndarray,
                                     class_labels: Sequence[str]) -> plt.Figure:
    """A grid over training: each column one image (drawn on top), each row one training step,
    each cell the probability the network gave the image's true class at that step.

    `probabilities` has shape (steps, images)."""
    count = len(images)
    labels = [f"after {step:,} steps" for step in steps]
    margins = _text_width(labels[-1]) + 1.6  # the rows' labels on the left, the colour bar on the right
    column = min(1.25, (WIDEST - margins) / count)
    figure = plt.figure(figsize=(column * count + margins, 1.0 + column + 0.42 * len(steps)),
                        layout="constrained")
    grid = figure.add_gridspec(2, count + 1, height_ratios=[column, 0.42 * len(steps)],
                               width_ratios=[1] * count + [0.15])
    for index in range(count):
        axis = figure.add_subplot(grid[0, index])
        axis.imshow(images[index].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        axis.set_axis_off()
    axis = figure.add_subplot(grid[1, :count])
    image = axis.imshow(probabilities, cmap="Greens", vmin=0, vmax=1, aspect="auto")
    axis.grid(False)
    for (row, index), value in np.ndenumerate(probabilities):
        axis.text(index, row, f"{value:.2f}", ha="center", va="center", fontsize=SMALLEST_TEXT,
                  color="white" if value > 0.6 else "black")
    axis.set_xticks(range(count), class_labels)
    axis.set_yticks(range(len(steps)), labels)
    axis.set_xlabel("true class")
    figure.colorbar(image, cax=figure.add_subplot(grid[1, count]), label="probability")
    figure.suptitle(f"The probability of the true class, for {count} validation images, during training")
    return figure


def print_summary(model, line_length: int = 90) -> None:
    """Print Keras's `model.summary()` as plain text.

    In Jupyter, Keras draws the summary with `rich`, which either writes colour codes into the
    stored output or, when asked for plain text, also leaves an empty HTML block behind. The
    same table is printed here as plain text, with rich's Jupyter mode switched off for the call
    and the console as wide as the table.
    """
    import os

    import rich.console

    lines: list[str] = []
    detect, columns = rich.console._is_jupyter, os.environ.get("COLUMNS")
    rich.console._is_jupyter = lambda: False
    os.environ["COLUMNS"] = str(line_length + 10)  # without a terminal, rich would cut at 80
    try:
        model.summary(line_length=line_length, print_fn=lines.append)
    finally:
        rich.console._is_jupyter = detect
        if columns is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = columns
    print("\n".join(lines).rstrip("\n"))


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


def plot_robustness_sweeps(sweeps: dict) -> plt.Figure:
    """How the network's accuracy and its probability for the true class move as one change
    grows, one panel per change. `sweeps` maps a change's name to (values, mean probability of
    the true class per value, accuracy per value)."""
    columns = 2
    rows = int(np.ceil(len(sweeps) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(11, 3.6 * rows), sharey=True, squeeze=False)
    for axis, (name, (values, probability, accuracy)) in zip(axes.flat, sweeps.items(), strict=False):
        axis.plot(values, accuracy, "s-", color="steelblue", label="accuracy")
        axis.plot(values, probability, "o--", color="seagreen", label="mean probability of the true class")
        axis.set_xlabel(name)
        axis.set_ylim(0, 1.02)
        axis.set_xticks(list(values)[::2] if len(values) > 8 else list(values))  # labels apart
    for axis in axes.flat[len(sweeps):]:
        axis.axis("off")
    for axis in axes[:, 0]:
        axis.set_ylabel("on these test digits")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper right", ncol=2, frameon=False)
    figure.suptitle("Where the network holds and where it breaks", x=0.02, ha="left")
    figure.tight_layout(rect=(0, 0, 1, 0.95))
    return figure
