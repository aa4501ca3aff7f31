"""Streamlit only. Shared pieces at the top, one job each:

- `state` (this session's settings and id), `keys` (where the key comes from), `connection`
  (which backend, and the client for it), `runs` (this session's runner), `balance`,
  `resources` (per-process offline backend and stores), `pages` (the pages, defined once),
  `access` (who this session is: the guard, the sign-in page, the presenter's checks);
- `handoff` (what crosses pages), `chrome` (sidebar and banner), `frame_guard`, `messages`,
  `safe` (text shown as text), `image_card`, `reveal` (NSFW-flagged images), `judging`
  (ratings and notes), `param_form` (the request form's widgets), `prompt_assist`.

`vote_results` (a vote's results, on every page that shows them), `voter_id` (a voter is one
browser), `report_download` (the one-file HTML report, wherever images can be handed over),
`diff_view` (what changed between 2-4 requests), `ballot` (a vote link's only page).

Then one package per page. A page package (`generate`, `compare`, `session_log`, `settings`,
`sharing`, `votes`, `present`)
never imports another page's package: what crosses pages goes through `handoff`.

Imports: config, api, offline, images, log, runner, compare, sharing, gate, vote, report,
  experiments, ui
"""
