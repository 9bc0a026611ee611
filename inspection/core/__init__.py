"""The floor everything stands on: result types, errors, events, typed status, image files, hashing,
atomic writes. Imports nothing else of the station."""
