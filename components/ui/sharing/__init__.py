"""The Sharing page: the viewer passcode, what viewers may do, the daily budgets and who is
connected. The presenter's only (the page and every callback check).

Imports: config, sharing, ui
"""
