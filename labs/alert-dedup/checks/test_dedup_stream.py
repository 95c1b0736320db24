"""A long stream: the reference's answers, bounded memory, time within budget."""


def test_long_stream_answers(long_stream) -> None:
    """A long out-of-order stream gives exactly the reference's notifications"""
    problem = long_stream.problem("stream_answers")
    assert problem is None, problem


def test_long_stream_memory_is_bounded(long_stream) -> None:
    """Memory stays flat on a long stream of ever-new alert keys"""
    problem = long_stream.problem("stream_memory")
    assert problem is None, problem


def test_long_stream_in_time(long_stream) -> None:
    """The long stream within 3x the reference's time + 2 s"""
    problem = long_stream.problem("stream_time")
    assert problem is None, problem
