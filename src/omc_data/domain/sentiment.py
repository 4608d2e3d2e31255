"""News sentiment from CryptoPanic-style community votes (one rule for collected and synthetic news)."""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from dataclasses import dataclass

POSITIVE_VOTES = ("positive", "liked")
NEGATIVE_VOTES = ("negative", "disliked", "toxic")
NOT_COUNTED = ("saved", "comments")  # engagement, not opinion: left out of total_votes
THRESHOLD = decimal.Decimal("0.2")


@dataclass(frozen=True)
class Sentiment:
    label: str | None  # positive / negative / neutral, None without votes
    score: decimal.Decimal | None  # (pos - neg) / (pos + neg) at 4 decimals, None without votes
    total_votes: int


def from_votes(votes: Mapping[str, int | None]) -> Sentiment:
    """pos = positive + liked, neg = negative + disliked + toxic; above 0.2 positive, below -0.2 negative."""
    counts = {k: int(v or 0) for k, v in votes.items()}
    pos = sum(counts.get(k, 0) for k in POSITIVE_VOTES)
    neg = sum(counts.get(k, 0) for k in NEGATIVE_VOTES)
    total = sum(v for k, v in counts.items() if k not in NOT_COUNTED)
    if pos + neg == 0:
        return Sentiment(None, None, total)
    score = (decimal.Decimal(pos - neg) / decimal.Decimal(pos + neg)).quantize(
        decimal.Decimal("0.0001"), rounding=decimal.ROUND_HALF_EVEN
    )
    label = "positive" if score > THRESHOLD else "negative" if score < -THRESHOLD else "neutral"
    return Sentiment(label, score, total)
