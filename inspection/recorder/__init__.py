"""The station's records: the database and its schema, the writer and its spill journal, image files and
their retention, queries, accounts, the audit trail, reviews and the records export."""
