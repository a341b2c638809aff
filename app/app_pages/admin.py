"""The admin page: corpus status, ingest a folder, feedback statistics, export."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.services import Action, Forbidden
from app.ui import get_services
from rag.errors import RagError

services = get_services()
if not services.identity.may(Action.SEE_DASHBOARD):
    st.error(str(Forbidden(services.identity, Action.SEE_DASHBOARD)))
    st.stop()

st.title("Admin")
corpus_tab, feedback_tab, audit_tab = st.tabs(["Corpus", "Feedback", "Audit log"])

with corpus_tab:
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
            f"Last ingest {started:%Y-%m-%d %H:%M} UTC of {escape_markdown(', '.join(last.roots))}: "
            f"{len(last.indexed)} indexed, {last.unchanged} unchanged, {len(last.failed)} failed, "
            f"{len(last.skipped)} skipped, {len(last.pruned)} pruned in {last.seconds:.1f} s"
        )
        if last.failed:
            st.markdown("**Files that could not be read**")
            st.dataframe([f.model_dump() for f in last.failed], hide_index=True, use_container_width=True)

    st.subheader("Ingest a folder")
    st.caption("A folder on the server; it is searched recursively and only changed files are re-indexed.")
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
                bar.progress(p.files_done / max(p.files_total, 1), text=f"{p.files_done}/{p.files_total} files · {p.pages_done} pages · {p.current}")

            try:
                report = services.corpus.ingest([path], prune=prune, progress=progress)
            except RagError as e:
                st.error(str(e))
            else:
                bar.progress(1.0, text="Done")
                message = (
                    f"{report.files_seen} files: {len(report.indexed)} indexed, {report.unchanged} unchanged, "
                    f"{len(report.failed)} failed, {len(report.skipped)} skipped, {len(report.pruned)} pruned; "
                    f"{report.pages} pages, {report.chunks} passages in {report.seconds:.1f} s"
                )
                (st.warning if report.failed else st.success)(message)
                if report.failed:
                    st.dataframe([f.model_dump() for f in report.failed], hide_index=True, use_container_width=True)

with feedback_tab:
    import tempfile

    import pandas as pd

    from feedback.errors import FeedbackError

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
    cols[1].metric("Rated", stats.rated)
    cols[2].metric("Negative (1–2)", "–" if stats.negative_share is None else f"{stats.negative_share:.0%}", help=f"{stats.negative} of {stats.rated} rated answers")
    cols[3].metric("Mean rating", "–" if stats.mean_rating is None else f"{stats.mean_rating:.2f}")
    if stats.rated:
        left, right = st.columns(2)
        with left:
            st.markdown("**Rating distribution**")
            ratings = pd.DataFrame([{"rating": f"{r.rating} {r.label}", "answers": r.count} for r in stats.ratings]).set_index("rating")
            st.bar_chart(ratings, horizontal=False)
        with right:
            st.markdown("**Trend**")
            trend = pd.DataFrame([{"day": d.day, "answers": d.count, "negative share": d.negative_share or 0.0} for d in stats.per_day]).set_index("day")
            st.line_chart(trend)
        if stats.negative_sources:
            st.markdown("**Documents most cited in negatively rated answers**")
            st.dataframe([s.model_dump() for s in stats.negative_sources], hide_index=True, use_container_width=True)
    else:
        st.caption("No rated answers yet.")

    st.subheader("Export")
    from app.services.filters import day_end, day_start
    from feedback.stores.base import InteractionFilter

    c1, c2, c3 = st.columns(3)
    fmt = c1.radio("Format", ["csv", "jsonl", "parquet"], horizontal=True, key="admin_export_format")
    days = c2.date_input("Answered between", value=(), key="admin_export_days")
    ratings = c3.slider("Rating", 1, 5, (1, 5), key="admin_export_ratings")
    c4, c5, c6 = st.columns(3)
    user = c4.text_input("User", key="admin_export_user")
    source = c5.text_input("Document or folder", key="admin_export_source")
    correction = c6.selectbox("Better answer", ["any", "with", "without"], key="admin_export_correction")
    if st.button("Prepare export", key="admin_export"):
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
        )
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"ragbot-feedback.{fmt}"
            unreadable: list[str] = []
            try:
                count = services.feedback.export(path, fmt, filters, unreadable=unreadable)
            except FeedbackError as e:
                st.error(f"The export failed: {e}")
            else:
                if unreadable:
                    n = len(unreadable)
                    st.warning(f"{n} stored record{'s' * (n != 1)} could not be read and left out of the export.")
                st.session_state.admin_export_file = (path.name, path.read_bytes(), count)
    if "admin_export_file" in st.session_state:
        name, data, count = st.session_state.admin_export_file
        st.download_button(f"Download {name} ({count} answers)", data=data, file_name=name, key="admin_download")

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
            use_container_width=True,
        )
        if st.button("Prepare the whole log as JSON lines", key="admin_audit_export"):
            buffer = io.BytesIO()
            count = services.audit.export(buffer)
            st.session_state.admin_audit_file = (buffer.getvalue(), count)
        if "admin_audit_file" in st.session_state:
            data, count = st.session_state.admin_audit_file
            st.download_button(f"Download ragbot-audit.jsonl ({count} events)", data=data, file_name="ragbot-audit.jsonl", key="admin_audit_download")
