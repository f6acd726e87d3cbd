"""A file's batches on two cores: while one batch is written, the next is read and validated.

Ingest spends about as long validating a batch (Python) as writing it (the database), so
`weibao ledger ingest` hands each validated batch to a writer process and validates the next
one meanwhile. The next batch is validated against the ledger as the batch in flight will leave
it: that batch's states are carried over (`Carry`: it changes no row outside them, and its
families of boxes and cases are complete), together with the chip UIDs it took and its
productions. Nothing else changes what a batch is checked against.

The writer files batches strictly in order, each in its own transaction under the ingest lock,
exactly as a single batch is filed. Before it files one, it checks that no event was written
since the ledger that batch was validated against (by anyone but itself). If one was, another
writer came in between: it files nothing, and that batch is filed here again the ordinary way,
re-validated under the lock; the batch validated against it is validated again. A batch is
therefore never filed against a ledger it was not checked against, and a rejected batch carries
nothing over.

The writer is a forked process with its own database connection (`ProcessWriter`); tests use
`InlineWriter`, which files a batch only when its answer is asked for, in this process: the
next batch is then validated before the one before it is written, as in production.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time as clock
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import Any, Protocol

from django.db import connections, transaction
from django.utils import timezone

from weibao.ledger.ingest.batch import (
    Carry,
    Filing,
    Result,
    carry_over,
    collector_paused,
    file_batch,
    ingest_rows,
    last_event_id,
    lock,
    parse_rows,
    plan,
    validate,
    widen_cache,
)
from weibao.ledger.ingest.reading import RowError
from weibao.ledger.ingest.rules import Rules
from weibao.ledger.models import Batch


@dataclass(slots=True)
class Job:
    """A batch for the writer. `watermark`: the last event id its validation saw; None when it
    was validated against the batch before it, then whatever that batch left."""

    filing: Filing
    watermark: int | None


class Writer:
    """Files jobs in order: the batch filed, or None if the ledger changed under it."""

    def __init__(self) -> None:
        self.last: int | None = None

    @collector_paused()
    def file(self, job: Job) -> Batch | None:
        with transaction.atomic():
            lock()
            current = last_event_id()
            expected = self.last if job.watermark is None else job.watermark
            if current != expected:
                self.last = None
                return None
            batch = file_batch(job.filing)
        self.last = batch.last_event_id or current
        return batch


class Channel(Protocol):
    """Where jobs go: `pack` a job (ahead of time), `send` it, `receive` its answer."""

    def pack(self, job: Job) -> Any: ...

    def send(self, packed: Any) -> None: ...

    def receive(self) -> Batch | None: ...

    def close(self) -> None: ...


class InlineWriter:
    """The writer in this process, on this connection: a job is filed when its answer is asked
    for, after the next batch was validated (the order the writer process gives)."""

    def __init__(self) -> None:
        self.writer = Writer()
        self.pending: Job | None = None

    def pack(self, job: Job) -> Job:
        return job

    def send(self, packed: Job) -> None:
        self.pending = packed

    def receive(self) -> Batch | None:
        job, self.pending = self.pending, None
        if job is None:
            raise WriterFailed("Nothing was sent to the writer.")
        return self.writer.file(job)

    def close(self) -> None:
        self.pending = None


class WriterFailed(RuntimeError):
    pass


class ProcessWriter:
    """The writer in a forked process with its own database connection."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        # A forked child must not share the parent's database connections: close them; each
        # side opens its own.
        connections.close_all()
        self.pipe, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child,), name="weibao-ingest-writer", daemon=True
        )
        self.process.start()
        child.close()

    def pack(self, job: Job) -> bytes:
        """The job pickled, as `Connection.send` would, ahead of sending it."""
        return bytes(ForkingPickler.dumps(job))

    def send(self, packed: bytes) -> None:
        self.pipe.send_bytes(packed)

    def receive(self) -> Batch | None:
        try:
            failure, batch = self.pipe.recv()
        except EOFError:
            raise WriterFailed("The ingest writer process stopped without answering.") from None
        if failure:
            raise WriterFailed(f"The ingest writer process failed:\n{failure}")
        return batch  # type: ignore[no-any-return]

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the writer is gone already
            self.pipe.send(None)
        self.process.join(timeout=60)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
        self.pipe.close()


