"""The Generate page's pieces: results of this session's runs, drawn as cards.

Imports: config, api, images, log, runner, experiments, ui
"""
