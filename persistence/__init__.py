"""Everything that talks to the database: models, repositories, the unit of work."""
