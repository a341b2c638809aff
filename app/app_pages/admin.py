"""The admin page: corpus status, ingest a folder, feedback statistics, export."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.ui import get_services
from rag.errors import RagError

services = get_services()
try:
    services.require_role("admin")
except PermissionError as e:
    st.error(str(e))
    st.stop()

st.title("Admin")
corpus_tab, feedback_tab = st.tabs(["Corpus", "Feedback"])

with corpus_tab:
    status = services.corpus_status()
    cols = st.columns(4)
    cols[0].metric("Documents", status["documents"])
    cols[1].metric("Pages", status["pages"])
    cols[2].metric("Passages", status["chunks"])
    cols[3].metric("Embedding model", status["embedding_model"] or "–")
    last = status["last_ingest"]
    if last:
        from datetime import UTC, datetime

        started = datetime.fromtimestamp(last["started_at"], UTC)
        st.caption(
            f"Last ingest {started:%Y-%m-%d %H:%M} UTC of {', '.join(last['roots'])}: "
            f"{len(last['indexed'])} indexed, {last['unchanged']} unchanged, {len(last['failed'])} failed, "
            f"{len(last['skipped'])} skipped, {len(last['pruned'])} pruned in {last['seconds']:.1f} s"
        )
        if last["failed"]:
            st.markdown("**Files that could not be read**")
            st.dataframe(last["failed"], hide_index=True, use_container_width=True)

    st.subheader("Ingest a folder")
    st.caption("A folder on the server; it is searched recursively and only changed files are re-indexed.")
    folder = st.text_input("Folder", key="admin_folder", placeholder="/srv/docs/warehouse-standards")
    prune = st.checkbox("Remove documents whose files are gone from this folder", key="admin_prune")
    if st.button("Ingest", key="admin_ingest", type="primary"):
        path = Path(folder.strip()).expanduser() if folder.strip() else None
        if path is None or not path.exists():
            st.error(f"No such folder on the server: {folder!r}")
        else:
            bar = st.progress(0.0, text="Reading files…")

            def progress(p):
                bar.progress(p.files_done / max(p.files_total, 1), text=f"{p.files_done}/{p.files_total} files · {p.pages_done} pages · {p.current}")

            try:
                report = services.ingest([path], prune=prune, progress=progress)
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
    st.info("Feedback statistics and export arrive with the export module.")
