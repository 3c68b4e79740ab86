"""Reports as people read them: Markdown tables and PNG charts, written atomically.

Every figure a command prints or the README quotes is rendered here from the data
the library computed (scores, a cross-validation summary, a loop study, benchmark
measurements); nothing here computes a score.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from .corpus import atomic_write_bytes, atomic_write_text
from .labels import LabelSet, load_labels
from .scoring import COARSE_LABELS, MISSED, SPURIOUS, Scores, gold_count, predicted_count

if TYPE_CHECKING:
    from .active_learning import LoopStudy
    from .benchmark import Measurement, SpeedRatios


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (no display on a server)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt



def save_png(fig, path: Path) -> None:
    """A figure as a PNG file, written atomically like every other output, then closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    pyplot().close(fig)
    atomic_write_bytes(path, buffer.getvalue())

# --- scores of one model -----------------------------------------------------------------

def scores_table(scores: Scores, labels: LabelSet | None = None) -> str:
    labels = labels or load_labels()
    rows = ["| label | P | R | F1 | gold |", "|---|---|---|---|---|"]
    for name in labels.names:
        p = scores.per_label[name]
        rows.append(f"| {name} | {p.precision:.3f} | {p.recall:.3f} | {p.fscore:.3f} | {gold_count(p)} |")
    m = scores.micro
    rows.append(f"| **micro** | **{m.precision:.3f}** | **{m.recall:.3f}** | **{m.fscore:.3f}** | {gold_count(m)} |")
    return "\n".join(rows)


def coarse_table(scores: Scores) -> str:
    rows = ["| coarse | P | R | F1 | gold |", "|---|---|---|---|---|"]
    for name, p in scores.coarse.items():
        rows.append(f"| {name} | {p.precision:.3f} | {p.recall:.3f} | {p.fscore:.3f} | {gold_count(p)} |")
    m = scores.coarse_micro
    rows.append(f"| **micro** | **{m.precision:.3f}** | **{m.recall:.3f}** | **{m.fscore:.3f}** | {gold_count(m)} |")
    return "\n".join(rows)


def confusion_labels(labels: LabelSet | None = None) -> tuple[list[str], list[str]]:
    names = (labels or load_labels()).names
    return names + [SPURIOUS], names + [MISSED]


def confusion_table(scores: Scores, labels: LabelSet | None = None) -> str:
    rows_labels, cols_labels = confusion_labels(labels)
    lines = ["| gold \\ predicted | " + " | ".join(cols_labels) + " |", "|---" * (len(cols_labels) + 1) + "|"]
    for gold in rows_labels:
        lines.append(f"| {gold} | " + " | ".join(str(scores.confusion.get((gold, pred), 0) or "") for pred in cols_labels) + " |")
    return "\n".join(lines)


