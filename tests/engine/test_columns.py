"""engine.core.columns: every column's ROC AUC and average precision at once, equal to
scikit-learn's per-column numbers (ties included: integer scores, constant columns,
one-class columns)."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from engine.core import columns
from engine.core.columns import column_ap, column_auc


def _cases():
    rng = np.random.default_rng(7)
    for trial in range(40):
        m, k = int(rng.integers(1, 80)), int(rng.integers(1, 10))
        if trial % 3 == 0:  # heavy ties
            s = rng.integers(0, int(rng.integers(1, 5)), size=(m, k)).astype(np.float32)
        else:
            s = rng.normal(size=(m, k)).astype(np.float32)
        y = rng.random((m, k)) < rng.uniform(0.05, 0.95)
        yield s, y


@pytest.mark.parametrize("s,y", list(_cases()))
def test_columns_equal_scikit_learn(s, y):
    auc, ap = column_auc(s, y), column_ap(s, y)
    for j in range(s.shape[1]):
        yj = y[:, j]
        if yj.any() and not yj.all():
            assert auc[j] == pytest.approx(roc_auc_score(yj, s[:, j]), abs=1e-12)
        else:
            assert np.isnan(auc[j])
        if yj.any():
            assert ap[j] == pytest.approx(average_precision_score(yj, s[:, j]), abs=1e-12)
        else:
            assert np.isnan(ap[j])


def test_small_chunks_give_the_same_numbers(monkeypatch):
    rng = np.random.default_rng(1)
    s, y = rng.normal(size=(50, 9)), rng.random((50, 9)) < 0.3
    whole = column_auc(s, y), column_ap(s, y)
    monkeypatch.setattr(columns, "CHUNK", 60)  # one column per block
    assert np.allclose(column_auc(s, y), whole[0], rtol=0, atol=1e-14)  # the same up to summation order
    assert np.allclose(column_ap(s, y), whole[1], rtol=0, atol=1e-14)


def test_known_values():
    s = np.array([[0.9], [0.8], [0.8], [0.1]])
    y = np.array([[True], [False], [True], [False]])
    # pairs (pos, neg): (0.9, 0.8) 1, (0.9, 0.1) 1, (0.8, 0.8) 1/2, (0.8, 0.1) 1 -> 3.5 / 4
    assert column_auc(s, y)[0] == 0.875
    # thresholds 0.9: P=1, R=1/2; 0.8: P=2/3, R=1 -> 1/2 * 1 + 1/2 * 2/3
    assert column_ap(s, y)[0] == pytest.approx(0.5 + 1 / 3)


@pytest.mark.parametrize("s,y", list(_cases())[:12])
def test_micro_auc_equals_scikit_learn_on_the_pooled_pairs(s, y):
    from engine.evaluation.metrics import micro_auc

    yy = y.ravel()
    if yy.any() and not yy.all():
        assert micro_auc(s, y) == pytest.approx(roc_auc_score(yy, s.ravel()), abs=1e-12)
    else:
        assert np.isnan(micro_auc(s, y))


def test_micro_auc_one_class_is_nan():
    from engine.evaluation.metrics import micro_auc

    s = np.arange(6, dtype=np.float32).reshape(3, 2)
    assert np.isnan(micro_auc(s, np.zeros((3, 2), bool)))
    assert np.isnan(micro_auc(s, np.ones((3, 2), bool)))
    assert micro_auc(s, np.array([[0, 0], [0, 1], [1, 1]], bool)) == 1.0
