"""The test suites and their helpers, imported from the repository root
(tests.tools, tests.forge, tests.package.pkgtools, ...); pytest.ini puts the
root and firmware/ (the daemon package `carp`) on the path."""
