"""Looking inside training and at its results: diagnostics, reports."""
