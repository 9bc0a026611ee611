"""The running station: composition of camera, detector, rules, recorder and outputs; the run loop; edits
of the station's files (recipe rules, model choice) by logged-in users."""
