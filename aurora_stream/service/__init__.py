"""Service: the embedded broker, the Faust app and worker lifecycle, and the CLI."""
