"""Stream processors of the aggregator platform: dispatch of validated awards to
setpoints, and scheduled offer submission."""
