"""Votes: blind pairwise (or best-of-grid) voting on a comparison's images by the audience,
scored and revealed. The store over the log's database, the pairs each voter gets, and the
scoring (win rates, a regularised Bradley-Terry fit, agreement).

Imports: log, images
"""