def plot_confusion(scores: Scores, path: Path, labels: LabelSet | None = None) -> None:
    plt = pyplot()

    rows_labels, cols_labels = confusion_labels(labels)
    matrix = [[scores.confusion.get((g, p), 0) for p in cols_labels] for g in rows_labels]
    fig, ax = plt.subplots(figsize=(8, 7))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(cols_labels)), cols_labels, rotation=45, ha="right")
    ax.set_yticks(range(len(rows_labels)), rows_labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    peak = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value:
                ax.text(j, i, str(value), ha="center", va="center", color="white" if value > peak / 2 else "black")
    ax.set_title("Strict span confusion (label and both offsets)")
    fig.tight_layout()
    save_png(fig, path)


def markdown_report(title: str, scores: Scores, *, max_errors: int = 200) -> str:
    errors = "\n".join(
        f"- `{e['id']}` gold {e['gold']} → predicted {e['predicted']}: {e['context']}" for e in scores.errors[:max_errors]
    )
    more = f"\n… and {len(scores.errors) - max_errors} more (see the JSON report)" if len(scores.errors) > max_errors else ""
    return f"""# {title}

Strict span matching: a prediction counts only with the gold label and both offsets.

## Scores per label

{scores_table(scores)}

## Coarse scores (spec mapping; TITLE and DATE left out)

{coarse_table(scores)}

## Confusion (gold rows, predicted columns; exact offsets)

{confusion_table(scores)}

![confusion matrix](confusion.png)

## Errors ({len(scores.errors)})

{errors}{more}
"""


def write_reports(scores: Scores, out_dir: Path, title: str, extra: dict | None = None) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    data = scores.to_dict()
    data.update(extra or {})
    paths = {"json": out_dir / "scores.json", "markdown": out_dir / "report.md", "png": out_dir / "confusion.png"}
    atomic_write_text(paths["json"], json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    atomic_write_text(paths["markdown"], markdown_report(title, scores))
    plot_confusion(scores, paths["png"])
    return paths



# --- cross-validation ---------------------------------------------------------------------


def plot_learning_curve(summary: dict, path: Path) -> None:
    plt = pyplot()

    points = summary["learning_curve"]
    if not points:
        return
    xs = [p["documents"] for p in points]
    means = [p["micro_f1"][0] for p in points]
    stds = [p["micro_f1"][1] for p in points]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(xs, means, yerr=stds, marker="o", capsize=4, label="spaCy pipeline")
    gazetteer = summary["systems"].get("gazetteer")
    if gazetteer:
        ax.axhline(gazetteer["micro_f1"][0], color="grey", linestyle="--", label="gazetteer (all training docs)")
    ax.set_xlabel("training documents")
    ax.set_ylabel("strict micro-F1 (held-out fold)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_png(fig, path)


def crossval_markdown(summary: dict, *, title: str, labels: LabelSet | None = None) -> str:
    labels = labels or load_labels()
    systems = summary["systems"]
    fine = [name for name in ("model", "gazetteer", "rules", "model+rules") if name in systems]
    fmt = lambda ms: f"{ms[0]:.3f} ± {ms[1]:.3f}"  # noqa: E731
    lines = [f"# {title}", ""]
    if summary["folds"]:
        lines += _crossval_tables(summary, labels, fine, fmt)
    if summary.get("news_test"):
        lines += _news_test_tables(summary, labels)
    if summary["learning_curve"]:
        lines += ["", "Learning curve (share of each fold's training documents → held-out micro-F1):", "", "| share | documents (mean) | micro-F1 |", "|---|---|---|"]
        lines += [f"| {p['fraction']:.0%} | {p['documents']} | {fmt(p['micro_f1'])} |" for p in summary["learning_curve"]]
        lines += ["", "![learning curve](learning_curve.png)"]
    return "\n".join(lines) + "\n"


def _crossval_tables(summary: dict, labels: LabelSet, fine: list[str], fmt) -> list[str]:
    systems = summary["systems"]
    lines = [f"Document-level {len(summary['folds'])}-fold cross-validation, strict span matching, mean ± standard deviation over folds.", ""]
    lines += ["| label | gold mentions | " + " | ".join(fine) + " |", "|---|---|" + "---|" * len(fine)]
    for name in labels.names:
        lines.append(f"| {name} | {systems['model']['support'][name]} | " + " | ".join(fmt(systems[s]["per_label_f1"][name]) for s in fine) + " |")
    lines.append("| **micro** | | " + " | ".join(f"**{fmt(systems[s]['micro_f1'])}**" for s in fine) + " |")
    lines += ["", "Coarse labels (spec mapping: GPE and LOC → LOC, EVENT and AGREEMENT → MISC; TITLE and DATE left out):", ""]
    coarse_systems = list(systems)
    lines += ["| coarse | " + " | ".join(coarse_systems) + " |", "|---|" + "---|" * len(coarse_systems)]
    for name in COARSE_LABELS:
        lines.append(f"| {name} | " + " | ".join(fmt(systems[s]["coarse_f1"][name]) for s in coarse_systems) + " |")
    lines.append("| **micro** | " + " | ".join(f"**{fmt(systems[s]['coarse_micro_f1'])}**" for s in coarse_systems) + " |")
    if summary.get("by_source"):
        fine_present = [name for name in fine if name in next(iter(summary["by_source"].values()))]
        lines += ["", "Micro-F1 by source (held-out predictions of all folds pooled):", ""]
        lines += ["| source | documents | " + " | ".join(fine_present) + " |", "|---|---|" + "---|" * len(fine_present)]
        for source, row in summary["by_source"].items():
            lines.append(f"| {source} | {row['documents']} | " + " | ".join(f"{row[name]:.3f}" for name in fine_present) + " |")
        sources = [source for source, row in summary["by_source"].items() if "model_per_label" in row]
        if sources:
            lines += ["", "Model F1 per label by source (gold mentions in brackets):", ""]
            lines += ["| label | " + " | ".join(sources) + " |", "|---|" + "---|" * len(sources)]
            for name in labels.names:
                cells = [summary["by_source"][source]["model_per_label"][name] for source in sources]
                lines.append(f"| {name} | " + " | ".join(f"{f1:.3f} ({gold})" for f1, gold in cells) + " |")
    return lines


def _news_test_tables(summary: dict, labels: LabelSet) -> list[str]:
    news = summary["news_test"]
    news_fine = [name for name in ("model", "gazetteer", "rules", "model+rules") if name in news]
    low, high = summary["news_test_interval"]
    lines = ["", "## Held-out news test", "", "One model trained on all the gold above, scored on the news test set it never saw "
             f"(model micro-F1 95% interval over documents: {low:.3f}–{high:.3f}).", ""]
    lines += ["| label | gold mentions | " + " | ".join(news_fine) + " |", "|---|---|" + "---|" * len(news_fine)]
    for name in labels.names:
        lines.append(f"| {name} | {news['model']['support'][name]} | " + " | ".join(f"{news[s]['per_label_f1'][name]:.3f}" for s in news_fine) + " |")
    lines.append("| **micro** | | " + " | ".join(f"**{news[s]['micro_f1']:.3f}**" for s in news_fine) + " |")
    lines.append("| coarse micro | | " + " | ".join(f"{news[s]['coarse_micro_f1']:.3f}" for s in news_fine) + " |")
    if "underthesea" in news:
        lines += ["", f"underthesea, coarse micro-F1 on the same documents: {news['underthesea']['coarse_micro_f1']:.3f}."]
    if summary.get("news_curve"):
        lines += ["", "Learning curve on the news test (a share of the gold, shuffled → news-test micro-F1):", "", "| share | documents | micro-F1 |", "|---|---|---|"]
        lines += [f"| {p['fraction']:.0%} | {p['documents']} | {p['f1']:.3f} |" for p in summary["news_curve"]]
    return lines


# --- the loop study and the benchmark --------------------------------------------------------


def loop_markdown(study: LoopStudy, labels: LabelSet | None = None) -> str:
    labels = labels or load_labels()
    o = study.ordering
    lines = [
        "# Model in the loop, replayed on gold",
        "",
        f"A committee of {study.committee_size} leave-one-out models of the known gold ranks {study.pool_documents} pool documents;",
        "a model trained on all known gold pre-annotates them. The pool's gold scores both.",
        "",
        "## Pre-annotation yield",
        "",
        "| label | suggested | kept unchanged | share kept | gold spans | share of gold pre-filled |",
        "|---|---|---|---|---|---|",
    ]
    for name in [*labels.names, "micro"]:
        y = study.yields.get(name)
        if y is None:
            continue
        label = "**all**" if name == "micro" else name
        lines.append(f"| {label} | {predicted_count(y)} | {y.tp} | {y.precision:.3f} | {gold_count(y)} | {y.recall:.3f} |")
    first_u, first_r = o.first(o.uncertain), o.first(o.random)
    lines += [
        "",
        f"## Order: first {o.batch} documents",
        "",
        "| order | documents | committee error (1 − F1) |",
        "|---|---|---|",
        f"| uncertain | {', '.join(first_u)} | {o.mean_error(first_u):.3f} |",
        f"| random (seeded) | {', '.join(first_r)} | {o.mean_error(first_r):.3f} |",
        f"| whole pool (= expected random batch) | {len(o.uncertain)} documents | {o.mean_error(o.uncertain):.3f} |",
        "",
        f"Overlap of the two first batches: {o.overlap} of {o.batch} (a random batch shares {o.expected_random_overlap:.1f} on average).",
        "Spearman correlation of committee disagreement with the committee's real error over the pool: "
        + ("undefined (constant)" if o.spearman is None else f"{o.spearman:.2f}") + ".",
        "",
        "| document | disagreement | committee error |",
        "|---|---|---|",
        *(f"| {doc_id} | {o.disagreement[doc_id]:.3f} | {o.error[doc_id]:.3f} |" for doc_id in o.uncertain),
        "",
    ]
    return "\n".join(lines)


def benchmark_markdown(measurements: list[Measurement]) -> str:
    lines = [
        "| text | system | words | seconds | words/s | peak RSS, largest process (MiB) | peak RSS, all processes (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in measurements:
        lines.append(
            f"| {m.kind} | {m.system} | {m.words:,} | {m.seconds:.1f} | {m.words_per_second:,.0f} | {m.peak_rss_mib:.0f} | {m.peak_total_rss_mib:.0f} |"
        )
    return "\n".join(lines) + "\n"


def speed_ratios_markdown(ratios: list[SpeedRatios]) -> str:
    return "".join(
        f"- {r.kind}: one process {r.steady_words_per_second:,.0f} words/s with its start-up taken out, "
        f"{r.over_underthesea:.2f}x underthesea's NER; --n-process {r.n_process_over_one:.2f}x and Ray {r.ray_over_one:.2f}x one process\n"
        for r in ratios
    )




def write_crossval_reports(summary: dict, output: Path, *, title: str) -> str:
    """`crossval.json`, `report.md` and `learning_curve.png` in `output`; returns the Markdown."""
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output / "crossval.json", json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    report = crossval_markdown(summary, title=title)
    atomic_write_text(output / "report.md", report)
    plot_learning_curve(summary, output / "learning_curve.png")
    return report


def write_loop_study(study: LoopStudy, output: Path) -> str:
    """`loop.json` and `report.md` in `output`; returns the Markdown."""
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output / "loop.json", json.dumps(study.to_dict(), ensure_ascii=False, indent=2) + "\n")
    report = loop_markdown(study)
    atomic_write_text(output / "report.md", report)
    return report


def write_benchmark(measurements: list[Measurement], ratios: list[SpeedRatios], output: Path) -> str:
    """The measurements and ratios as JSON at `output` and as Markdown beside it (`.md`); returns the Markdown."""
    report = benchmark_markdown(measurements) + "\n" + speed_ratios_markdown(ratios)
    figures = {"measurements": [asdict(m) for m in measurements], "ratios": [asdict(r) for r in ratios]}
    atomic_write_text(output, json.dumps(figures, indent=2) + "\n")
    atomic_write_text(output.with_suffix(".md"), report)
    return report
