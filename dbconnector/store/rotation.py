"""Re-sealing stored secrets with the current key: `dbconnector keys rotate` and `keys status`.

Each row is re-sealed in its own short transaction, and only if it still holds the ciphertext
that was read (an instance may have rewritten it meanwhile), so a rotate never blocks the service
for long, can be stopped at any point, and a second run carries on where the first stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Column, Engine, Table, select, update

from .db import read, write
from .secrets import SecretBox
from .tables import connections

PAGE = 500


@dataclass(frozen=True)
class Sealed:
    """A column of ciphertext sealed with the service secret, and its table's primary key."""

    label: str
    table: Table
    key: Column
    column: Column


# Every sealed column; job result pages, once stored, are one more line here.
SEALED: tuple[Sealed, ...] = (
    Sealed("connection strings", connections, connections.c.id, connections.c.secret),
)


@dataclass
class Tally:
    """Rows of one sealed column per key of the ring (0 the current key), and what rotate did."""

    label: str
    by_key: list[int]
    unreadable: int = 0
    resealed: int = 0
    changed_meanwhile: int = 0

    @property
    def on_previous_keys(self) -> int:
        return sum(self.by_key[1:])


def _keys(engine: Engine, sealed: Sealed) -> Iterator[object]:
    """The primary keys of `sealed`'s table, a page per short read."""
    last = None
    while True:
        query = select(sealed.key).order_by(sealed.key).limit(PAGE)
        if last is not None:
            query = query.where(sealed.key > last)
        with read(engine) as conn:
            page = list(conn.execute(query).scalars())
        yield from page
        if len(page) < PAGE:
            return
        last = page[-1]


def status(engine: Engine, box: SecretBox) -> list[Tally]:
    """How many rows each key sealed, changing nothing."""
    tallies = []
    for sealed in SEALED:
        tally = Tally(sealed.label, [0] * box.key_count)
        for key in _keys(engine, sealed):
            with read(engine) as conn:
                ciphertext = conn.execute(
                    select(sealed.column).where(sealed.key == key)
                ).scalar_one_or_none()
            if ciphertext is not None:
                _count(tally, box.key_index(ciphertext))
        tallies.append(tally)
    return tallies


def rotate(engine: Engine, box: SecretBox) -> list[Tally]:
    """Re-seal every row sealed with a previous key, one transaction per row."""
    tallies = []
    for sealed in SEALED:
        tally = Tally(sealed.label, [0] * box.key_count)
        for key in _keys(engine, sealed):
            with write(engine) as conn:
                ciphertext = conn.execute(
                    select(sealed.column).where(sealed.key == key)
                ).scalar_one_or_none()
                if ciphertext is None:  # deleted since the page was read
                    continue
                index = box.key_index(ciphertext)
                if index is None or index == 0:
                    _count(tally, index)
                    continue
                result = conn.execute(
                    update(sealed.table)
                    .where(sealed.key == key, sealed.column == ciphertext)
                    .values({sealed.column.name: box.reseal(ciphertext)})
                )
            if result.rowcount == 1:
                tally.resealed += 1
                tally.by_key[0] += 1
            else:
                tally.changed_meanwhile += 1
        tallies.append(tally)
    return tallies


def _count(tally: Tally, index: int | None) -> None:
    if index is None:
        tally.unreadable += 1
    else:
        tally.by_key[index] += 1
