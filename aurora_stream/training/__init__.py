"""Build time only: synthetic columns, the SortingHat import, the prior build."""
