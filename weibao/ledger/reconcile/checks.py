"""The reconciliation checks, written once as SQL that DuckDB and Spark SQL both run unchanged.

They read the views `events`, `items`, `sites`, `allowances`, `counts` and `enterprises` (the
Parquet export, see weibao/ledger/export.py), `params` (one row: the run's parameters) and the
derived views `reused` and `family` below. To stay portable they use only plain SQL: integer
epoch seconds (times), DECIMAL quantities, CASE, COALESCE, ABS, CAST, `||`, GROUP BY,
ROW_NUMBER and SUM windows, joins (no engine-specific functions, no correlated subqueries, no
date types: a local day is the integer `(at + 28800) div 86400`, China Standard Time having no
daylight saving).
`at` is a keyword to DuckDB's parser: the column is always written qualified (`e.at`).

Every check returns one row per anomaly key with the columns `kind, subject, enterprise_id
(owner), site_id, product, quantity`, then its evidence columns (`*_at` epoch seconds, `*_day`
day numbers, `*_id` ids). "Later" means later in time, or at the same second with a higher event
id (ingest keeps each code's events in time order; several may share a second). Where a code has
several offending events, the latest one is reported.

Containers: an event on a box or a case is one row on that code carrying the box's quantity at
the time. An issue or a loss on a box is closed by events on the box itself or on what was ever
packed into it (`family`: items in a box, boxes in a case, items in those boxes), counted by
quantity, so a box issued and its detonators fired one by one closes the loop.

The checks (subject in brackets; owner = the unit that filed the offending event unless said):
- not_received [shipped code]: shipped at least LEDGER_NOT_RECEIVED_HOURS (72) before `as_of` and
  no later `received` of that code within them (a later receipt is shown as `received_at`);
  owner: the shipper.
- not_closed [issued code]: issued on a local day before `as_of`'s, and less than the issued
  quantity fired, returned, destroyed or lost (each ends the issue; a loss is also its own
  anomaly) later that same local day; quantity: what stayed out.
- code_reused [code]: more than one `produced`; owner: the last producer.
- never_produced [code]: an item whose first event is not `produced` (ingest only accepts that
  for stock arriving from outside the platform, which it records without a producer).
- over_capacity [site id]: items in store at a magazine, detonators in pieces against
  `capacity_detonators`, explosives in kg against `capacity_kg` (kg reported first); owner: the
  magazine's unit.
- count_mismatch [site:YYYY-MM-DD:product]: a declared daily count that differs from the books at
  the end of that local day, counted as the magazine's book page does (weibao/ledger/books.py):
  in = produced into the site (a code's first production only), stored_in, returned, found into
  it; out = issued, shipped, destroyed, lost from it; quantity: the absolute difference.
- over_permit [permit number]: shipments to the permit's holder under it (every `shipped` naming
  it), per product, above the permit's allowance; a product the permit allows none of counts
  against 0; permits without any allowance are not checked; owner: the holder.
- late_filing [shipped code]: `recorded_at` more than LEDGER_LATE_FILING_DAYS (3) days after `at`;
  owner: the shipper.
- lost [lost code]: its latest `lost` not made good by `found` events (on it or on what was
  packed into it) for its whole quantity; quantity: what is still missing.
"""

# The SQL below is built from this module's constants only (no input reaches it): S608 is moot.
# ruff: noqa: S608
from __future__ import annotations

from dataclasses import dataclass

from weibao.ledger.models import DETONATORS, ProductKind

# Asia/Shanghai is UTC+8 all year.
LOCAL_OFFSET_SECONDS = 8 * 3600


def day(column: str) -> str:
    """The local day number of an epoch-seconds column, in a form both engines compute alike."""
    return f"CAST(FLOOR(({column} + {LOCAL_OFFSET_SECONDS}) / 86400) AS BIGINT)"


