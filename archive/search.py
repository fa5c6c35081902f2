"""`sohoa archive search`: Vietnamese full-text search over OCR text and metadata.

A query is words (all must match) and "quoted phrases" (their words must also follow each
other). Folding (`fold.py`) makes `quyet dinh dien lac` find "Quyết định … Diên Lạc":
each query word becomes the OR of every exact token of the catalogue that folds like it.
When the query itself carries Vietnamese marks, documents holding every word exactly as
typed (marks and đ included) come first, then those that match only once folded. Within
each tier the most recently archived documents come first: ordering by rowid lets FTS5
stop after the first page of results, so a query costs the same for rare and common words.
Only the latest version of each dossier is searched.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from sohoa.cli.errors import UsageError

from . import fold as F
from . import pg
from .catalogue import Catalogue, decompress

PHRASE = re.compile(r'"([^"]*)"')
BATCH = 500
PHRASE_BUDGET_S = 2.0


@dataclass
class Query:
    text: str
    words: list[str]  # exact tokens, no repeats, in order
    phrases: list[list[str]]  # quoted phrases of two words or more

    @property
    def marked(self) -> bool:
        return any(F.has_marks(w) for w in self.words)


def parse_query(text: str) -> Query:
    phrases = [F.tokens(p) for p in PHRASE.findall(text)]
    words = list(dict.fromkeys(F.tokens(text.replace('"', " "))))
    if not words:
        raise UsageError(f"search: no word to look for in {text!r}")
    return Query(text, words, [p for p in phrases if len(p) > 1])


@dataclass
class Filters:
    agency: str | None = None  # agency code, or part of the issuing agency's name
    doc_type: str | None = None  # start of the document type, folded ("quyet dinh")
    date_from: str | None = None  # ISO date, year or year-month
    date_to: str | None = None
    dossier: str | None = None  # dossier code or name

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v}


@dataclass
class Hit:
    document_id: int
    tier: str  # "exact": every word as typed, marks included · "folded"
    agency_code: str
    dossier_code: str | None
    dossier: str
    version_path: str
    seq: int
    file: str | None
    doc_type: str | None
    number: str | None
    symbol: str | None
    issued_date: str | None
    subject: str | None
    agency: str | None
    snippet: str
    highlights: list[tuple[int, int]] = field(default_factory=list)

    def marked_snippet(self, left: str = "«", right: str = "»") -> str:
        out, last = [], 0
        for start, end in self.highlights:
            out += [self.snippet[last:start], left, self.snippet[start:end], right]
            last = end
        return "".join(out) + self.snippet[last:]

    def to_json(self) -> dict:
        return {"tier": self.tier, "agency_code": self.agency_code, "dossier_code": self.dossier_code,
                "dossier": self.dossier, "version": self.version_path, "document": self.seq,
                "file": self.file, "doc_type": self.doc_type, "number": self.number,
                "symbol": self.symbol, "issued_date": self.issued_date, "subject": self.subject,
                "agency": self.agency, "snippet": self.marked_snippet(),
                "highlights": [list(h) for h in self.highlights]}


@dataclass
class SearchResult:
    query: Query
    filters: Filters
    hits: list[Hit]
    seconds: float
    more: bool  # there may be more results than shown
    partial: bool = False  # a phrase check stopped at its time budget: narrow the search

    def to_json(self) -> dict:
        return {"query": self.query.text, "words": self.query.words, "filters": self.filters.to_json(),
                "results": [h.to_json() for h in self.hits], "more": self.more, "partial": self.partial,
                "milliseconds": round(self.seconds * 1000, 1)}


def _quote(token: str) -> str:
    return '"' + token + '"'


# How a match expression is written: FTS5 on SQLite, tsquery on PostgreSQL.
FTS5 = {"quote": _quote, "and": " AND ", "or": " OR ", "not": "({0}) NOT ({1})"}
TSQUERY = {"quote": pg.quote, "and": " & ", "or": " | ", "not": "({0}) & !({1})"}


def variants(cat: Catalogue, word: str) -> list[str]:
    folded = F.fold_token(word)
    found = [r[0] for r in cat.con.execute("SELECT term FROM terms WHERE folded = ?", (folded,))]
    return sorted({folded, *found})


def fts_expressions(cat: Catalogue, query: Query) -> list[tuple[str, str]]:
    """[(tier, FTS5 expression or tsquery)] in the order their results are shown."""
    syntax = TSQUERY if cat.postgres else FTS5
    quote = syntax["quote"]
    folded = syntax["and"].join("(" + syntax["or"].join(quote(v) for v in variants(cat, w)) + ")"
                                for w in query.words)
    if not query.marked:
        return [("folded", folded)]
    exact = syntax["and"].join(quote(w) for w in query.words)
    return [("exact", exact), ("folded", syntax["not"].format(folded, exact))]


def _date_bound(value: str, upper: bool) -> str:
    value = value.strip()
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value):
        raise UsageError(f"date {value!r}: give YYYY, YYYY-MM or YYYY-MM-DD")
    if len(value) == 4:
        return value + ("-12-31" if upper else "-01-01")
    if len(value) == 7:
        return value + ("-31" if upper else "-01")
    return value


def filter_sql(cat: Catalogue, filters: Filters) -> tuple[str, list]:
    """SQL conditions on documents `d` and dossiers `s` (latest versions only)."""
    where, args = ["d.version_id = s.latest_version_id"], []
    if filters.agency:
        known = cat.con.execute("SELECT 1 FROM dossiers WHERE agency_code = ? LIMIT 1",
                                (filters.agency,)).fetchone()
        if known:
            where.append("s.agency_code = ?")
            args.append(filters.agency)
        else:
            where.append("sohoa_fold(d.agency) LIKE ?")
            args.append("%" + F.fold(filters.agency) + "%")
    if filters.doc_type:
        where.append("sohoa_fold(d.doc_type) LIKE ?")
        args.append(F.fold(filters.doc_type).strip() + "%")
    if filters.date_from:
        where.append("COALESCE(d.issued_date, s.dossier_date) >= ?")
        args.append(_date_bound(filters.date_from, False))
    if filters.date_to:
        where.append("COALESCE(d.issued_date, s.dossier_date) <= ?")
        args.append(_date_bound(filters.date_to, True))
    if filters.dossier:
        where.append("(s.dossier_code = ? OR s.name = ? OR s.folder = ?)")
        args += [filters.dossier, filters.dossier, filters.dossier]
    return " AND ".join(where), args


def register_functions(cat: Catalogue) -> None:
    if cat.postgres:
        return  # sohoa_fold is an SQL function of the catalogue (pg.fold_function)
    cat.con.create_function("sohoa_fold", 1, lambda v: F.fold(v) if v else "", deterministic=True)


def search(cat: Catalogue, text: str, filters: Filters | None = None, limit: int = 20) -> SearchResult:
    started = time.perf_counter()
    filters = filters or Filters()
    query = parse_query(text)
    register_functions(cat)
    where, args = filter_sql(cat, filters)
    hits: list[Hit] = []
    more = partial = False
    for tier, expression in fts_expressions(cat, query):
        want = limit - len(hits)
        if want <= 0:
            more = True
            break
        ids, cut = _matching_ids(cat, expression, where, args, query, tier, want + 1)
        partial = partial or cut
        if len(ids) > want:
            more = True
            ids = ids[:want]
        hits += _hits(cat, ids, query, tier)
    return SearchResult(query, filters, hits, time.perf_counter() - started, more or partial, partial)


MATCH_SQLITE = ("SELECT f.rowid FROM doc_fts f JOIN documents d ON d.id = f.rowid "
                "JOIN dossiers s ON s.id = d.dossier_id "
                "WHERE doc_fts MATCH ? AND {where} {before} ORDER BY f.rowid DESC LIMIT ?")
# PostgreSQL: a window of ids at a time, newest first, each window 4× the last; its matches
# first (GIN or the id range, as the planner sees fit), then the joins and filters on them
# alone: one plan over all matches sorts every match of a common word (≈0.1 s at 20,000
# documents, growing with the archive).
MATCH_PG = ("WITH f AS MATERIALIZED (SELECT id FROM doc_words WHERE words @@ ?::tsquery "
            "AND id >= ? AND id < ?) SELECT d.id FROM f JOIN documents d ON d.id = f.id "
            "JOIN dossiers s ON s.id = d.dossier_id WHERE {where} AND d.id >= ? AND d.id < ? "
            "ORDER BY d.id DESC LIMIT ?")
FIRST_WINDOW = 256


def _newest(cat: Catalogue, expression: str, where: str, args: list, want: int,
            before: int | None = None) -> list[int]:
    """Up to `want` matching document ids below `before`, newest first."""
    if not cat.postgres:
        sql = MATCH_SQLITE.replace("{where}", where).format(before="AND f.rowid < ?" if before else "")
        return [r[0] for r in cat.con.execute(sql, [expression, *args, *([before] if before else []), want])]
    sql = MATCH_PG.replace("{where}", where)
    hi = before or cat.con.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM doc_words").fetchone()[0]
    found: list[int] = []
    window = FIRST_WINDOW
    while hi > 0 and len(found) < want:
        lo = max(0, hi - window)
        found += [r[0] for r in cat.con.execute(sql, [expression, lo, hi, *args, lo, hi, want - len(found)])]
        hi, window = lo, window * 4
    return found


def _matching_ids(cat: Catalogue, expression: str, where: str, args: list, query: Query,
                  tier: str, want: int) -> tuple[list[int], bool]:
    """Matching document ids, newest first; True if a phrase check ran out of time."""
    if not query.phrases:
        return _newest(cat, expression, where, args, want), False
    patterns = phrase_patterns(query, tier)
    found: list[int] = []
    before = None
    deadline = time.perf_counter() + PHRASE_BUDGET_S
    partial = False
    while len(found) < want:
        if time.perf_counter() > deadline:
            partial = True
            break
        ids = _newest(cat, expression, where, args, BATCH, before)
        if not ids:
            break
        before = ids[-1]
        rows = cat.con.execute(
            "SELECT id, text, COALESCE(subject, '') || ' ' || COALESCE(agency, '') || ' ' || "
            f"COALESCE(doc_type, '') FROM documents WHERE id IN ({','.join('?' * len(ids))})", ids)
        for doc_id, blob, meta in rows:
            if all(p.search(_haystack(meta, tier)) or p.search(_haystack(decompress(blob), tier)) for p in patterns):
                found.append(doc_id)
        found.sort(reverse=True)
    return found[:want], partial


def _haystack(text: str, tier: str) -> str:
    return text.lower() if tier == "exact" else F.fold(text)


def phrase_patterns(query: Query, tier: str) -> list[re.Pattern]:
    """Each quoted phrase as a regex over lower-case (exact) or folded text: its words in
    order, separated by anything that is not a letter or digit."""
    patterns = []
    for phrase in query.phrases:
        words = phrase if tier == "exact" else [F.fold_token(w) for w in phrase]
        patterns.append(re.compile(r"(?<![^\W_])" + r"[\W_]+".join(map(re.escape, words)) + r"(?![^\W_])"))
    return patterns


def _hits(cat: Catalogue, ids: list[int], query: Query, tier: str) -> list[Hit]:
    if not ids:
        return []
    rows = cat.con.execute(
        "SELECT d.id, s.agency_code, s.dossier_code, s.name, v.path, d.seq, d.file, d.doc_type, "
        "d.number, d.symbol, d.issued_date, d.subject, d.agency, d.text, d.signer_name "
        "FROM documents d JOIN versions v ON v.id = d.version_id JOIN dossiers s ON s.id = d.dossier_id "
        f"WHERE d.id IN ({','.join('?' * len(ids))})", ids).fetchall()
    by_id = {r[0]: r for r in rows}
    hits = []
    for doc_id in ids:
        r = by_id[doc_id]
        head = " · ".join(filter(None, [r[7], "/".join(filter(None, [r[8], r[9]])), r[11], r[12], r[14]]))
        snippet, spans = make_snippet(decompress(r[13]), query, tier, fallback=head)
        hits.append(Hit(r[0], tier, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
                        r[11], r[12], snippet, spans))
    return hits


WINDOW = 200  # characters of a snippet after its first match
LEAD = 50  # characters before it


def make_snippet(text: str, query: Query, tier: str, fallback: str = "") -> tuple[str, list[tuple[int, int]]]:
    """The passage of `text` with the most query words, and where they are in it."""
    exact_words = set(query.words)
    wanted = exact_words if tier == "exact" else {F.fold_token(w) for w in query.words}
    pattern = re.compile(r"(?<![^\W_])(" + "|".join(sorted(map(re.escape, wanted), key=len, reverse=True))
                         + r")(?![^\W_])")
    for source in (text, fallback):
        if not source:
            continue
        lowered = source.lower()
        hay = lowered if tier == "exact" else F.fold(lowered)
        if len(hay) != len(source):  # a letter that changes length when folded: show it folded
            source = lowered = hay
        matches = [(m.start(), m.end(), m.group(1)) for m in pattern.finditer(hay)]
        if not matches:
            continue
        best, best_score = 0, -1
        for i, (start, _, _) in enumerate(matches):
            window = [m for m in matches[i:i + 40] if m[0] < start + WINDOW]
            score = len({m[2] for m in window}) * 100 + sum(lowered[a:b] in exact_words for a, b, _ in window)
            if score > best_score:
                best, best_score = i, score
        first = matches[best][0]
        lo = max(0, first - LEAD)
        lo = 0 if lo == 0 else (source.find(" ", lo, first) + 1 or lo)
        hi = min(len(source), first + WINDOW)
        if hi < len(source):
            space = source.rfind(" ", first, hi)
            hi = space if space > first else hi
        out: list[str] = ["… "] if lo > 0 else []
        cursor = len(out[0]) if out else 0
        highlights: list[tuple[int, int]] = []
        pos = lo
        for a, b, _ in matches:
            if a < lo or b > hi:
                continue
            gap = re.sub(r"\s+", " ", source[pos:a])
            out += [gap, source[a:b]]
            highlights.append((cursor + len(gap), cursor + len(gap) + b - a))
            cursor += len(gap) + b - a
            pos = b
        out.append(re.sub(r"\s+", " ", source[pos:hi]))
        if hi < len(source):
            out.append(" …")
        return "".join(out), highlights
    return fallback[:WINDOW], []
