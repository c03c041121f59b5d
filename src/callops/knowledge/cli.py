"""``callops kb ...``: import, export, search and evaluate a tenant's knowledge base; reminders; hot topics."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

kb_app = typer.Typer(name="kb", help="Knowledge base: articles, search, evaluation, hot topics.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

TenantOpt = Annotated[str, typer.Option(help="Tenant.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _store_for(tenant: str):
    from callops.store.cli import ensure_tenant
    from callops.store.db import Store

    store = Store()
    ensure_tenant(store, tenant)
    return store


@kb_app.command("import")
def kb_import(
    file: Annotated[Path, typer.Argument(help="JSON lines, one article per line (docs/knowledge.md).")],
    tenant: TenantOpt,
    as_json: JsonOpt = False,
) -> None:
    """Load articles; an invalid line is rejected with its number and reason, the others load."""
    from callops.knowledge import service
    from callops.store.cli import cli_actor

    with _store_for(tenant) as store:
        result = service.import_file(store, tenant, file, cli_actor())
    if as_json:
        print(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    out.print(f"created {result.created}, updated {result.updated}, unchanged {result.unchanged}, "
              f"rejected {len(result.rejected)}")
    for r in result.rejected:
        out.print(f"  {r['file']}:{r['line']}: {r['reason']}", markup=False)


@kb_app.command("export")
def kb_export(
    tenant: TenantOpt,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    state: Annotated[str | None, typer.Option(help="Only articles in this state.")] = None,
) -> None:
    """Write the tenant's articles as JSON lines (the format ``kb import`` reads)."""
    from callops.knowledge import service

    with _store_for(tenant) as store, store.session() as s:
        records = service.export_records(s, tenant, state)
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if output is None:
        sys.stdout.write(lines)
    else:
        output.write_text(lines, encoding="utf-8")
        err.print(f"wrote {len(records)} articles to {output}")


