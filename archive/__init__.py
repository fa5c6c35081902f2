"""BagIt archive of digitised results with a searchable catalogue."""
