"""Typed results of a search: one hit per image, and a text search's whole answer."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SearchHit:
    row: int  # dataset row
    id: str
    score: float  # cosine similarity with the query vector
    keywords: list[str]  # the image's (noisy) labels
    scene: str

    def holds(self, keyword: str) -> bool:
        return keyword in self.keywords

    def to_json(self) -> dict:
        return {"id": self.id, "score": round(self.score, 6), "row": self.row, "keywords": self.keywords,
                "scene": self.scene}


@dataclass
class SearchResult:
    query: str
    space: str  # "clip" or a learned method
    query_labels: list[str]  # what the query was understood as ("-label" = subtracted)
    understood: list[str]  # one line per term, e.g. "granite -> granite countertops (word)"
    unmatched: list[str]
    hits: list[SearchHit]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"query": self.query, "space": self.space, "query_labels": self.query_labels,
                "understood": self.understood, "unmatched": self.unmatched, "notes": self.notes,
                "results": [h.to_json() for h in self.hits]}


def hit(dataset, row: int, score: float) -> SearchHit:
    s = int(dataset.image_scene[row])
    return SearchHit(int(row), dataset.ids[row], float(score),
                     [dataset.keywords[k] for k in dataset.image_keywords(row)],
                     dataset.scenes[s] if s >= 0 else "")
