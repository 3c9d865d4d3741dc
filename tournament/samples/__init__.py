"""Sample tasks of the sample season: generated here, deterministic, documented in README.md."""
from gennation.tournament.samples.practical import CATEGORIES, SampleTask, build_all, score

__all__ = ["CATEGORIES", "SampleTask", "build_all", "score"]
