"""The Session log page's pieces: data access, filters, table, detail, actions, transfer.

Imports: config, api, images, log, runner, compare, ui
"""
