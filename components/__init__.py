"""FLUX Ultra Studio: everything the pages share, one package per subject.

Engine packages (config, api, offline, images, log, runner, compare) are plain Python: they
never import Streamlit, so they work from a script or a notebook and are tested without a UI.
`ui` is the only package that speaks Streamlit. Each package's docstring ends with an
"Imports:" line naming the packages of this project it may import; tests/test_import_rules.py
holds every module to it.
"""
