"""Step 7 of DESIGN §5: the display form rounds half up to 2 decimals; the exact form is
always numerator/denominator."""

from fractions import Fraction as F

import pytest

from domain.scoring import exact, format_score


@pytest.mark.parametrize(
    "value, shown, exact_form",
    [
        (F(1747, 20), "87.35", "1747/20"),
        (F(695, 8), "86.88", "695/8"),
        (F(87), "87.00", "87/1"),
        (F(1, 200), "0.01", "1/200"),
        (F(1, 201), "0.00", "1/201"),
        (F(2, 3), "0.67", "2/3"),
        (F(100), "100.00", "100/1"),
        (F(-1, 200), "-0.01", "-1/200"),
    ],
)
def test_display_and_exact_forms(value, shown, exact_form):
    assert format_score(value) == shown
    assert exact(value) == exact_form
