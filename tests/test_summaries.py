"""Monte-Carlo summaries (twophase.summaries): mean and standard error with diverged runs,
z-scores, and the tail share, against values computed by hand."""
import numpy as np
import pytest

from twophase import summaries as su


def test_mean_se_and_max_z_known_values():
    runs = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, np.inf]])
    mean, se = su.mean_se(runs, axis=0)
    assert mean[0] == 3.0 and abs(se[0] - 2.0 / np.sqrt(3)) < 1e-15 and mean[1] == np.inf and np.isnan(se[1])
    z, n = su.max_z(np.array([3.5, 1.0]), mean, se)
    assert n == 1 and abs(z - 0.5 / (2 / np.sqrt(3))) < 1e-12
    z, n = su.max_z([1.0], [np.inf], [1.0])
    assert np.isnan(z) and n == 0


def test_mean_se_single_seed_has_nan_se():
    mean, se = su.mean_se(np.array([[1.0, 2.0]]))
    assert mean.tolist() == [1.0, 2.0] and np.all(np.isnan(se))


def test_tail_share():
    """Equal samples: the top q carry exactly q; one dominant sample carries almost everything."""
    assert su.tail_share(np.ones(1000), q=0.01) == pytest.approx(0.01, rel=1e-12)
    x = np.ones(1000)
    x[3] = 1e6
    assert su.tail_share(x, q=0.001) > 0.99
    with pytest.raises(ValueError, match="q"):
        su.tail_share(x, q=1.5)
    with pytest.raises(ValueError, match="samples"):
        su.tail_share([1.0, np.inf])


def test_bad_input():
    with pytest.raises(TypeError, match="curves"):
        su.mean_se("abc")
    with pytest.raises(ValueError, match="axis"):
        su.mean_se(np.ones((3, 2)), axis=5)
    with pytest.raises(ValueError, match="floor"):
        su.max_z([1.0], [1.0], [1.0], floor=-1.0)
    with pytest.raises(ValueError, match="broadcast"):
        su.max_z([1.0, 2.0], [1.0, 2.0, 3.0], [1.0])
