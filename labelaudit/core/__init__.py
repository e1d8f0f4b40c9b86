"""Pure numpy/numba algorithms: arrays in, arrays out, no I/O."""
