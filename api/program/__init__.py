"""The program's settings: `program` and `programUpdate` (admin)."""
