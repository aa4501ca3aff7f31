"""The Compare page's pieces: setup forms, the run, the grid, judging, the wipe slider, export."""
