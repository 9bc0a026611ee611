"""Training the anomaly detector from good parts alone (``inspection train --task anomaly``)."""
