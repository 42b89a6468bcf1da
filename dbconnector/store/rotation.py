"""Re-sealing stored secrets with the current key: `dbconnector keys rotate` and `keys status`.

Rows are read a page at a time; each is re-sealed by its own one-statement transaction, and only
if it still holds the ciphertext that was read (an instance may have rewritten it meanwhile), so a
rotate never blocks the service for long, can be stopped at any point, and a second run carries on
where the first stopped.
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


def _rows(engine: Engine, sealed: Sealed) -> Iterator[tuple[object, str]]:
    """(primary key, ciphertext) of every row of `sealed`'s table, a page per short read."""
    last = None
    while True:
        query = select(sealed.key, sealed.column).order_by(sealed.key).limit(PAGE)
        if last is not None:
            query = query.where(sealed.key > last)
        with read(engine) as conn:
            page = [tuple(row) for row in conn.execute(query)]
        yield from page
        if len(page) < PAGE:
            return
        last = page[-1][0]


def status(engine: Engine, box: SecretBox) -> list[Tally]:
    """How many rows each key sealed, changing nothing."""
    tallies = []
    for sealed in SEALED:
        tally = Tally(sealed.label, [0] * box.key_count)
        for _key, ciphertext in _rows(engine, sealed):
            _count(tally, box.key_index(ciphertext))
        tallies.append(tally)
    return tallies


def rotate(engine: Engine, box: SecretBox) -> list[Tally]:
    """Re-seal every row sealed with a previous key, one transaction per row."""
    tallies = []
    for sealed in SEALED:
        tally = Tally(sealed.label, [0] * box.key_count)
        for key, ciphertext in _rows(engine, sealed):
            index = box.key_index(ciphertext)
            if index is None or index == 0:
                _count(tally, index)
                continue
            with write(engine) as conn:
                result = conn.execute(
                    update(sealed.table)
                    .where(sealed.key == key, sealed.column == ciphertext)
                    .values({sealed.column.name: box.reseal(ciphertext)})
                )
            if result.rowcount == 1:
                tally.resealed += 1
                tally.by_key[0] += 1
            else:  # rewritten (or deleted) since the page was read
                tally.changed_meanwhile += 1
        tallies.append(tally)
    return tallies


def _count(tally: Tally, index: int | None) -> None:
    if index is None:
        tally.unreadable += 1
    else:
        tally.by_key[index] += 1
