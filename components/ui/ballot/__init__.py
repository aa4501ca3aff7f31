"""The voter's page: a vote link's one and only page. No sidebar, no navigation, nothing of
the studio but the vote's title, its question and clean copies of its images.

Imports: config, images, log, vote, ui
"""
