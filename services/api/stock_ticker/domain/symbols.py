"""What a ticker symbol and a day count may be: the rules config, the schemas and the docs share."""

from __future__ import annotations

import re

#: 1 to 10 of letters, digits, '.' and '-' (BRK.B, RDS-A); case-insensitive, served upper-case.
SYMBOL_PATTERN = re.compile(r"[A-Za-z0-9.-]{1,10}")
SYMBOL_FORM = "1 to 10 characters of letters, digits, '.' and '-'"
#: The free upstream returns 100 trading days at most (`outputsize=compact`).
MAX_NDAYS = 100
NDAYS_FORM = f"an integer from 1 to {MAX_NDAYS}"
