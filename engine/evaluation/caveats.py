"""What a reader must know before trusting the figures: keywords left out of macro
metrics and evaluations too small to mean much. Computed from the test labels of
every seed (each seed has its own split)."""

from __future__ import annotations

import numpy as np

MIN_TEST_IMAGES = 50
MIN_TEST_POSITIVES = 5
LIST_FIRST = 10


def _seeds_note(seeds: list[int], n_seeds: int) -> str:
    if len(seeds) == n_seeds:
        return ""
    return f" (seed{'s' if len(seeds) > 1 else ''} {', '.join(str(s) for s in seeds)} of {n_seeds})"


def macro_exclusions(test_labels: list[np.ndarray], keywords: list[str], seeds: list[int]) -> dict[str, str]:
    """keyword -> why its ROC AUC is undefined on the test images of some seed, so that
    seed's macro AUC leaves it out ("no positive test image": its AP is left out of mAP
    as well; "every test image has it")."""
    out: dict[str, str] = {}
    for k, name in enumerate(keywords):
        none = [s for s, y in zip(seeds, test_labels) if not y[:, k].any()]
        every = [s for s, y in zip(seeds, test_labels) if len(y) and y[:, k].all()]
        reasons = []
        if none:
            reasons.append("no positive test image" + _seeds_note(none, len(seeds)))
        if every:
            reasons.append("every test image has it" + _seeds_note(every, len(seeds)))
        if reasons:
            out[name] = "; ".join(reasons)
    return out


def _listed(items: list[str]) -> str:
    more = len(items) - LIST_FIRST
    return ", ".join(items[:LIST_FIRST]) + (f" and {more} more" if more > 0 else "")


def evaluation_warnings(test_labels: list[np.ndarray], keywords: list[str]) -> list[str]:
    """Cautions: fewer than MIN_TEST_IMAGES test images; keywords with fewer than
    MIN_TEST_POSITIVES positive test images in some seed (the fewest counts named)."""
    warnings = []
    n_test = min(len(y) for y in test_labels)
    if n_test < MIN_TEST_IMAGES:
        warnings.append(f"only {n_test} test images (fewer than {MIN_TEST_IMAGES}): every figure is uncertain; "
                        "use more images or a larger test fraction")
    fewest = np.min(np.stack([y.sum(axis=0) for y in test_labels]), axis=0)
    few = np.nonzero(fewest < MIN_TEST_POSITIVES)[0]
    if len(few):
        few = few[np.argsort(fewest[few], kind="stable")]
        named = [f"{keywords[k]} ({int(fewest[k])})" for k in few]
        warnings.append(f"{len(few)} of {len(keywords)} keywords have fewer than {MIN_TEST_POSITIVES} positive test "
                        f"images in some seed, so their per-keyword figures are uncertain (fewest positives: "
                        f"{_listed(named)})")
    return warnings
