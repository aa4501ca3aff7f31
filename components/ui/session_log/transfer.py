"""Export the filtered rows, import an earlier export, and read parameters back from an image."""

from __future__ import annotations

import io
import json
from typing import BinaryIO

import streamlit as st
from PIL import Image

from components.api.contract import GenerationRequest
from components.images.store import sniff_format
from components.log import archive as log_archive
from components.log.rows import row_dict
from components.log.schema import WITH_IMAGES
from components.log.store import LogFilter
from components.ui import access, handoff
from components.ui.report_download import report_button
from components.ui.safe import md_escape
from components.ui.session_log import data as log_data

IMPORT_DONE = "log_import_done"  # (file id, result) of the last import, shown until a new file
UPLOAD_LIMIT_MB = 200


NOT_ALLOWED = b"Exporting was turned off by the presenter before this file was made.\n"
REPORT_ROWS = 200  # read for a report; it embeds at most 16 images and says how many it left out


def export_panel(filt: LogFilter, total: int) -> None:
    st.subheader("Export", anchor=False)
    if not access.may_export():
        # Not rendered at all: the button's data is built on the server, so no button, no file.
        st.info("Exporting is the presenter's here.", icon=":material/lock:")
        return
    st.caption(
        f"The {total:,} rows that match the filters, with every column. JSON and the ZIP import "
        "back exactly; the ZIP also holds the original image files. In the CSV, text a "
        "spreadsheet would run as a formula starts with an apostrophe (import takes it off)."
    )
    fmt = st.segmented_control(
        "Format", list(log_archive.FORMATS), default="CSV", required=True, key="log_export_fmt"
    )
    log, images = log_data.stores()
    ext, mime = log_archive.FORMATS[fmt]
    too_large = (
        ext == "zip" and total > 0 and _zip_too_large(log_archive.zip_size(log, images, filt))
    )

    allowed = access.export_check()

    def build() -> BinaryIO:  # runs on click, in its own thread: no export work on every rerun
        if not allowed():  # the presenter may have said no since the button was drawn
            return io.BytesIO(NOT_ALLOWED)
        # The ZIP comes as a temporary file, not built in memory; Streamlit reads it once.
        return log_archive.export_file(log, images, filt, fmt)

    st.download_button(
        f"Download {fmt}",
        data=build,
        file_name=log_archive.file_name(fmt),
        mime=mime,
        icon=":material/download:",
        key="log_export",
        on_click="ignore",
        disabled=total == 0 or too_large,
    )
    st.caption("Or one page to send or print, with the images in it:")

    def report_rows() -> list[dict]:  # on click only; newest first, as the table shows them
        frame = log.query(filt, status=WITH_IMAGES, limit=REPORT_ROWS)
        return [row_dict(r) for _, r in frame.iterrows()]

    report_button(
        report_rows,
        title="Session log",
        subtitle=f"{total:,} matching rows; the newest images first",
        kind="log",
        key="log_report",
    )


def _zip_too_large(size: int) -> bool:
    """True (with a warning) when a ZIP of this size would be too large to build; a caption
    when it could not be imported back through this page."""
    limit = log_archive.MAX_EXPORT_BYTES
    if size > limit:
        st.warning(
            f"These rows' images take about {size / log_archive.MB:,.0f} MB, more than the "
            f"{limit // log_archive.MB:,} MB a ZIP may hold: narrow the filters (a date range, "
            "say) and export in parts.",
            icon=":material/warning:",
        )
        return True
    if size > UPLOAD_LIMIT_MB * log_archive.MB:
        st.caption(
            f"This ZIP takes about {size / log_archive.MB:,.0f} MB: more than the "
            f"{UPLOAD_LIMIT_MB} MB this page imports, so narrow the filters for ZIPs to bring "
            "back here."
        )
    return False


def import_panel() -> None:
    st.subheader("Import", anchor=False)
    if not access.is_presenter():
        st.info("Importing rows is the presenter's.", icon=":material/lock:")
        return
    st.caption(
        "A file exported from this page (CSV, Parquet, JSON or ZIP). Rows merge by id: new ones "
        "are added, rows already in the log are left as they are."
    )
    upload = st.file_uploader(
        "Export file",
        type=list(log_archive.IMPORT_TYPES),
        key="log_import_file",
        max_upload_size=UPLOAD_LIMIT_MB,
    )
    if upload is None:
        return
    done = st.session_state.get(IMPORT_DONE)
    fresh = done is None or done[0] != upload.file_id
    if fresh and st.button("Import", type="primary", icon=":material/upload:", key="log_import"):
        log, images = log_data.stores()
        try:
            result = log_archive.import_bytes(log, images, upload.getvalue(), upload.name)
        except ValueError as exc:
            st.error(md_escape(f"Nothing imported: {exc}"), icon=":material/error:")
            return
        st.session_state[IMPORT_DONE] = done = (upload.file_id, result)
    if done is not None and done[0] == upload.file_id:
        _report(done[1])


def _report(result: log_archive.ImportResult) -> None:
    report = result.report
    text = (
        f"Imported: {report.added:,} new row(s) added, {report.already_present:,} already in "
        f"the log, {report.rejected:,} refused."
    )
    if result.images_restored or result.images_present or result.images_refused:
        text += (
            f" Images: {result.images_restored:,} restored, {result.images_present:,} already "
            f"there, {result.images_refused:,} refused."
        )
    problems = (*report.problems, *result.problems)
    (st.success if not problems else st.warning)(text, icon=":material/task_alt:")
    if problems:
        st.code("\n".join(problems), language=None)


def read_image_panel() -> None:
    """Files this app saved carry their parameters; this reads them back."""
    st.subheader("Read parameters from an image", anchor=False)
    st.caption("Drop a PNG or JPEG that this app saved (or that you downloaded from it).")
    upload = st.file_uploader(
        "Image file", type=["png", "jpg", "jpeg"], key="log_read_image", max_upload_size=50
    )
    if upload is None:
        return
    _, images = log_data.stores()
    data = upload.getvalue()
    params = images.read_params(data)
    picture, values = st.columns([1, 2], gap="large")
    if sniff_format(data) is not None:  # only real PNG/JPEG bytes go back to the browser
        size = _size(data)
        picture.image(data, width=log_data.fit_width(*size, 360, 420))
    with values:
        if params is None:
            st.warning(
                "No FLUX Ultra Studio parameters in this file: it was not saved by this app, "
                "or another program rewrote it.",
                icon=":material/help:",
            )
            return
        if st.button(
            "Load into Generate", type="primary", icon=":material/input:", key="log_load_params"
        ):
            handoff.to_generate(GenerationRequest.from_params(params))
        st.code(json.dumps(params, indent=2, ensure_ascii=False), language="json")


def _size(data: bytes) -> tuple[int | None, int | None]:
    """Width and height from the header alone (no pixel decoding of an upload)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None, None
