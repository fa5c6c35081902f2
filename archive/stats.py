"""`sohoa archive stats`: per agency and period, what the archive holds.

For the latest version of each dossier: dossiers, documents, pages scanned, the
digitised share (documents with a searchable PDF) and the signed share (documents with a
signed PDF that carries signatures, whatever their verdict; `signed_passed` counts those
whose worst signature is TOTAL_PASSED). The period is the dossier's year (its fonds
folder) or, `--by month`, the month of its date (dossier code date or earliest issued
date).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from .catalogue import Catalogue


@dataclass
class Row:
    agency_code: str
    period: str
    dossiers: int
    documents: int
    pages: int
    digitised: int
    signed: int
    signed_passed: int

    @property
    def digitised_share(self) -> float:
        return self.digitised / self.documents if self.documents else 0.0

    @property
    def signed_share(self) -> float:
        return self.signed / self.documents if self.documents else 0.0

    def to_json(self) -> dict:
        return asdict(self) | {"digitised_share": round(self.digitised_share, 4),
                               "signed_share": round(self.signed_share, 4)}


def stats(cat: Catalogue, *, by: str = "year", agency: str | None = None) -> list[Row]:
    period = ("CAST(s.year AS TEXT)" if by == "year" else
              "COALESCE(substr(s.dossier_date, 1, 7), CAST(s.year AS TEXT))")
    where, args = ["d.version_id = s.latest_version_id"], []
    if agency:
        where.append("s.agency_code = ?")
        args.append(agency)
    sql = (f"SELECT s.agency_code, {period} AS period, COUNT(DISTINCT s.id), COUNT(d.id), "
           "COALESCE(SUM(d.pages), 0), SUM(CASE WHEN d.file IS NOT NULL THEN 1 ELSE 0 END), "
           "SUM(d.signed), SUM(CASE WHEN d.signature = 'TOTAL_PASSED' THEN 1 ELSE 0 END) "
           "FROM dossiers s JOIN documents d ON d.dossier_id = s.id "
           f"WHERE {' AND '.join(where)} GROUP BY s.agency_code, period ORDER BY s.agency_code, period")
    return [Row(*r) for r in cat.con.execute(sql, args)]


def totals(rows: list[Row]) -> Row:
    return Row("all", "all", *(sum(getattr(r, f) for r in rows) for f in
                               ("dossiers", "documents", "pages", "digitised", "signed", "signed_passed")))


def plot(rows: list[Row], path: Path) -> None:
    """Documents per period and agency (bars), digitised and signed shares (lines)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        from sohoa.cli.errors import UsageError

        raise UsageError("--plot needs matplotlib: pip install matplotlib") from exc
    from sohoa.cli.fsio import atomic_output

    periods = sorted({r.period for r in rows})
    agencies = sorted({r.agency_code for r in rows})
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(6.0, 0.6 * len(periods) + 3), 7),
                                      sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    x = range(len(periods))
    base = [0] * len(periods)
    for agency in agencies:
        values = [sum(r.documents for r in rows if r.agency_code == agency and r.period == p) for p in periods]
        top.bar(x, values, bottom=base, label=agency)
        base = [b + v for b, v in zip(base, values)]
    top.set_ylabel("documents")
    top.set_ylim(0, max(base + [1]) * 1.3)  # room for the legend
    top.set_title("sohoa archive — documents per period and agency")
    if agencies:
        top.legend(fontsize="small", ncol=2)
    by_period = {p: totals([r for r in rows if r.period == p]) for p in periods}
    bottom.plot(x, [by_period[p].digitised_share * 100 for p in periods], marker="o", label="digitised %")
    bottom.plot(x, [by_period[p].signed_share * 100 for p in periods], marker="s", label="signed %")
    bottom.set_ylim(0, 105)
    bottom.set_ylabel("share of documents (%)")
    bottom.set_xticks(list(x))
    bottom.set_xticklabels(periods, rotation=45 if len(periods) > 8 else 0)
    bottom.legend(fontsize="small")
    fig.tight_layout()
    with atomic_output(path) as out:
        fig.savefig(out, format="png", dpi=120)
    plt.close(fig)
