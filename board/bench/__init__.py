"""`make bench`: carp against ucarp and keepalived in the lab."""
