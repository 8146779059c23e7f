"""Exchange ingestion: one pure parser per venue, one connection runner for all."""
