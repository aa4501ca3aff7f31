"""The Present page: a full-screen slideshow of a comparison, starred images, log rows or a
vote's ranking, from the stored originals (so it works offline and after provider links
expire), driven by the keyboard.

Imports: config, images, log, vote, ui
"""