def _later(a: str, b: str) -> str:
    """Event `a` comes after event `b`."""
    return f"({a}.at > {b}.at OR ({a}.at = {b}.at AND {a}.id > {b}.id))"


_DETONATORS = ", ".join(f"'{p}'" for p in sorted(DETONATORS))
_EXPLOSIVE = f"'{ProductKind.EXPLOSIVE.value}'"

BASE_VIEWS = ("events", "items", "sites", "allowances", "counts", "enterprises")
# Columns every check returns first; the rest of a row is its evidence.
COMMON = ("kind", "subject", "enterprise_id", "site_id", "product", "quantity")


@dataclass(frozen=True)
class Params:
    as_of: int  # epoch seconds
    transit_seconds: int  # shipped → received, at most
    late_seconds: int  # shipped → filed, at most

    def sql(self) -> str:
        return (
            f"SELECT CAST({int(self.as_of)} AS BIGINT) AS as_of, "
            f"{day(f'CAST({int(self.as_of)} AS BIGINT)')} AS as_of_day, "
            f"CAST({int(self.transit_seconds)} AS BIGINT) AS transit_seconds, "
            f"CAST({int(self.late_seconds)} AS BIGINT) AS late_seconds"
        )


# What was ever packed into a code that was issued or lost (only those need it): its items
# or boxes, and the items of those boxes.
FAMILY = """
WITH roots AS (
    SELECT DISTINCT code AS root FROM events WHERE kind IN ('issued', 'lost')
), children AS (
    SELECT DISTINCT r.root, p.code AS member
    FROM roots r JOIN events p ON p.container = r.root
    WHERE p.kind = 'packed'
), grandchildren AS (
    SELECT DISTINCT c.root, p.code AS member
    FROM children c
    JOIN items k ON k.code = c.root
    JOIN events p ON p.container = c.member
    WHERE k.level = 'case' AND p.kind = 'packed'
)
SELECT root, member FROM children
UNION ALL
SELECT root, member FROM grandchildren
"""

# Codes produced more than once, with their first production (the only one that is stock).
REUSED = """
SELECT code, COUNT(*) AS produced_count, MIN(id) AS first_id
FROM events
WHERE kind = 'produced'
GROUP BY code
HAVING COUNT(*) > 1
"""

# Derived views both engines compute once per run, in this order.
DERIVED: tuple[tuple[str, str], ...] = (("reused", REUSED), ("family", FAMILY))

NOT_RECEIVED = f"""
WITH shipped AS (
    SELECT e.id, e.code, e.at, e.enterprise_id, e.site_id, e.counterpart_id, e.product,
           e.quantity, e.purchase_permit, e.at + p.transit_seconds AS due_at
    FROM events e CROSS JOIN params p
    WHERE e.kind = 'shipped' AND e.at + p.transit_seconds <= p.as_of
), receipts AS (
    SELECT s.id, MIN(r.at) AS received_at,
           MAX(CASE WHEN r.at <= s.due_at THEN 1 ELSE 0 END) AS in_time
    FROM shipped s JOIN events r ON r.code = s.code
    WHERE r.kind = 'received' AND {_later("r", "s")}
    GROUP BY s.id
), missing AS (
    SELECT s.*, r.received_at,
           ROW_NUMBER() OVER (PARTITION BY s.code ORDER BY s.at DESC, s.id DESC) AS rn
    FROM shipped s LEFT JOIN receipts r ON r.id = s.id
    WHERE COALESCE(r.in_time, 0) = 0
)
SELECT 'not_received' AS kind, code AS subject, enterprise_id, site_id, product, quantity,
       id AS shipped_event_id, m.at AS shipped_at, due_at, received_at,
       counterpart_id AS buyer_id, purchase_permit
FROM missing m
WHERE rn = 1
"""

