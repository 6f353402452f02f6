"""Tests of the ``sim2real`` command line as a whole."""
