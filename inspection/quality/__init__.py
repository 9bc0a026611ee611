"""Quality data from the records: statistics (yield, scrap, Pareto, cycle time), SPC charts and rules."""