NOT_CLOSED = f"""
WITH issued AS (
    SELECT e.id, e.code, e.at, {day("e.at")} AS issued_day, e.enterprise_id, e.site_id,
           e.person_id, e.project_id, e.product, e.quantity AS issued_quantity
    FROM events e CROSS JOIN params p
    WHERE e.kind = 'issued' AND {day("e.at")} < p.as_of_day
), members AS (
    -- The issued code and what was packed into it, each carrying its issue: joined to the
    -- events on the code alone (a join of issues to events on the day would explode).
    SELECT i.id, i.at, i.issued_day, i.code AS member FROM issued i
    UNION ALL
    SELECT i.id, i.at, i.issued_day, f.member FROM issued i JOIN family f ON f.root = i.code
), closing AS (
    SELECT m.id, SUM(c.quantity) AS closed_quantity, MAX(c.at) AS last_closed_at
    FROM members m JOIN events c ON c.code = m.member AND {day("c.at")} = m.issued_day
    WHERE c.kind IN ('fired', 'returned', 'destroyed', 'lost') AND {_later("c", "m")}
    GROUP BY m.id
), open_ AS (
    SELECT i.*, COALESCE(c.closed_quantity, 0) AS closed_quantity, c.last_closed_at,
           ROW_NUMBER() OVER (PARTITION BY i.code ORDER BY i.at DESC, i.id DESC) AS rn
    FROM issued i LEFT JOIN closing c ON c.id = i.id
    WHERE COALESCE(c.closed_quantity, 0) < i.issued_quantity
)
SELECT 'not_closed' AS kind, code AS subject, enterprise_id, site_id, product,
       issued_quantity - closed_quantity AS quantity,
       id AS issued_event_id, o.at AS issued_at, issued_day, issued_quantity, closed_quantity,
       last_closed_at, person_id, project_id
FROM open_ o
WHERE rn = 1
"""

CODE_REUSED = """
WITH produced AS (
    -- Only the few reused codes' events are ranked (no join of all events by id).
    SELECT e.id, e.code, e.at, e.enterprise_id, e.site_id, e.product, e.quantity,
           r.produced_count,
           ROW_NUMBER() OVER (PARTITION BY e.code ORDER BY e.at, e.id) AS first_rank,
           ROW_NUMBER() OVER (PARTITION BY e.code ORDER BY e.at DESC, e.id DESC) AS last_rank
    FROM events e JOIN reused r ON r.code = e.code
    WHERE e.kind = 'produced'
)
SELECT 'code_reused' AS kind, l.code AS subject, l.enterprise_id, l.site_id, l.product,
       l.quantity, l.produced_count, f.id AS first_event_id, f.at AS first_produced_at,
       f.enterprise_id AS first_producer_id, l.id AS last_event_id, l.at AS last_produced_at
FROM produced l JOIN produced f ON f.code = l.code AND f.first_rank = 1
WHERE l.last_rank = 1
"""

# Ingest creates a code by `produced` (which names its producer) or, for stock arriving from
# outside the platform, by a `received` with no producer: only codes without a producer can
# have a first event other than `produced`, and only their events are read.
NEVER_PRODUCED = """
WITH suspects AS (
    SELECT code FROM items WHERE level = 'item' AND producer_id IS NULL
), ranked AS (
    SELECT e.id, e.code, e.kind AS first_kind, e.at, e.enterprise_id, e.site_id, e.product,
           e.quantity, ROW_NUMBER() OVER (PARTITION BY e.code ORDER BY e.at, e.id) AS rn
    FROM events e JOIN suspects s ON s.code = e.code
), produced AS (
    SELECT e.code, MIN(e.at) AS produced_at
    FROM events e JOIN suspects s ON s.code = e.code
    WHERE e.kind = 'produced'
    GROUP BY e.code
)
SELECT 'never_produced' AS kind, r.code AS subject, r.enterprise_id, r.site_id, r.product,
       r.quantity, r.id AS first_event_id, r.first_kind, r.at AS first_at, p.produced_at
FROM ranked r LEFT JOIN produced p ON p.code = r.code
WHERE r.rn = 1 AND r.first_kind <> 'produced'
"""