@kb_app.command("search")
def kb_search(
    query: Annotated[str, typer.Argument(help="What the customer asks (zh or en).")],
    tenant: TenantOpt,
    audience: Annotated[str | None, typer.Option(help="customer, agent, account_manager, monitor or manager.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Only articles with this tag (repeatable).")] = None,
    language: Annotated[str | None, typer.Option(help="zh, en or mixed.")] = None,
    state: Annotated[list[str] | None, typer.Option(help="States to search (authors; default published).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many hits.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Search the tenant's articles (the command line searches as an author: expired articles are flagged)."""
    from callops.knowledge import service
    from callops.store.cli import cli_actor

    with _store_for(tenant) as store:
        res = service.search(store, tenant, query, audience=audience, tags=tag, language=language, states=state,
                             k=limit, author_view=True, actor=cli_actor())
    if as_json:
        print(json.dumps(res.as_dict(), ensure_ascii=False))
        return
    if not res.hits:
        out.print("no article matches")
        return
    table = Table("id", "score", "title", "note")
    for h in res.hits:
        table.add_row(h.key, f"{h.score:.2f}", h.title, "expired" if h.expired else "")
    out.print(table)


@kb_app.command("evaluate")
def kb_evaluate(
    file: Annotated[Path, typer.Argument(help="JSON lines {query, expected} (an id or a list of ids).")],
    tenant: TenantOpt,
    audience: Annotated[str | None, typer.Option(help="Search as this audience.")] = None,
    rerank: Annotated[bool, typer.Option("--rerank/--index-only",
                                         help="Use the tenant's trained re-ranker when it has one (default).")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Recall@1/3/5, MRR@10 and queries per second of the tenant's published articles on labelled queries."""
    from callops.knowledge import evaluate, service, training

    items = evaluate.read_file(file)
    with _store_for(tenant) as store:
        index = service.tenant_index(store, tenant)
        with store.session() as s:
            today = service.tenant_today(s, tenant)
            reranker = training.active_reranker(store, tenant, s) if rerank else None
    keep = index.mask(audience=audience, today=today)
    res = evaluate.evaluate(lambda q: [h.key for h in index.search(q, k=10, keep=keep, highlights=False,
                                                                   reranker=reranker)], items)
    res["reranked"] = reranker is not None
    if as_json:
        print(json.dumps(res))
        return
    for k, v in res.items():
        out.print(f"{k:14} {v}")


@kb_app.command("train")
def kb_train(
    tenant: TenantOpt,
    file: Annotated[Path | None, typer.Argument(help="JSON lines {query, expected}, as kb evaluate reads.")] = None,
    from_events: Annotated[bool, typer.Option(
        "--from-events", help="Also learn from the agents' events: questions on a contact where an article was "
                              "used, linked or sent.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report the held-out check; store nothing.")] = False,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the tenant's re-ranker and stop.")] = False,
    show: Annotated[bool, typer.Option("--show", help="Print the stored re-ranker's report and stop.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Learn the tenant's re-ranker from labelled questions; it orders the top 30 of every search when the
    held-out fifth shows it does not lower MRR@10 (docs/knowledge.md)."""
    from callops.errors import CallopsError
    from callops.knowledge import evaluate, training
    from callops.store.cli import cli_actor

    if clear or show:
        if file is not None or from_events or dry_run or (clear and show):
            raise CallopsError("--clear and --show take no other option")
        with _store_for(tenant) as store:
            doc = {"cleared": training.clear(store, tenant)} if clear else {"reranker": training.status(store, tenant)}
        if as_json:
            print(json.dumps(doc, ensure_ascii=False))
        else:
            out.print(doc)
        return
    if file is None and not from_events:
        raise CallopsError("give a FILE of labelled questions, --from-events, or both")
    items = evaluate.read_file(file) if file is not None else []
    with _store_for(tenant) as store, err.status("training the re-ranker …"):
        report = training.train(store, tenant, items, use_events=from_events, actor=cli_actor(), dry_run=dry_run)
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    table = Table("held-out", "R@1", "R@3", "R@5", "MRR@10", title=f"{report['holdout_queries']} held-out questions")
    for name in ("holdout_index_only", "holdout_reranked"):
        m = report[name]
        if m:
            table.add_row(name.removeprefix("holdout_").replace("_", " "),
                          *(f"{m[k]:.3f}" for k in ("recall_at_1", "recall_at_3", "recall_at_5", "mrr_at_10")))
    out.print(table)
    state = "active" if report["active"] else "stored inactive (worse than the index alone on the held-out fifth)"
    out.print(f"{report['queries']} questions ({report['from_file']} from the file, {report['from_events']} from "
              f"events, {report['unknown_articles']} naming no published article); "
              f"{'not stored (dry run)' if dry_run else state}")


@kb_app.command("synonyms")
def kb_synonyms(
    file: Annotated[Path, typer.Argument(help="YAML: synonyms: [[phrase, phrase, ...], ...].")],
    tenant: TenantOpt,
) -> None:
    """Replace the tenant's synonym groups (validated; errors name the line)."""
    from callops.errors import CallopsError
    from callops.knowledge import service

    if not file.exists():
        raise CallopsError(f"{file}: no such file")
    text = file.read_text(encoding="utf-8")
    with _store_for(tenant) as store, store.session() as s:
        n = service.set_synonyms(s, tenant, text, str(file))
    out.print(f"{n} synonym groups set for {tenant}")


@kb_app.command("remind")
def kb_remind(tenant: TenantOpt, as_json: JsonOpt = False) -> None:
    """Queue verification reminders for articles due within 7 days (each once) in the notification outbox."""
    from callops.knowledge import articles

    with _store_for(tenant) as store, store.session() as s:
        sent = articles.remind_due(s, tenant)
    rows = [{"article": r.article, "owner": r.owner, "due": r.due.isoformat()} for r in sent]
    if as_json:
        print(json.dumps({"reminders": rows}, ensure_ascii=False))
        return
    out.print(f"{len(rows)} reminders queued")


@kb_app.command("hot")
def kb_hot(
    tenant: TenantOpt,
    alpha: Annotated[float, typer.Option(help="Significance level of the one-sided test (Holm-corrected).")] = 0.01,
    notify: Annotated[bool, typer.Option(help="Queue notifications and gap tasks.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Hot topics: business types (contacts), search terms and articles (knowledge events) whose volume rose
    significantly over their own baseline; run it on a schedule with --notify to push them."""
    from contextlib import nullcontext

    from callops.knowledge import hot
    from callops.settings import warehouse_url
    from callops.warehouse import Warehouse

    url = warehouse_url()
    has_wh = not url.startswith("duckdb://") or Path(url.removeprefix("duckdb://")).exists()
    with _store_for(tenant) as store, (Warehouse(url, read_only=True) if has_wh else nullcontext()) as wh:
        topics = hot.detect_for_tenant(store, tenant, wh=wh, alpha=alpha, notify=notify)
    if as_json:
        print(json.dumps({"topics": [t.as_dict() for t in topics]}, ensure_ascii=False))
        return
    if not topics:
        out.print("no hot topic")
    for t in topics:
        out.print(f"{t.kind} {t.subject}: {t.current} vs {t.expected:.1f} expected (p={t.p_value:.2g}) "
                  f"queues {', '.join(t.queues) or '-'} article {t.article or 'GAP'}", markup=False)


@kb_app.command("dataset")
def kb_dataset(
    name: Annotated[str, typer.Argument(help="banking77, bq or atec.")],
    path: Annotated[Path, typer.Argument(help="The banking77 folder, or the BQ/ATEC .gz file.")],
    articles_out: Annotated[Path, typer.Option(help="Where to write the articles (JSON lines).")],
    queries_out: Annotated[Path, typer.Option(help="Where to write the labelled queries (JSON lines).")],
) -> None:
    """Turn a public question set into an article file for ``kb import`` and a query file for ``kb evaluate``."""
    from callops.errors import CallopsError
    from callops.knowledge import datasets

    if name == "banking77":
        docs, queries = datasets.banking77(path)
    elif name in ("bq", "atec"):
        docs, queries = datasets.question_pairs(path, limit=None)
    else:
        raise CallopsError(f"unknown data set {name!r}; use banking77, bq or atec")
    datasets.to_jsonl(docs, queries, articles_out, queries_out)
    err.print(f"{len(docs)} articles → {articles_out}, {len(queries)} queries → {queries_out}")
