"""Plotting helpers shared by the notebooks (matplotlib and seaborn)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns


def use_style() -> None:
    """One look for every figure of the series."""
    sns.set_theme(context="notebook", style="whitegrid")
    plt.rcParams["figure.dpi"] = 80
    plt.rcParams["savefig.bbox"] = "tight"


def show_images(
    images: np.ndarray,
    titles: Sequence[str] | None = None,
    ncols: int = 10,
    size: float = 1.1,
    suptitle: str | None = None,
    title_colors: Sequence[str] | None = None,
) -> plt.Figure:
    """A grid of 28x28 images (dark digit on white paper, as a person writes it)."""
    images = np.asarray(images).reshape(len(images), 28, 28)
    nrows = max(1, int(np.ceil(len(images) / ncols)))
    title_height = 0.35 if titles is not None else 0.0
    figure, axes = plt.subplots(
        nrows, ncols, figsize=(ncols * size, nrows * (size + title_height)), squeeze=False
    )
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= len(images):
            continue
        axis.imshow(images[index], cmap="gray_r", vmin=0, vmax=images.max() or 1)
        if titles is not None:
            color = title_colors[index] if title_colors is not None else "black"
            axis.set_title(titles[index], fontsize=9, color=color)
    if suptitle:
        figure.suptitle(suptitle)
    figure.tight_layout()
    return figure


def plot_class_balance(
    train_labels: np.ndarray, test_labels: np.ndarray, class_names: Sequence[str]
) -> plt.Figure:
    """How many examples of each class the training and test sets hold."""
    classes = np.arange(len(class_names))
    train_counts = np.bincount(train_labels, minlength=len(classes))
    test_counts = np.bincount(test_labels, minlength=len(classes))
    figure, axes = plt.subplots(1, 2, figsize=(12, 3.5), sharey=False)
    for axis, counts, name in zip(axes, (train_counts, test_counts), ("training", "test"),
                                  strict=True):
        sns.barplot(x=list(class_names), y=counts, ax=axis, color="steelblue")
        axis.axhline(counts.mean(), color="darkorange", linestyle="--", label="mean")
        axis.set_title(f"{name} set: {counts.sum():,} images")
        axis.set_xlabel("class")
        axis.set_ylabel("images")
        axis.tick_params(axis="x", rotation=45 if len(max(class_names, key=len)) > 2 else 0)
        axis.legend(loc="lower right")
    figure.tight_layout()
    return figure


def plot_learning_curves(history: dict[str, Sequence[float]]) -> plt.Figure:
    """Loss and accuracy per epoch, on the training data and on the validation split."""
    epochs = np.arange(1, len(history["loss"]) + 1)
    figure, axes = plt.subplots(1, 2, figsize=(12, 4))
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
    """Counts of true class (rows) against predicted class (columns), diagonal in a grey scale.

    The diagonal holds most of the counts; it is drawn apart so the errors off the diagonal,
    which are what a reader looks for, get the whole colour scale.
    """
    matrix = np.asarray(matrix)
    off_diagonal = np.where(np.eye(len(matrix), dtype=bool), np.nan, matrix)
    figure, axis = plt.subplots(figsize=(9, 7.5))
    sns.heatmap(off_diagonal, annot=matrix, fmt="d", cmap="Reds", cbar_kws={"label": "errors"},
                xticklabels=class_names, yticklabels=class_names, ax=axis, linewidths=0.5,
                linecolor="white", annot_kws={"fontsize": 9})
    diagonal = np.where(np.eye(len(matrix), dtype=bool), matrix, np.nan)
    sns.heatmap(diagonal, cmap="Greens", cbar=False, xticklabels=class_names,
                yticklabels=class_names, ax=axis, alpha=0.35)
    axis.set_xlabel("predicted class")
    axis.set_ylabel("true class")
    axis.set_title(title)
    figure.tight_layout()
    return figure


def plot_confidence(confidence: np.ndarray, correct: np.ndarray) -> plt.Figure:
    """How sure the model is when it is right, and when it is wrong."""
    figure, axis = plt.subplots(figsize=(9, 4))
    bins = np.linspace(0, 1, 41)
    axis.hist(confidence[correct], bins=bins, alpha=0.7, label=f"right ({correct.sum():,})",
              color="seagreen", density=True)
    axis.hist(confidence[~correct], bins=bins, alpha=0.7, label=f"wrong ({(~correct).sum():,})",
              color="crimson", density=True)
    axis.set_yscale("log")
    axis.set_xlabel("confidence (highest softmax probability)")
    axis.set_ylabel("density (log scale)")
    axis.legend(loc="upper left")
    figure.tight_layout()
    return figure


def plot_runs(runs: Sequence[dict], reference=None, current_run_id: str | None = None,
              most: int = 8) -> plt.Figure:
    """Validation loss and accuracy per epoch of several training runs, over the default's band.

    `runs` are records of the experiment log; the default's reference (mean ± std over seeds,
    per epoch) is drawn as a grey band, the current run as a thick line, earlier runs thin.
    Only the `most` latest runs are drawn, so the legend stays readable.
    """
    shown = list(runs)[-most:]
    figure, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for axis, metric, label in ((axes[0], "val_loss", "validation loss (lower is better)"),
                                (axes[1], "val_accuracy", "validation accuracy (higher is better)")):
        if reference is not None:
            mean = np.asarray(reference.history_mean[metric])
            std = np.asarray(reference.history_std[metric])
            epochs = np.arange(1, len(mean) + 1)
            axis.fill_between(epochs, mean - 2 * std, mean + 2 * std, color="0.8",
                              label="default: mean ± 2 std over seeds")
            axis.plot(epochs, mean, color="0.4", linestyle="--", label="default: mean")
        for run in shown:
            values = run["history"][metric]
            current = run["run_id"] == current_run_id
            name = ", ".join(run.get("changes", [])) or "default"
            axis.plot(np.arange(1, len(values) + 1), values, marker="o",
                      linewidth=3 if current else 1.2, markersize=6 if current else 3,
                      label=f"{name} (seed {run.get('seed')})" + (" - this run" if current else ""))
        axis.set_xlabel("epoch")
        axis.set_ylabel(label)
        axis.xaxis.get_major_locator().set_params(integer=True)
    axes[0].set_title("Validation loss per epoch")
    axes[1].set_title("Validation accuracy per epoch")
    handles, labels = axes[1].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=2, fontsize=10, frameon=False,
                  bbox_to_anchor=(0.5, -0.02 - 0.045 * ((len(labels) + 1) // 2)))
    figure.tight_layout()
    return figure
