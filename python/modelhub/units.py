"""OPG amounts: the chain counts in the smallest unit, 10^-18 OPG, as Python ``int``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

#: Decimals of the OPG token.
DECIMALS = 18
#: One OPG in the smallest unit.
OPG = 10**DECIMALS


def parse_opg(amount: str | int | Decimal) -> int:
    """The smallest-unit amount of a decimal OPG amount: ``parse_opg("0.5") == 5 * 10**17``.

    An ``int`` is taken as whole OPG. More than 18 decimals, a negative or a non-number
    raise ``ValueError``.
    """
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation as error:
        raise ValueError(f"not an OPG amount: {amount!r}") from error
    units = value * OPG
    if not value.is_finite() or value < 0 or units != units.to_integral_value():
        raise ValueError(f"not an OPG amount with at most {DECIMALS} decimals: {amount!r}")
    return int(units)


def format_opg(units: int) -> str:
    """``units`` (smallest unit) as decimal OPG: ``format_opg(5 * 10**17) == "0.5 OPG"``."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(int(units)), OPG)
    digits = str(fraction).rjust(DECIMALS, "0").rstrip("0")
    return f"{sign}{whole}.{digits} OPG" if digits else f"{sign}{whole} OPG"
