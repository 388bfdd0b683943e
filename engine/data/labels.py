"""The labels that need a text vector (keywords, scenes, attribute-bin labels), in
the order every feature table uses, and a short preview of a long list of names."""

from __future__ import annotations

from dataclasses import dataclass

from engine.data.attributes import AttributeBins, bin_attributes
from engine.data.dataset import Dataset


@dataclass
class TextLabels:
    keywords: list[str]
    scenes: list[str]
    attributes: list[str]  # attribute-bin labels, e.g. "price 500k-750k"
    bins: AttributeBins

    @property
    def all(self) -> list[str]:
        return self.keywords + self.scenes + self.attributes

    def kinds(self) -> list[tuple[str, str]]:
        """(kind, label) for every label: kind is 'keyword', 'scene' or 'attribute'."""
        return ([("keyword", k) for k in self.keywords] + [("scene", s) for s in self.scenes]
                + [("attribute", a) for a in self.attributes])


def text_labels(dataset: Dataset, n_bins: int = 4) -> TextLabels:
    """Every label of ``dataset`` that is embedded as text (one owner of that list)."""
    bins = bin_attributes(dataset, n_bins)
    return TextLabels(list(dataset.keywords), list(dataset.scenes), list(bins.labels), bins)


def names_preview(names: list[str], n: int = 10, quote: bool = False) -> str:
    """'a, b, c and 7 more' (the first ``n`` names and a count of the rest)."""
    shown = [f"'{x}'" if quote else str(x) for x in names[:n]]
    text = ", ".join(shown)
    return text + (f" and {len(names) - n} more" if len(names) > n else "")
