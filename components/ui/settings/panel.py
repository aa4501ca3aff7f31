"""Settings sections. The key lives only in this browser session's memory: never on disk."""

from __future__ import annotations

import streamlit as st

from components.api.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    FluxError,
    NotFoundError,
    PermissionDeniedError,
)
from components.config import data_dir
from components.images.store import ImageStore
from components.log.store import LogStore
from components.ui import access, balance, connection, keys, resources, state
from components.ui.safe import md_escape

KEY_INPUT = "settings_key_input"


def _save_key() -> None:
    if not access.is_presenter():
        return
    typed = (st.session_state.get(KEY_INPUT) or "").strip()
    st.session_state[KEY_INPUT] = ""  # the widget must not carry the key back to the page
    if typed and not keys.set_session_key(typed):
        st.session_state["settings_flash"] = (
            "That key was not saved: it holds spaces or characters a key never has (often an "
            "invisible one pasted along with it). Copy it again from your dashboard."
        )
    elif typed:
        st.session_state["settings_flash"] = "Key saved for this browser session only."


def _forget_key() -> None:
    keys.set_session_key(None)
    st.session_state["settings_flash"] = "Key forgotten."


def key_section() -> None:
    chosen = connection.endpoint()
    typed = keys.typed_key()
    if chosen.key:
        st.success(
            f"Using a key from {md_escape(chosen.key_source)}: {keys.masked(chosen.key)}",
            icon=":material/key:",
        )
    elif chosen.problem:
        st.warning(md_escape(chosen.problem), icon=":material/key_off:")
    else:
        st.info(
            "No key yet: the app runs on the offline demo backend. Paste an AI/ML API key to "
            "generate with FLUX 1.1 [pro] Ultra.",
            icon=":material/key_off:",
        )
    cols = st.columns([4, 1, 1], vertical_alignment="bottom")
    cols[0].text_input(
        "API key",
        type="password",
        key=KEY_INPUT,
        placeholder="Paste a key; it stays in this browser session's memory only",
        autocomplete="off",
    )
    cols[1].button("Use key", on_click=_save_key, width="stretch", type="primary")
    cols[2].button(
        "Forget",
        on_click=_forget_key,
        width="stretch",
        disabled=not typed,
    )
    if flash := st.session_state.pop("settings_flash", None):
        st.toast(flash, icon=":material/key:")
    st.caption(
        "A key can also come from the `AIMLAPI_API_KEY` environment variable or from "
        "`.streamlit/secrets.toml` (see `secrets.toml.example`); such a key is only sent to "
        "the base URL configured with it. A key typed here wins over both and stays in this "
        "browser session."
    )
    if chosen.key:
        st.toggle(
            "Use the offline demo backend anyway",
            value=state.settings().force_offline,
            key="settings_force_offline",
            on_change=lambda: state.update_settings(
                force_offline=st.session_state["settings_force_offline"]
            ),
            help="Handy for rehearsing a demo without spending credits.",
        )


LIMITS = {
    "base": "settings_base_url",
    "timeout": "settings_timeout",
    "retries": "settings_retries",
    "concurrency": "settings_concurrency",
    "latency": "settings_latency",
}
LIMITS_FLASH = "settings_limits_flash"


def _save_limits() -> None:
    """Form callback: runs before the page, so the sidebar of this very run already shows the
    new base URL (and whether it has a key)."""
    values = {name: st.session_state.get(key) for name, key in LIMITS.items()}
    base = str(values["base"] or "").strip()
    if problem := connection.base_url_problem(base):
        st.session_state[LIMITS_FLASH] = ("error", problem)
        return
    if not access.is_presenter():  # the page is the presenter's; so is its callback
        st.session_state[LIMITS_FLASH] = ("error", "Settings are the presenter's.")
        return
    try:
        resources.sharing().policies.save(
            timeout_s=float(values["timeout"] or state.settings().timeout),
            retries=int(values["retries"] or 0),
            concurrency=int(values["concurrency"] or 1),
        )
    except ValueError as exc:
        st.session_state[LIMITS_FLASH] = ("error", str(exc))
        return
    rules = resources.policy(fresh=True)
    state.update_settings(
        base_url=base.rstrip("/"),
        offline_latency=float(values["latency"] or 0.0),
    )
    state.apply_studio_limits(rules.timeout_s, rules.retries, rules.concurrency, True)
    st.session_state[LIMITS_FLASH] = (
        "success",
        "Saved for this browser session. The timeout, retries and concurrency limit apply to "
        "the whole studio, every viewer included.",
    )


