"""Clients of the pipeline: publish files, read recommendations, send feedback."""
