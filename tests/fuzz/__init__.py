"""The fuzz harness: one target per public entry point that takes untrusted bytes or text.

* :mod:`.engine` -- the mutator, the contract each input is held to (only ``ProtocolError``
  escapes, no input over 1 s, memory bounded by the input's size), a minimizer, regression files;
* :mod:`.targets_parsers`, :mod:`.targets_sessions`, :mod:`.targets_server` -- the targets;
  :mod:`.seeds` -- their seeds, cut from the repository's vectors and built with our builders;
* :mod:`.test_fuzz` -- a short run of every target in the normal test command, and the replay of
  every saved regression input (``regressions/<target>-<hash>.bin``);
* ``python -m tests.fuzz --minutes N [--target NAME]`` -- the long run (see docs/testing.rst).
"""