def limits_form() -> None:
    conf = state.settings()
    with st.form("settings_limits", border=True):
        st.text_input(
            "Base URL",
            value=conf.base_url,
            key=LIMITS["base"],
            help="Default https://api.aimlapi.com. A key from the environment or secrets is "
            "only sent to the base URL configured with it; another one needs its own key.",
        )
        cols = st.columns(4)
        cols[0].number_input(
            "Request timeout (s)",
            5.0,
            600.0,
            float(conf.timeout),
            step=5.0,
            key=LIMITS["timeout"],
        )
        cols[1].number_input("Retries", 0, 6, int(conf.retries), key=LIMITS["retries"])
        cols[2].number_input(
            "Concurrency limit", 1, 16, int(conf.concurrency), key=LIMITS["concurrency"]
        )
        cols[3].number_input(
            "Offline latency (s)",
            0.0,
            30.0,
            float(conf.offline_latency),
            step=0.5,
            key=LIMITS["latency"],
        )
        st.form_submit_button("Save settings", type="primary", on_click=_save_limits)
    flash = st.session_state.pop(LIMITS_FLASH, None)
    if flash is not None:
        kind, text = flash
        if kind == "error":
            st.error(md_escape(text), icon=":material/error:")
        else:
            st.success(md_escape(text), icon=":material/check:")
            if problem := connection.endpoint().problem:
                st.warning(md_escape(problem), icon=":material/key_off:")


def connection_check() -> None:
    info = connection.backend()
    if not st.button("Test connection", icon=":material/network_check:"):
        return
    if info.problem:
        # Testing the offline stand-in would say "connected" about the wrong server.
        st.warning(md_escape(info.problem), icon=":material/key_off:")
        return
    with st.spinner("Asking the balance endpoint…"):
        try:
            bal = connection.make_client().balance()
        except AuthenticationError:
            st.error("The key was refused (401). Check it and paste it again.")
            return
        except PermissionDeniedError as exc:
            st.error(f"The key works but is not allowed (403): {md_escape(exc.provider_message)}")
            return
        except NotFoundError:
            st.error(f"{md_escape(info.base_url)} has no balance endpoint: check the base URL.")
            return
        except (APIConnectionError, APITimeoutError):
            st.error(f"{md_escape(info.base_url)} could not be reached.")
            return
        except FluxError as exc:
            st.error(md_escape(exc.message))
            return
    where = "offline demo backend" if info.offline else md_escape(info.base_url)
    st.success(f"Connected to {where}. Balance: \\${bal.current_balance:,.2f} {bal.currency}.")
    balance.balance(fresh=True)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def data_folder(stores: tuple[LogStore, ImageStore]) -> None:
    log_store, images = stores
    usage = images.disk_usage()
    st.markdown(f"Location: `{data_dir()}`")
    # The name never holds a password (the log store renders its URL without one).
    st.markdown(f"Log database: `{log_store.name}`")
    cols = st.columns(3)
    cols[0].metric("Log rows", f"{log_store.count():,}")
    cols[1].metric("Originals", _size(usage.get("images_bytes", 0)))
    cols[2].metric("Thumbnails", _size(usage.get("thumbs_bytes", 0)))
    if st.button("Clear thumbnails", icon=":material/delete_sweep:"):
        removed = images.clear_thumbnails()
        st.success(f"Removed {removed} thumbnails; they are rebuilt from the originals on demand.")
