"""The Votes page (presenter): start a vote from a comparison or picked rows, share its link
and QR code, watch voters and answers arrive, close it, reveal it, export it.

Imports: config, api, images, log, vote, ui
"""
