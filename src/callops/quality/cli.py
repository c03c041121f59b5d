"""``callops qa …``: agreement statistics, sample sizes, sampling plans and draws, scores, rankings, coaching."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from callops.errors import CallopsError

qa_app = typer.Typer(
    help="Quality inspection: agreement, sampling plans, scores, rankings, coaching.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)

AsJson = Annotated[bool, typer.Option("--json", help="Print only JSON.")]
TenantOpt = Annotated[str, typer.Option("--tenant", help="Tenant.")]
PeriodOpt = Annotated[str | None, typer.Option("--period", help="Month YYYY-MM (default: latest evaluated).")]


def _clean(x: Any) -> Any:
    """JSON-safe: NaN/inf → null, numpy scalars → Python."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, str):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _emit_json(doc: Any) -> None:
    typer.echo(json.dumps(_clean(doc), ensure_ascii=False))


def read_long_file(path: Path, unit_col: str, rater_col: str, value_col: str) -> list[tuple[str, str, Any]]:
    """Read long-format ratings (CSV/TSV/XLSX/Parquet): one row per unit and rater; an empty value is a missing
    rating. A row without a unit or rater, or a second rating of the same unit by the same rater, is refused
    with its file, row and column."""
    import pandas as pd

    if not path.is_file():
        raise CallopsError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xls"):
            df = pd.read_excel(path, dtype=str)
        elif suffix == ".parquet":
            df = pd.read_parquet(path).astype("string")
        else:
            df = pd.read_csv(path, dtype=str, sep=None, engine="python", keep_default_na=False)
    except Exception as exc:  # the reader's own message, one line
        raise CallopsError(f"{path}: cannot read the file ({str(exc).splitlines()[0]})") from None
    for col in (unit_col, rater_col, value_col):
        if col not in df.columns:
            raise CallopsError(f"{path}: no column {col!r} (columns: {', '.join(map(str, df.columns))})")
    rows: list[tuple[str, str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for i, (u, r, v) in enumerate(zip(df[unit_col], df[rater_col], df[value_col], strict=True)):
        line = i + 2  # header is line 1
        for col, val in ((unit_col, u), (rater_col, r)):
            if val is None or pd.isna(val) or not str(val).strip():
                raise CallopsError(f"{path}, row {line}, column {col}: empty")
        if v is None or pd.isna(v) or not str(v).strip():
            continue
        key = (str(u).strip(), str(r).strip())
        if key in seen:
            raise CallopsError(f"{path}, row {line}, column {value_col}: unit {key[0]!r} already rated by "
                               f"{key[1]!r} on row {seen[key]}")  # fmt: skip
        seen[key] = line
        rows.append((key[0], key[1], str(v).strip()))
    try:
        return [(u, r, float(v)) for u, r, v in rows]
    except ValueError:
        return rows  # categories given as text: nominal statistics only


@qa_app.command("agreement")
def agreement_cmd(
    file: Annotated[Path, typer.Argument(help="Long-format ratings: one row per unit and rater.")],
    unit_col: Annotated[str, typer.Option("--unit-col", help="Column naming the unit (contact, item).")],
    rater_col: Annotated[str, typer.Option("--rater-col", help="Column naming the rater (evaluator).")],
    value_col: Annotated[str, typer.Option("--value-col", help="Column with the rating.")],
    as_json: AsJson = False,
) -> None:
    """Krippendorff's alpha (4 levels), Shrout–Fleiss ICCs, Fleiss' and Cohen's kappa, rater bias."""
    from callops.quality.agreement import agreement_report

    rep = agreement_report(read_long_file(file, unit_col, rater_col, value_col))
    if as_json:
        _emit_json(rep)
        return
    t = Table(title=f"agreement: {rep['units']} units, {rep['raters']} raters, {rep['ratings']} ratings")
    t.add_column("statistic")
    t.add_column("value", justify="right")
    for level, v in rep["alpha"].items():
        t.add_row(f"Krippendorff alpha ({level})", "n/a" if v is None else f"{v:.3f}")
    for k, v in (rep["icc"] or {}).items():
        t.add_row(k.upper().replace("_", "(", 1).replace("_", ",") + ")", f"{v:.3f}")
    if rep.get("fleiss_kappa") is not None:
        t.add_row("Fleiss' kappa", f"{rep['fleiss_kappa']:.3f}")
    if rep.get("cohen_kappa") is not None:
        t.add_row("Cohen's kappa", f"{rep['cohen_kappa']:.3f}")
    out.print(t)


@qa_app.command("sample-size")
def sample_size_cmd(
    sd: Annotated[float, typer.Option("--sd", help="Standard deviation of evaluation scores.")],
    margin: Annotated[float, typer.Option("--margin", help="Margin of error (same unit as the scores).")],
    confidence: Annotated[float, typer.Option("--confidence", help="Confidence level.")] = 0.95,
    population: Annotated[int | None, typer.Option("--population", help="Contacts in the period (FPC).")] = None,
    as_json: AsJson = False,
) -> None:
    """Contacts to evaluate for a margin of error: n0 = (z·S/E)², n = n0 / (1 + (n0 − 1)/N), rounded up."""
    from callops.quality.sampling import sample_size

    res = sample_size(sd, margin, confidence, population)
    if as_json:
        _emit_json(res)
        return
    out.print(f"n = {res['n']} (without finite population correction: {res['n_without_fpc']}); {res['formula']}")


def _period(wh: Any, tenant: str, period: str | None) -> str:
    from callops.quality import data

    if period:
        return data.check_period(period)
    return data.latest_period(wh, tenant)


def _plan(tenant: str, period: str | None, margin: float | None, sd: float | None, confidence: float,
          strata: str, allocation: str, seed: int) -> dict:  # fmt: skip
    from callops.quality import service
    from callops.warehouse import Warehouse

    with Warehouse(read_only=True) as wh:
        p = _period(wh, tenant, period)
        return service.plan(wh, tenant, p, margin=margin, sd=sd, confidence=confidence,
                            strata=[s.strip() for s in strata.split(",") if s.strip()], allocation=allocation,
                            seed=seed)  # fmt: skip


MarginOpt = Annotated[float | None, typer.Option("--margin", help="Margin of error in score points.")]
SdOpt = Annotated[float | None, typer.Option("--sd", help="Score SD (default: pooled from last month's scores).")]
ConfOpt = Annotated[float, typer.Option("--confidence", help="Confidence level.")]
StrataOpt = Annotated[str, typer.Option("--strata", help="Comma list of queue, channel, outcome, duration_band, risk.")]
AllocOpt = Annotated[str, typer.Option("--allocation", help="proportional or neyman.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the draw (same seed, same draw).")]


@qa_app.command("plan")
def plan_cmd(
    tenant: TenantOpt,
    period: PeriodOpt = None,
    margin: MarginOpt = None,
    sd: SdOpt = None,
    confidence: ConfOpt = 0.95,
    strata: StrataOpt = "channel",
    allocation: AllocOpt = "proportional",
    seed: SeedOpt = 0,
    as_json: AsJson = False,
) -> None:
    """Per agent: population, n for the margin, strata with inclusion probabilities and weights, the draw."""
    doc = _plan(tenant, period, margin, sd, confidence, strata, allocation, seed)
    if as_json:
        _emit_json(doc)
        return
    t = Table(title=f"QA plan {doc['tenant']} {doc['period']} (margin ±{doc['margin']:g}, SD {doc['sd']:.1f})")
    for c in ("agent", "population", "n", "risk picks", "exempt"):
        t.add_column(c)
    for a in doc["agents"]:
        t.add_row(a["agent_id"], str(a["population"]), str(a["n"]), str(len(a["risk"])), "yes" if a["exempt"] else "")
    out.print(t)


@qa_app.command("draw")
def draw_cmd(
    tenant: TenantOpt,
    output: Annotated[Path, typer.Option("--out", help="Write the list here (.csv or .xlsx).")],
    period: PeriodOpt = None,
    margin: MarginOpt = None,
    sd: SdOpt = None,
    confidence: ConfOpt = 0.95,
    strata: StrataOpt = "channel",
    allocation: AllocOpt = "proportional",
    seed: SeedOpt = 0,
    record: Annotated[bool, typer.Option("--record/--no-record", help="Record the draw in the store.")] = True,
    as_json: AsJson = False,
) -> None:
    """Write the contacts to evaluate (routine stream, then risk stream) and record them in the store."""
    import pandas as pd

    from callops.exports import workbook_bytes
    from callops.quality import service
    from callops.quality import store as qstore

    if output.suffix.lower() not in (".csv", ".xlsx"):
        raise CallopsError(f"--out {output}: use a .csv or .xlsx file name")
    doc = _plan(tenant, period, margin, sd, confidence, strata, allocation, seed)
    rows = service.draw_rows(doc)
    cols = ["contact_id", "agent_id", "stream", "stratum", "inclusion_probability", "weight", "reasons"]
    df = pd.DataFrame(rows, columns=cols)
    if output.suffix.lower() == ".xlsx":
        output.write_bytes(workbook_bytes([("draw", cols, df.astype(object).where(df.notna(), None).values.tolist())]))
    else:
        df.to_csv(output, index=False)
    if record:
        from callops.store.db import Store

        with Store() as st:
            qstore.save_draw(st, tenant, doc["period"], rows, "hotline_voice@1", seed)
    summary = {"tenant": tenant, "period": doc["period"], "file": str(output), "contacts": len(rows),
               "routine": sum(r["stream"] == "routine" for r in rows),
               "risk": sum(r["stream"] == "risk" for r in rows), "recorded": record}  # fmt: skip
    if as_json:
        _emit_json(summary)
    else:
        out.print(f"{summary['contacts']} contacts ({summary['routine']} routine, {summary['risk']} risk) → {output}")


@qa_app.command("score")
def score_cmd(
    tenant: TenantOpt,
    period: PeriodOpt = None,
    form: Annotated[str, typer.Option("--form", help="Form YAML or built-in name.")] = "hotline_voice",
    as_json: AsJson = False,
) -> None:
    """Score the tenant's evaluations under a form; evaluations that do not fit the form are listed as rejects.
    Each score records its form version and the recorded draw that chose its contact (plan)."""
    from callops.quality import data, service
    from callops.quality.forms import load_form
    from callops.warehouse import Warehouse

    f = load_form(form)
    with Warehouse(read_only=True) as wh, _store() as st:
        p = _period(wh, tenant, period)
        run = data.scored(wh, tenant, p, f)
        service.attach_plans(run.scored, st, tenant)
    doc = {"tenant": tenant, "period": p, "form": f.ref, "evaluations": run.scored, "rejects": run.rejects}
    if as_json:
        _emit_json(doc)
        return
    scores = [r["score"] for r in run.scored if r["score"] is not None]
    mean = sum(scores) / len(scores) if scores else float("nan")
    out.print(f"{len(run.scored)} evaluations scored under {f.ref} (mean {mean:.1f}); {len(run.rejects)} rejected")
    for r in run.rejects[:20]:
        err.print(f"rejected {r['evaluation_id']}: {r['reason']}")


def _store() -> Any:
    from callops.store.db import Store

    return Store()


ThresholdOpt = Annotated[
    float | None, typer.Option("--threshold", help="Reliability below which ranks are suppressed (default: tenant's).")
]


@qa_app.command("ranking")
def ranking_cmd(
    tenant: TenantOpt,
    period: PeriodOpt = None,
    top: Annotated[int, typer.Option("--top", help="K of p_top (probability of being in the top K).")] = 5,
    threshold: ThresholdOpt = None,
    as_json: AsJson = False,
) -> None:
    """Empirical-Bayes shrunk agent scores with posterior and rank intervals, p_top and reliability."""
    from callops.quality import service
    from callops.warehouse import Warehouse

    if top < 1:
        raise CallopsError("--top must be at least 1")
    with Warehouse(read_only=True) as wh, _store() as st:
        p = _period(wh, tenant, period)
        rep = service.ranking_report(wh, tenant, p, top=top, threshold=threshold, store=st)
    if as_json:
        _emit_json(rep)
        return
    t = Table(title=f"QA ranking {tenant} {p} (reliability ≥ {rep['reliability_threshold']:g})")
    for c in ("rank", "agent", "n", "mean", "shrunk", "95% interval", "rank interval", f"p_top{top}", "reliability"):
        t.add_column(c)
    for a in rep["agents"]:
        t.add_row("—" if a["rank"] is None else str(a["rank"]), a["agent_id"], str(a["n"]), f"{a['mean']:.1f}",
                  f"{a['shrunk_mean']:.1f}", f"{a['interval'][0]:.1f}–{a['interval'][1]:.1f}",
                  f"{a['rank_interval'][0]}–{a['rank_interval'][1]}", f"{a['p_top']:.2f}", f"{a['reliability']:.2f}")
    out.print(t)


@qa_app.command("coaching")
def coaching_cmd(tenant: TenantOpt, period: PeriodOpt = None, as_json: AsJson = False) -> None:
    """Coaching and recognition lists (regression to the mean taken out), and rank stability."""
    from callops.quality import service
    from callops.warehouse import Warehouse

    with Warehouse(read_only=True) as wh, _store() as st:
        p = _period(wh, tenant, period)
        rep = service.coaching_report(wh, tenant, p, store=st)
    if as_json:
        _emit_json(rep)
        return
    for key in ("coaching", "recognition"):
        out.print(f"[bold]{key}[/bold]: " + (", ".join(f"{e['agent_id']} ({'; '.join(e['reasons'])})"
                                                        for e in rep[key]) or "none"))  # fmt: skip


@qa_app.command("textqa")
def textqa_cmd(
    tenant: TenantOpt,
    period: PeriodOpt = None,
    rules: Annotated[str, typer.Option("--rules", help="Rule YAML or built-in name.")] = "hotline_zh",
    as_json: AsJson = False,
) -> None:
    """Automatic checks of transcripts, with evidence, and their agreement (kappa) with human evaluations."""
    from callops.quality import service
    from callops.warehouse import Warehouse

    with Warehouse(read_only=True) as wh:
        p = _period(wh, tenant, period)
        rep = service.textqa_report(wh, tenant, p, rules)
    if as_json:
        _emit_json(rep)
        return
    t = Table(title=f"text QA {tenant} {p} ({rep['rules']}, counts when kappa ≥ {rep['min_kappa']:g})")
    for c in ("item", "contacts", "kappa", "agreement", "counts"):
        t.add_column(c)
    for item, a in rep["agreement"].items():
        t.add_row(item, str(a["contacts"]), "n/a" if a["kappa"] is None else f"{a['kappa']:.2f}",
                  "n/a" if a["agreement"] is None else f"{a['agreement']:.2f}", "yes" if a["counts"] else "no")
    out.print(t)
    out.print(f"{len(rep['contacts'])} contacts checked")


@qa_app.command("task")
def task_cmd(
    tenant: TenantOpt,
    agent: Annotated[str, typer.Option("--agent", help="Agent to coach.")],
    owner: Annotated[str, typer.Option("--owner", help="Who holds the session.")],
    reason: Annotated[str, typer.Option("--reason", help="Why.")] = "",
    period: Annotated[str, typer.Option("--period", help="Month the task comes from.")] = "",
    follow_up_days: Annotated[int, typer.Option("--follow-up-days", help="Follow up after this many days.")] = 14,
    as_json: AsJson = False,
) -> None:
    """Create a coaching task with an owner and a follow-up date."""
    from callops.quality import store as qstore

    with _store() as st:
        task = qstore.create_task(st, tenant, agent_id=agent, owner=owner, reason=reason, period=period,
                                  follow_up_on=date.today() + timedelta(days=follow_up_days))  # fmt: skip
    if as_json:
        _emit_json(task)
    else:
        out.print(f"task {task['id']}: {owner} coaches {agent}, follow up on {task['follow_up_on']}")
