"""Service functions: take a UnitOfWork and a Clock, return plain values, raise domain errors."""
