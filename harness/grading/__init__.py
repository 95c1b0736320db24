"""Grading: run an entry's checks with pytest + testinfra and report each condition."""
