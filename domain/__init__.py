"""Business rules in plain Python. Nothing here imports SQLAlchemy or strawberry."""
