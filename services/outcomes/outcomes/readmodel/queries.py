"""The pieces every KPI query is made of: a period, the family a row's family
is part of now (merges after the facts still join them), and counts by
category with every known category shown (0 until it happens)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from .report_models import Figure
from .tables import KpiFamilyAlias


def within(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(col(column) >= start, col(column) < end)


def family_now(family_column: Any) -> tuple[Any, ColumnElement[uuid.UUID]]:
    """An alias of the alias table to outer-join, and the family as it stands now."""
    alias = aliased(KpiFamilyAlias)
    return alias, func.coalesce(alias.family_id, family_column)


def with_family_now(query: Any, table: Any, alias: Any) -> Any:
    """`query` from `table`, with the family each row's family is part of now."""
    return query.select_from(table).outerjoin(alias, alias.merged_family_id == table.family_id)


def every_category(keys: Iterable[str], counts: dict[str, int]) -> list[str]:
    """Every known category (so each shows, 0 until it happens) and any newer one seen, sorted."""
    return sorted(set(keys) | set(counts))


def shares(keys: Iterable[str], counts: dict[str, int], denominator: int) -> dict[str, Figure]:
    return {key: Figure.of(counts.get(key, 0), denominator) for key in every_category(keys, counts)}


def count_by(session: Session, key: Any, counted: Any, *where: ColumnElement[bool]) -> dict[str, int]:
    query = select(key, func.count(counted)).where(*where).group_by(key)
    return {str(k): int(n) for k, n in session.exec(query).all()}