OVER_CAPACITY = f"""
WITH stock AS (
    SELECT site_id,
           SUM(CASE WHEN product IN ({_DETONATORS}) THEN quantity ELSE 0 END) AS detonators,
           SUM(CASE WHEN product = {_EXPLOSIVE} THEN quantity ELSE 0 END) AS explosive_kg
    FROM items
    WHERE state = 'in_store' AND level = 'item' AND site_id IS NOT NULL
    GROUP BY site_id
), over_ AS (
    SELECT s.site_id, t.enterprise_id, s.detonators, t.capacity_detonators, s.explosive_kg,
           t.capacity_kg,
           CASE WHEN t.capacity_kg IS NOT NULL AND s.explosive_kg > t.capacity_kg
                THEN 1 ELSE 0 END AS over_kg
    FROM stock s JOIN sites t ON t.id = s.site_id
    WHERE (t.capacity_kg IS NOT NULL AND s.explosive_kg > t.capacity_kg)
       OR (t.capacity_detonators IS NOT NULL AND s.detonators > t.capacity_detonators)
)
SELECT 'over_capacity' AS kind, CAST(site_id AS STRING) AS subject, enterprise_id, site_id,
       CASE WHEN over_kg = 1 THEN {_EXPLOSIVE} ELSE '' END AS product,
       CASE WHEN over_kg = 1 THEN explosive_kg - capacity_kg
            ELSE detonators - capacity_detonators END AS quantity,
       CASE WHEN over_kg = 1 THEN 'kg' ELSE 'piece' END AS measure,
       detonators, capacity_detonators, explosive_kg, capacity_kg
FROM over_
"""

_IN = "'stored_in', 'returned', 'found'"
_OUT = "'issued', 'shipped', 'destroyed', 'lost'"

COUNT_MISMATCH = f"""
WITH moves AS (
    SELECT e.site_id, e.product, {day("e.at")} AS book_day,
           SUM(CASE WHEN e.kind IN ({_OUT}) THEN -e.quantity ELSE e.quantity END) AS net
    FROM events e LEFT JOIN reused r ON r.code = e.code
    WHERE e.site_id IS NOT NULL
      AND (e.kind IN ({_IN}, {_OUT})
           OR (e.kind = 'produced' AND (r.code IS NULL OR r.first_id = e.id)))
    GROUP BY e.site_id, e.product, {day("e.at")}
), daily AS (
    SELECT site_id, product, book_day, SUM(net) AS net
    FROM (
        SELECT site_id, product, book_day, net FROM moves
        UNION ALL
        SELECT site_id, product, day AS book_day, CAST(0 AS DECIMAL(14, 3)) AS net FROM counts
    ) u
    GROUP BY site_id, product, book_day
), books AS (
    SELECT site_id, product, book_day,
           SUM(net) OVER (PARTITION BY site_id, product ORDER BY book_day
                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS on_hand
    FROM daily
)
SELECT 'count_mismatch' AS kind,
       CAST(c.site_id AS STRING) || ':' || c.day_text || ':' || c.product AS subject,
       t.enterprise_id, c.site_id, c.product, ABS(c.quantity - b.on_hand) AS quantity,
       c.day AS count_day, c.quantity AS declared, b.on_hand AS books
FROM counts c
JOIN books b ON b.site_id = c.site_id AND b.product = c.product AND b.book_day = c.day
JOIN sites t ON t.id = c.site_id
WHERE c.quantity <> b.on_hand
"""

