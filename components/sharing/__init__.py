"""Sharing the studio: who a visitor is (presenter or viewer), the presenter's studio-wide
settings, the daily budgets with holds for runs in flight, who is connected, and the sign-in
throttle. Plain Python over the log's database (tables in `components/log/schema.py`), so
every app process on one database agrees, and every rule is tested without a browser.

Imports: api, log, config
"""
