"""The shared validators (twophase._validate): no coercion of strings or bools, the error names
the parameter and its range, a type error is both TypeError and ValueError, size and time
refusals carry an estimate."""
import numpy as np
import pytest

from twophase import _validate as v


@pytest.mark.parametrize("bad", ["0.5", True, np.bool_(False), None, 1 + 2j, [1, "a"], object()])
def test_positive_real_refuses_non_numbers(bad):
    with pytest.raises(TypeError, match="eta") as err:
        v.positive_real("eta", bad, allow_array=True)
    assert isinstance(err.value, ValueError)


def test_ranges_are_named():
    with pytest.raises(ValueError, match=r"eta must be a finite number > 0 \(allowed range \(0, inf\)\)"):
        v.positive_real("eta", -1.0)
    with pytest.raises(ValueError, match=r"S must be an integer >= 1 \(allowed range 1, 2, 3, ...\), got 0"):
        v.positive_int("S", 0)
    with pytest.raises(ValueError, match=r"R must be an integer in \[1, 8\]"):
        v.positive_int("R", 9, maximum=8)
    with pytest.raises(ValueError, match="10,000,000"):
        v.dimension("D", 10 ** 8)
    assert v.positive_int("S", np.int64(3)) == 3 and v.positive_real("eta", 2) == 2.0


def test_size_and_time_refusals_give_estimates():
    with pytest.raises(ValueError, match=r"GB"):
        v.array_size("D", 2 ** 30)
    with pytest.raises(ValueError, match=r"about 1e\+03 s.*To proceed: reduce S"):
        v.work_estimate(1000.0, "a run", "reduce S")
    v.work_estimate(1.0, "a run", "reduce S")  # below the limit: no error


def test_real_float_array_takes_real_numbers_and_refuses_the_rest_by_name():
    """``real_float_array`` converts ints and floats of any shape to float64 and refuses strings,
    dicts, None, bools and non-real dtypes with an ArgumentTypeError naming the parameter."""
    out = v.real_float_array("x", [[1, 2], [3, 4]], "an array")
    assert out.dtype == np.float64 and out.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    for bad in ("1,2", b"1", {"a": 1}, None, True, np.array([True]), np.array([1j]),
                np.array(["a"]), [1, "a"]):
        with pytest.raises(v.ArgumentTypeError, match="x must be an array"):
            v.real_float_array("x", bad, "an array")
