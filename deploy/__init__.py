"""The local stack: Kafka, PostgreSQL, solc and anvil, installed and started by the project."""