def _serve(pipe: Connection) -> None:
    widen_cache()
    writer = Writer()
    try:
        while (job := pipe.recv()) is not None:
            try:
                batch = writer.file(job)
            except Exception:  # reported to the parent, which raises it
                pipe.send((traceback.format_exc(), None))
                return
            pipe.send(("", batch))
    except EOFError:  # the parent went away
        pass
    finally:
        connections.close_all()


@dataclass(slots=True)
class _InFlight:
    file_name: str
    rows: Sequence[Mapping[str, Any]]
    count: int
    errors: list[RowError]
    carry: Carry | None
    phases: dict[str, float] = field(default_factory=dict)


@collector_paused()
def ingest_chunks(
    chunks: Iterable[tuple[str, Sequence[Mapping[str, Any]]]],
    *,
    size: int,
    user: Any = None,
    progress: Callable[[int], Any] | None = None,
    channel: Channel | None = None,
) -> list[Result]:
    """File consecutive batches, each (its file's name, its rows), the next one validated
    while the last one is written."""
    user_id = user.pk if getattr(user, "is_authenticated", False) else None
    writer = channel if channel is not None else ProcessWriter()
    widen_cache()
    results: list[Result] = []
    done = 0
    in_flight: _InFlight | None = None

    def finish(flight: _InFlight) -> bool:
        """The answer for the batch in flight; filed here the ordinary way on a conflict.
        False if it was not filed as validated (what was validated after it is stale)."""
        nonlocal done
        waited = clock.perf_counter()
        batch = writer.receive()
        if batch is not None:
            # What the writer took beyond the validation of the next batch.
            flight.phases["waiting for the writer"] = clock.perf_counter() - waited
            result = Result(
                batch,
                batch.status == Batch.Status.ACCEPTED,
                flight.count,
                flight.errors,
                len(flight.errors),
                batch.seconds,
                flight.phases,
            )
        else:
            result = ingest_rows(
                flight.rows,
                source=Batch.Source.FILE,
                user=user,
                file_name=flight.file_name,
                max_rows=size,
            )
        results.append(result)
        done += result.rows
        if progress is not None:
            progress(done)
        return batch is not None

    def prepare(
        file_name: str,
        count: int,
        rules: Rules,
        errors: list[RowError],
        spent: float,
        watermark: int | None,
    ) -> Any:
        received = timezone.now()
        filing = Filing(
            source=Batch.Source.FILE,
            enterprise_id=None,
            user_id=user_id,
            file_name=file_name,
            rows=count,
            errors=errors,
            received=received,
            plan=None if errors else plan(rules, received),
            spent=spent,
        )
        return writer.pack(Job(filing, watermark))

    try:
        for file_name, chunk in chunks:
            started = clock.perf_counter()
            parsed, form_errors, count = parse_rows(chunk, size)
            read = clock.perf_counter()
            carried = in_flight.carry if in_flight is not None else None
            watermark = None if in_flight is not None else last_event_id()
            rules, errors = validate(parsed, form_errors, None, carried)
            validated = clock.perf_counter()
            # Planned and packed while the writer is still busy with the batch before.
            packed = prepare(file_name, count, rules, errors, validated - started, watermark)
            planned = clock.perf_counter()
            if in_flight is not None:
                flight, in_flight = in_flight, None
                if not finish(flight):
                    # Validated against a batch that was not filed as it was: again.
                    again = clock.perf_counter()
                    watermark = last_event_id()
                    rules, errors = validate(parsed, form_errors, None)
                    validated += clock.perf_counter() - again
                    packed = prepare(
                        file_name, count, rules, errors, validated - started, watermark
                    )
            sending = clock.perf_counter()
            writer.send(packed)
            in_flight = _InFlight(
                file_name=file_name,
                rows=chunk,
                count=count,
                errors=errors,
                carry=None if errors else carry_over(rules),
                phases={
                    "form checks": read - started,
                    "validate": validated - read,
                    "plan and hand over": planned - validated + clock.perf_counter() - sending,
                },
            )
        if in_flight is not None:
            flight, in_flight = in_flight, None
            finish(flight)
    finally:
        try:
            # A file that stops being readable part way: the batch in flight is still filed,
            # as every batch before the bad line is.
            if in_flight is not None:
                finish(in_flight)
        finally:
            writer.close()
    return results
