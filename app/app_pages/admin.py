"""The admin page: feedback statistics and export (first: what an admin opens the page for), corpus status and ingest, the A/B test of a candidate model, the audit log."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.services import Action
from app.ui import get_services, refuse
from rag.errors import RagError

services = get_services()
if not services.identity.may(Action.SEE_DASHBOARD):
    refuse(services, Action.SEE_DASHBOARD, "open the Admin page")

st.title("Admin")
feedback_tab, corpus_tab, ab_tab, audit_tab = st.tabs(["Feedback", "Corpus", "A/B test", "Audit log"])

with ab_tab:
    from app.ab_view import show_ab

    show_ab(services)

with corpus_tab:
    # Filled after the ingest below has run, so its counts show at once, not after a reload.
    status_box = st.container()
    ingested_now = False

    st.subheader("Ingest a folder")
    st.caption(
        "A folder on the server; it is searched recursively and only changed files are re-indexed. "
        "Files on your computer: **Add documents** in the sidebar of *Ask the documents*."
    )
    folder = st.text_input("Folder", key="admin_folder", placeholder="/srv/docs/warehouse-standards")
    prune = st.checkbox(
        "Also remove indexed documents that are not in this folder",
        key="admin_prune",
        help="For an index built from this one folder: drops documents whose files were deleted or moved. Documents ingested from other folders are removed too.",
    )
    if st.button("Ingest", key="admin_ingest", type="primary"):
        path = Path(folder.strip()).expanduser() if folder.strip() else None
        if path is None or not path.exists():
            st.error(f"No such folder on the server: {folder!r}")
        else:
            bar = st.progress(0.0, text="Reading files…")

            def progress(p):
                bar.progress(
                    p.files_done / max(p.files_total, 1),
                    text=f"{p.files_done}/{p.files_total} files · {p.pages_done} pages · {p.current}",
                )

            try:
                report = services.corpus.ingest([path], prune=prune, progress=progress)
            except RagError as e:
                st.error(str(e))
            else:
                ingested_now = True
                bar.progress(1.0, text="Done")
                message = (
                    f"{report.files_seen} files: {len(report.indexed)} indexed, {report.unchanged} unchanged, "
                    f"{len(report.failed)} failed, {len(report.skipped)} skipped, {len(report.pruned)} pruned; "
                    f"{report.pages} pages, {report.chunks} passages in {report.seconds:.1f} s"
                )
                (st.warning if report.failed else st.success)(message)
                if report.failed:
                    st.dataframe([f.model_dump() for f in report.failed], hide_index=True, width="stretch")

    with status_box:
        status = services.corpus.status()
        cols = st.columns(3)
        cols[0].metric("Documents", status.documents)
        cols[1].metric("Pages", status.pages)
        cols[2].metric("Passages", status.chunks)
        st.caption(f"Embedding model: {status.embedding_model or '– (nothing indexed yet)'}")
        last = status.last_ingest
        if last:
            from datetime import UTC, datetime

            started = datetime.fromtimestamp(last.started_at, UTC)
            from app.ui_text import escape_markdown

            st.caption(
                f"Last ingest {started:%Y-%m-%d %H:%M} UTC of {escape_markdown(status.last_ingest_from or '')}: "
                f"{len(last.indexed)} indexed, {last.unchanged} unchanged, {len(last.failed)} failed, "
                f"{len(last.skipped)} skipped, {len(last.pruned)} pruned in {last.seconds:.1f} s"
            )
            if last.failed and not ingested_now:  # else the ingest's own report lists them below
                st.markdown("**Files that could not be read**")
                st.dataframe([f.model_dump() for f in last.failed], hide_index=True, width="stretch")

    # Prompt injection (issue 24 row 7): the documents whose passages address the model.
    st.subheader("Passages that address the model")
    st.caption(
        "Text written for an AI rather than a reader (“ignore previous instructions”, “you are now…”, "
        "chat-template tokens): possible prompt injection. When such a passage is cited, those sentences "
        "are withheld from the model and the answer carries a warning."
    )
    if st.button(
        "Scan the whole index", key="admin_injection_scan", help="For documents indexed before ingest looked."
    ):
        try:
            services.corpus.scan_injection()
        except RagError as e:
            st.error(str(e))
    flagged_docs = services.corpus.flagged()
    if flagged_docs:
        st.dataframe(
            [
                {
                    "document": d.source,
                    "passages": d.count,
                    "pages": ", ".join(dict.fromkeys(str(p.page) for p in d.passages if p.page is not None)),
                    "what": ", ".join(dict.fromkeys(k for p in d.passages for k in p.kinds)),
                    "text (first)": d.passages[0].matches[0] if d.passages and d.passages[0].matches else "",
                }
                for d in flagged_docs
            ],
            hide_index=True,
            width="stretch",
            key="admin_injection",
        )
    else:
        st.caption("No indexed document has any.")

with feedback_tab:
    import io
    from datetime import UTC, datetime

    from app.charts import negative_share_chart, rating_chart, volume_chart
    from app.services.filters import day_end, day_start
    from app.ui_text import neutralize_links
    from feedback.errors import FeedbackError
    from feedback.stores.base import InteractionFilter

    @st.cache_data(ttl=30, show_spinner="Reading the feedback…")
    def cached_stats():
        # A pass over every record: not on every widget change of this page.
        return services.feedback.stats()

    if st.button("Refresh", key="admin_stats_refresh"):
        cached_stats.clear()
    try:
        stats = cached_stats()
        pending = services.feedback.pending()
    except FeedbackError as e:
        st.error(f"The feedback store cannot be read: {e}")
        st.stop()
    if pending:
        st.warning(f"{pending} feedback writes are waiting in the local outbox for the store to come back.")
    if stats.unreadable:
        n = stats.unreadable
        are, them = ("are", "them") if n != 1 else ("is", "it")
        st.warning(
            f"{n} stored record{'s' * (n != 1)} could not be read and {are} left out of these figures and "
            f"of exports; the server log names {them} and says why."
        )
    cols = st.columns(4)
    cols[0].metric("Answers", stats.total)
    cols[1].metric("Rated", stats.rated, help=f"{stats.with_correction} with a better answer")
    cols[2].metric(
        "Negative (1–2)",
        "–" if stats.negative_share is None else f"{stats.negative_share:.0%}",
        help=f"{stats.negative} of {stats.rated} rated answers",
    )
    cols[3].metric(
        "Mean rating",
        "–" if stats.mean_rating is None else f"{stats.mean_rating:.2f}",
        help="1 = Strongly disagree … 5 = Strongly agree with “This answer is correct and useful”",
    )
    if stats.total:
        left, right = st.columns(2)
        with left:
            st.markdown("**Ratings**")
            if stats.rated:
                st.altair_chart(rating_chart(stats), width="stretch")
            else:
                st.caption("No rated answers yet.")
        with right:
            st.markdown(f"**Answers per {stats.trend_unit}**")
            st.altair_chart(volume_chart(stats), width="stretch")
        if stats.rated:
            st.markdown(f"**Negative share per {stats.trend_unit}**")
            st.altair_chart(negative_share_chart(stats), width="stretch")
        if stats.negative_sources:
            st.markdown("**Documents most cited in negatively rated answers**")
            st.dataframe(
                [{"document": s.source, "negative answers citing it": s.count} for s in stats.negative_sources],
                hide_index=True,
                width="stretch",
            )
    else:
        st.caption("No answers yet.")

    st.subheader("Recent rated answers")
    try:
        recent = services.feedback.recent_rated(limit=25).items
    except FeedbackError as e:
        st.error(f"The feedback store cannot be read: {e}")
        recent = []
    if recent:
        picked = st.dataframe(
            [
                {
                    "when (UTC)": f"{r.created_at:%Y-%m-%d %H:%M}",
                    "user": r.user,
                    "rating": f"{r.feedback.rating} · {r.feedback.label}",
                    "question": r.question,
                    "better answer": r.feedback.correction or "",
                    "note": r.feedback.note or "",
                }
                for r in recent
            ],
            hide_index=True,
            width="stretch",
            on_select="rerun",
            selection_mode="single-row",
            key="admin_recent",
        )
        rows = picked.selection.rows if picked and picked.selection else []
        st.caption("Select a row to read the answer, the better answer and the note in full.")
        if rows:
            r = recent[min(rows[0], len(recent) - 1)]
            with st.container(border=True):
                st.markdown(f"**{neutralize_links(r.question)}**")
                st.caption(
                    f"{r.user} · {r.created_at:%Y-%m-%d %H:%M} UTC · {r.model_id} · rated {r.feedback.rating} ({r.feedback.label})"
                )
                st.markdown("Answer")
                st.markdown(neutralize_links(r.answer))
                if r.feedback.correction:
                    st.markdown("Better answer")
                    st.markdown(neutralize_links(r.feedback.correction))
                if r.feedback.note:
                    st.markdown("Note")
                    st.markdown(neutralize_links(r.feedback.note))
    else:
        st.caption("No rated answers yet.")

    st.subheader("Export")
    c1, c2, c3 = st.columns(3)
    fmt = c1.radio("Format", ["csv", "jsonl", "parquet"], horizontal=True, key="admin_export_format")
    days = c2.date_input("Answered between", value=(), key="admin_export_days")
    ratings = c3.slider("Rating", 1, 5, (1, 5), key="admin_export_ratings")
    c4, c5, c6 = st.columns(3)
    user = c4.text_input("User", key="admin_export_user")
    source = c5.text_input("Document or folder", key="admin_export_source")
    correction = c6.selectbox("Better answer", ["any", "with", "without"], key="admin_export_correction")
    c7, c8, _ = st.columns(3)
    review_status = c7.selectbox("Review", ["any", "unreviewed", "validated", "rejected"], key="admin_export_review")
    judged = c8.selectbox("AI judge", ["any", "scored", "not scored"], key="admin_export_judged")
    since = until = None
    if len(days) == 2:  # a complete range; the end day is included
        since, until = day_start(days[0]), day_end(days[1])
    filters = InteractionFilter(
        since=since,
        until=until,
        min_rating=ratings[0] if ratings != (1, 5) else None,
        max_rating=ratings[1] if ratings != (1, 5) else None,
        user=user.strip() or None,
        source_prefix=source.strip().strip("/") or None,
        has_correction={"any": None, "with": True, "without": False}[correction],
        review_status=None if review_status == "any" else review_status,
        judged={"any": None, "scored": True, "not scored": False}[judged],
    )
    # A prepared file belongs to the filters and format it was made with: change one and the old
    # file is no longer offered.
    export_key = f"{fmt}|{filters.model_dump_json(exclude_none=True)}"
    if st.button("Prepare export", key="admin_export"):
        # Prepared in memory, so the audit log names the download, not a server temp file.
        name = f"ragbot-feedback.{fmt}"
        buffer = io.BytesIO()
        unreadable: list[str] = []
        try:
            count = services.feedback.export(
                buffer, fmt, filters, unreadable=unreadable, target=f"{name} (browser download)"
            )
        except FeedbackError as e:
            st.error(f"The export failed: {e}")
        else:
            if unreadable:
                n = len(unreadable)
                st.warning(f"{n} stored record{'s' * (n != 1)} could not be read and left out of the export.")
            st.session_state.admin_export_file = {
                "name": name,
                "data": buffer.getvalue(),
                "count": count,
                "key": export_key,
                "at": datetime.now(UTC),
            }
    prepared = st.session_state.get("admin_export_file")
    if prepared and prepared["key"] == export_key:
        st.caption(
            f"Prepared at {prepared['at']:%H:%M:%S} UTC with the filters above: {prepared['count']} answers. "
            "Answers given since then are not in it; prepare again to include them."
        )
        st.download_button(
            f"Download {prepared['name']} ({prepared['count']} answers)",
            data=prepared["data"],
            file_name=prepared["name"],
            key="admin_download",
        )
    elif prepared:
        st.info("The filters or the format changed since the last export was prepared: prepare it again to download.")

with audit_tab:
    import io

    try:
        events = services.audit.events(limit=100).items
    except FeedbackError as e:
        st.error(f"The audit log cannot be read: {e}")
    else:
        st.caption("Who ingested, exported, imported, reviewed and rescored; newest first, the last 100.")
        st.dataframe(
            [
                {
                    "when (UTC)": f"{e.at:%Y-%m-%d %H:%M:%S}",
                    "who": e.actor,
                    "role": e.role,
                    "action": e.action,
                    "on": e.target or "",
                    "details": ", ".join(f"{k}={v}" for k, v in e.detail.items()),
                }
                for e in events
            ],
            hide_index=True,
            width="stretch",
        )
        if st.button("Prepare the whole log as JSON lines", key="admin_audit_export"):
            buffer = io.BytesIO()
            count = services.audit.export(buffer)
            st.session_state.admin_audit_file = (buffer.getvalue(), count)
        if "admin_audit_file" in st.session_state:
            data, count = st.session_state.admin_audit_file
            st.download_button(
                f"Download ragbot-audit.jsonl ({count} events)",
                data=data,
                file_name="ragbot-audit.jsonl",
                key="admin_audit_download",
            )