OVER_PERMIT = """
WITH bought AS (
    SELECT purchase_permit AS number, counterpart_id AS buyer_id, product,
           SUM(quantity) AS purchased, COUNT(*) AS shipments,
           MIN(id) AS first_event_id, MAX(id) AS last_event_id
    FROM events
    WHERE kind = 'shipped' AND purchase_permit <> '' AND counterpart_id IS NOT NULL
    GROUP BY purchase_permit, counterpart_id, product
), permits AS (
    SELECT DISTINCT permit_id, number, enterprise_id FROM allowances
), over_ AS (
    SELECT b.*, w.permit_id, COALESCE(a.quantity, 0) AS allowed,
           ROW_NUMBER() OVER (PARTITION BY b.number ORDER BY b.product, b.buyer_id) AS rn
    FROM bought b
    JOIN permits w ON w.number = b.number AND w.enterprise_id = b.buyer_id
    LEFT JOIN allowances a ON a.permit_id = w.permit_id AND a.product = b.product
    WHERE b.purchased > COALESCE(a.quantity, 0)
)
SELECT 'over_permit' AS kind, number AS subject, buyer_id AS enterprise_id,
       CAST(NULL AS BIGINT) AS site_id, product, purchased - allowed AS quantity,
       permit_id, allowed, purchased, shipments, first_event_id, last_event_id
FROM over_
WHERE rn = 1
"""

LATE_FILING = """
WITH late AS (
    SELECT e.id, e.code, e.at, e.recorded_at, e.enterprise_id, e.site_id, e.product,
           e.quantity, e.counterpart_id, e.recorded_at - e.at AS delay_seconds,
           ROW_NUMBER() OVER (PARTITION BY e.code ORDER BY e.at DESC, e.id DESC) AS rn
    FROM events e CROSS JOIN params p
    WHERE e.kind = 'shipped' AND e.recorded_at - e.at > p.late_seconds
)
SELECT 'late_filing' AS kind, code AS subject, enterprise_id, site_id, product, quantity,
       id AS shipped_event_id, l.at AS shipped_at, recorded_at, delay_seconds,
       counterpart_id AS buyer_id
FROM late l
WHERE rn = 1
"""

LOST = f"""
WITH ranked AS (
    SELECT e.id, e.code, e.at, e.enterprise_id, e.site_id, e.product, e.quantity,
           ROW_NUMBER() OVER (PARTITION BY e.code ORDER BY e.at DESC, e.id DESC) AS rn
    FROM events e
    WHERE e.kind = 'lost'
), latest AS (
    SELECT r.id, r.code, r.at, r.enterprise_id, r.site_id, r.product, r.quantity
    FROM ranked r
    WHERE r.rn = 1
), members AS (
    SELECT l.id, l.at, l.code AS member FROM latest l
    UNION ALL
    SELECT l.id, l.at, f.member FROM latest l JOIN family f ON f.root = l.code
), found_ AS (
    SELECT m.id, SUM(x.quantity) AS found_quantity, MAX(x.at) AS last_found_at
    FROM members m JOIN events x ON x.code = m.member
    WHERE x.kind = 'found' AND {_later("x", "m")}
    GROUP BY m.id
)
SELECT 'lost' AS kind, l.code AS subject, l.enterprise_id, l.site_id, l.product,
       l.quantity - COALESCE(f.found_quantity, 0) AS quantity,
       l.id AS lost_event_id, l.at AS lost_at, l.quantity AS lost_quantity,
       COALESCE(f.found_quantity, 0) AS found_quantity, f.last_found_at
FROM latest l LEFT JOIN found_ f ON f.id = l.id
WHERE COALESCE(f.found_quantity, 0) < l.quantity
"""

# kind → SQL; the order is the order they run in.
CHECKS: dict[str, str] = {
    "not_received": NOT_RECEIVED,
    "not_closed": NOT_CLOSED,
    "code_reused": CODE_REUSED,
    "never_produced": NEVER_PRODUCED,
    "over_capacity": OVER_CAPACITY,
    "count_mismatch": COUNT_MISMATCH,
    "over_permit": OVER_PERMIT,
    "late_filing": LATE_FILING,
    "lost": LOST,
}
