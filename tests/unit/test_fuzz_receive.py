"""The receive-path fuzzer (tests/fuzz_receive.py) at 100,000 datagrams, both
families; `make fuzz` runs it at 1,000,000."""
from tests import fuzz_receive


def test_100000_fuzzed_datagrams_each_get_one_verdict_and_the_kernel_filter_agrees():
    verdicts, kept = fuzz_receive.run(100000, seed=10)
    assert sum(verdicts.values()) == 100000
    # the mutations reach every verdict, so each rule was exercised
    assert all(verdicts[name] > 0 for name in verdicts), verdicts
    assert 0 < kept < 100000
