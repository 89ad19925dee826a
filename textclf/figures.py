"""One small helper for every figure: one style; inline in a notebook, a PNG file when run as a script.

    fig, ax = new_figure()
    ax.plot(...)
    show(fig, "loss_curves", folder="figures/02_recurrent")   # notebook: drawn inline; script: saved, path printed

Figures are drawn with matplotlib's object API on an off-screen canvas (no pyplot state, no GUI
backend needed), so the same code runs in CI, in a terminal and in Jupyter.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from textclf.files import atomic_write_bytes
from textclf.progress import in_notebook

STYLE = {"font.size": 10, "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
         "grid.alpha": 0.3, "figure.dpi": 100}
BLUE, ORANGE, GREEN, RED, GREY = "#1f77b4", "#ff7f0e", "#1a9641", "#d7301f", "#7f7f7f"


def new_figure(ncols: int = 1, nrows: int = 1, size: tuple[float, float] | None = None):
    """``(figure, axes)``: one axes, or an array of them for a grid."""
    import matplotlib

    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=size or (5.5 * ncols, 3.8 * nrows), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def save(fig: Figure, path: str | Path) -> Path:
    """Write the figure as a PNG file (atomically)."""
    path = Path(path)
    atomic_write_bytes(path, png_bytes(fig))
    return path


def show(fig: Figure, name: str, folder: str | Path = "figures") -> Path | None:
    """In a notebook, draw the figure inline; otherwise save ``folder/name.png`` and print where."""
    if in_notebook():
        from IPython.display import Image, display

        display(Image(png_bytes(fig)))
        return None
    path = save(fig, Path(folder) / f"{name}.png")
    print(f"[figure] {path}")
    return path


def training_curves(history: Sequence[dict], best_epoch: int | None = None, title: str = "") -> Figure:
    """Loss (train, valid) and validation accuracy per epoch, the best epoch marked."""
    fig, (loss, acc) = new_figure(ncols=2, size=(9, 3.4))
    epochs = [e["epoch"] for e in history]
    loss.plot(epochs, [e["train_loss"] for e in history], "o-", color=BLUE, label="train loss")
    loss.plot(epochs, [e["valid_loss"] for e in history], "o-", color=ORANGE, label="valid loss")
    acc.plot(epochs, [e["valid_accuracy"] for e in history], "o-", color=GREEN, label="valid accuracy")
    for ax in (loss, acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if best_epoch:
            ax.axvline(best_epoch, color=GREY, linestyle="--", label=f"best epoch ({best_epoch})")
        ax.set_xlabel("epoch")
        ax.legend()
    loss.set_ylabel("cross-entropy")
    accuracies = [e["valid_accuracy"] for e in history]
    if accuracies:  # at least 10 points of accuracy on the axis: a 0.2-point wobble must not look like a collapse
        low, high = min(accuracies), max(accuracies)
        middle, half = (low + high) / 2, max((high - low) / 2 + 0.02, 0.05)
        acc.set_ylim(max(0.0, middle - half), min(1.0, middle + half))
    acc.set_ylabel("accuracy")
    if title:
        fig.suptitle(title)
    return fig


def heatmap(fig: Figure, ax, matrix, *, vmin: float, vmax: float, cmap: str, label: str,
            cell: str = "{:.2f}", fontsize: int = 8):
    """``matrix`` (rows x columns) drawn on ``ax`` on a stated scale, ``vmin``..``vmax`` (share them between
    figures that compare), with a labelled colour bar and each cell's value written in a colour that contrasts
    with it (white on the dark end of the map, black elsewhere)."""
    import matplotlib

    values = [[float(v) for v in row] for row in (matrix.tolist() if hasattr(matrix, "tolist") else matrix)]
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.grid(False)
    ax.set_xticks(range(len(values[0]) if values else 0))  # one tick per cell (callers name them)
    ax.set_yticks(range(len(values)))
    colours = matplotlib.colormaps[cmap]
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            shade = colours((value - vmin) / ((vmax - vmin) or 1.0))
            dark = 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2] < 0.5  # perceived brightness
            ax.text(j, i, cell.format(value), ha="center", va="center", fontsize=fontsize,
                    color="white" if dark else "black")
    fig.colorbar(image, ax=ax, label=label, shrink=0.85)
    return image


def confusion_figure(matrix, labels: Sequence[str], title: str = "confusion (rows: true, columns: predicted)"):
    """The confusion matrix as a heat map with counts."""
    from textclf.printable import printable

    matrix = [[int(v) for v in row] for row in (matrix.tolist() if hasattr(matrix, "tolist") else matrix)]
    n = len(labels)
    fig, ax = new_figure(size=(1.2 * n + 3.5, 1.0 * n + 2))
    heatmap(fig, ax, matrix, vmin=0, vmax=max(max(row) for row in matrix) or 1, cmap="Blues", label="texts",
            cell="{:.0f}", fontsize=10)
    names = [printable(y) for y in labels]
    ax.set_xticks(range(n), names, rotation=30, ha="right")
    ax.set_yticks(range(n), names)
    ax.set_title(title)
    return fig


def reliability_figure(curves: dict, title: str = "reliability") -> Figure:
    """Accuracy against confidence per bin for each ``{name: Reliability}``; the diagonal is perfect."""
    fig, ax = new_figure(size=(4.8, 4.2))
    ax.plot([0, 1], [0, 1], "--", color=GREY, label="perfectly calibrated")
    for (name, rel), color in zip(curves.items(), (BLUE, ORANGE, GREEN, RED)):
        used = rel.counts > 0
        ax.plot(rel.confidence[used], rel.accuracy[used], "o-", color=color, label=f"{name} (ECE {rel.ece:.3f})")
        bins = len(rel.counts)
    ax.set_xlabel("confidence (mean of the bin)")
    ax.set_ylabel("accuracy in the bin")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"{title}\n({bins} equal-width bins; empty ones left out)" if curves else title, fontsize=9)
    return fig
