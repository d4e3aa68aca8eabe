"""SQL records, Alembic migrations and the content-addressed blob store."""
