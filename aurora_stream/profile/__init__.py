"""Profile stage: mergeable per-column sketches (writer) and profile views (reader)."""
