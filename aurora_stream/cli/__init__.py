"""The aurora command line."""
