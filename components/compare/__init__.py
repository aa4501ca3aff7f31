"""Comparisons: plans (axes, template expansion, labels, cost), the contact sheet and export.

Imports: config, api, images, log, runner, experiments
"""
