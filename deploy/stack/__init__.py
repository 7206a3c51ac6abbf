"""Start, stop and inspect the services of the local stack (``flexmarket stack``)."""
