"""Session log: every request with its seed and timings; filter, measure, chart, reuse, export."""

import streamlit as st

from components.ui.diff_view import what_changed
from components.ui.frame_guard import require_frame
from components.ui.session_log import actions as log_actions
from components.ui.session_log import data as log_data
from components.ui.session_log import detail as log_detail
from components.ui.session_log import filters as log_filters
from components.ui.session_log import overview as log_overview
from components.ui.session_log import table as log_table
from components.ui.session_log import transfer as log_transfer

require_frame()

log, _ = log_data.stores()

st.title("Session log", anchor=False)
log_actions.show_flash()
fp = log_data.fingerprint()  # one scan per run; every cache below is keyed on it
filt = log_filters.filter_bar(log, fp)
db = log_data.cache_key(log)  # a viewer's scoped view never shares a cache entry
total = log_data.count(log, db, filt, fp)
view = log_data.overview(log, db, filt, fp)
log_overview.metrics_row(view.metrics)
log_actions.present_button(log, filt, total)

TABS = ["Table", "Charts", "Import & export", "Read an image"]
table_tab, charts_tab, transfer_tab, image_tab = st.tabs(
    TABS, key="log_tab", on_change="rerun"
)  # on_change="rerun" makes the tabs lazy: a hidden tab costs nothing

if table_tab.open:
    with table_tab:
        if total == 0:
            log_table.empty_note(filtered=log_filters.active(filt))
        else:
            view_key = log_filters.view_key()
            limit, offset = log_table.page_bar(total, view_key)
            page = log_data.page_rows(filt, limit, offset)
            key = log_table.table_key(view_key, offset, limit, fp, filt.min_rating is not None)
            ids = log_table.log_table(page, key)
            if log_actions.delete_confirmation():
                pass  # a deletion waits for its second click; other actions wait with it
            elif ids:
                with st.container(border=True):
                    log_actions.selection_bar(ids)
                    if 2 <= len(ids) <= 4:
                        picked = log_actions.selected_rows(page, ids)
                        oldest_first = sorted(picked, key=lambda r: str(r.get("created_at")))
                        what_changed(oldest_first, key="log")  # A is the first made
                    if len(ids) == 1:
                        row = log_actions.selected_rows(page, ids)[0]
                        log_actions.row_actions(row)
                        log_detail.row_detail(row)
            else:
                st.caption(
                    "Select a row (the box at its left) for its details, to re-run it, rate it "
                    "or delete it; select 2 to 4 to compare them."
                )

if charts_tab.open:
    with charts_tab:
        log_overview.charts(view)

if transfer_tab.open:
    with transfer_tab:
        export_col, import_col = st.columns(2, gap="large")
        with export_col:
            log_transfer.export_panel(filt, total)
        with import_col:
            log_transfer.import_panel()

if image_tab.open:
    with image_tab:
        log_transfer.read_image_panel()
