"""The Compare page's pieces: setup forms, the run, the grid, judging, the wipe slider, export.

Imports: config, api, images, log, runner, compare, experiments, ui
"""
