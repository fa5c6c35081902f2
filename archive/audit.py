"""The audit log: PREMIS-style events in a hash chain, stored in the catalogue.

Each event has a PREMIS event type (`ingestion`, `modification` for a correction that
makes a new version, `fixity check`, `replication`, `dissemination` for an export; local
types `search`, `access`, `catalogue rebuild`), a time in +07:00 (Asia/Ho_Chi_Minh has no
daylight saving), an agent (the OS user or `--agent`), an outcome (`success`, `failure`,
`warning`), the object (a dossier version path, a query…) and a JSON detail. Its hash is
SHA-256 over the previous event's hash and its own canonical JSON, so changing, removing
or reordering any event breaks every later link; `verify()` recomputes the chain.

`append()` runs inside the caller's write transaction, so an event is committed together
with what it records (an ingest's catalogue rows), or not at all. On PostgreSQL it takes
the writers' advisory lock (held to the commit): concurrent appends from several
machines queue up instead of forking the chain.
"""
from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import sqlite3
import uuid
from dataclasses import dataclass, field

VN_TZ = dt.timezone(dt.timedelta(hours=7), "+07:00")
GENESIS = "0" * 64

INGESTION = "ingestion"
MODIFICATION = "modification"
FIXITY = "fixity check"
REPLICATION = "replication"
DISSEMINATION = "dissemination"
SEARCH = "search"
ACCESS = "access"
REBUILD = "catalogue rebuild"


def now() -> str:
    return dt.datetime.now(VN_TZ).isoformat(timespec="milliseconds")


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in a container
        return str(os.getuid())


def agent_name(explicit: str | None = None) -> str:
    return explicit.strip() if explicit and explicit.strip() else os_user()


@dataclass
class Event:
    seq: int
    event_id: str
    type: str
    time: str
    agent: str
    outcome: str
    object: str
    detail: dict = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = ""

    def body(self) -> dict:
        return {"seq": self.seq, "event_id": self.event_id, "type": self.type, "time": self.time,
                "agent": self.agent, "outcome": self.outcome, "object": self.object,
                "detail": self.detail}

    def compute_hash(self) -> str:
        canonical = json.dumps(self.body(), ensure_ascii=False, sort_keys=True,
                               separators=(",", ":"))
        return hashlib.sha256(f"{self.prev_hash}\n{canonical}".encode()).hexdigest()

    def to_json(self) -> dict:
        return self.body() | {"prev_hash": self.prev_hash, "hash": self.hash}


def append(con: sqlite3.Connection, type: str, agent: str, outcome: str, object: str,
           detail: dict | None = None, time: str | None = None) -> Event:
    """Add an event; the caller holds a write transaction (`Catalogue.write()`: BEGIN
    IMMEDIATE, or on PostgreSQL the writers' lock), so two machines never read the same head."""
    last = con.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    event = Event(seq, str(uuid.uuid4()), type, time or now(), agent, outcome, object,
                  detail or {}, prev)
    event.hash = event.compute_hash()
    con.execute("INSERT INTO events (seq, event_id, type, time, agent, outcome, object, detail, "
                "prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (event.seq, event.event_id, event.type, event.time, event.agent, event.outcome,
                 event.object, json.dumps(event.detail, ensure_ascii=False, sort_keys=True),
                 event.prev_hash, event.hash))
    return event


def _row_event(row) -> Event:
    return Event(row[0], row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]),
                 row[8], row[9])


SELECT = ("SELECT seq, event_id, type, time, agent, outcome, object, detail, prev_hash, hash "
          "FROM events")


def events(con: sqlite3.Connection, *, limit: int | None = None, type: str | None = None,
           since: str | None = None, agent: str | None = None) -> list[Event]:
    """Latest events first."""
    where, args = [], []
    if type:
        where.append("type = ?")
        args.append(type)
    if since:
        where.append("time >= ?")
        args.append(since)
    if agent:
        where.append("agent = ?")
        args.append(agent)
    sql = SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [_row_event(r) for r in con.execute(sql, args)]


@dataclass
class ChainReport:
    events: int
    ok: bool
    head: str
    problems: list[str]

    def to_json(self) -> dict:
        return {"events": self.events, "ok": self.ok, "head": self.head, "problems": self.problems}


def verify(con: sqlite3.Connection) -> ChainReport:
    """Recompute every link: numbering, previous hash, own hash."""
    problems: list[str] = []
    prev, expected_seq, count = GENESIS, 1, 0
    for row in con.execute(SELECT + " ORDER BY seq"):
        count += 1
        try:
            event = _row_event(row)
        except (TypeError, ValueError) as exc:
            problems.append(f"event {row[0]}: unreadable detail ({exc})")
            prev, expected_seq = row[9], row[0] + 1
            continue
        if event.seq != expected_seq:
            problems.append(f"event {event.seq}: expected number {expected_seq} (events removed?)")
        if event.prev_hash != prev:
            problems.append(f"event {event.seq}: previous-hash link broken")
        if event.compute_hash() != event.hash:
            problems.append(f"event {event.seq}: content does not match its hash (changed)")
        prev, expected_seq = event.hash, event.seq + 1
    return ChainReport(count, not problems, prev, problems)
