import os

from hypothesis import settings
from threadpoolctl import threadpool_limits

if os.environ.get("PYTEST_XDIST_WORKER"):
    # the workers are the parallelism (one per core): one BLAS thread each
    threadpool_limits(1)

settings.register_profile("ci", max_examples=30, deadline=None)
settings.register_profile("dev", max_examples=30, deadline=None)
# a deeper search for counterexamples, run by hand (HYPOTHESIS_PROFILE=deep uv run pytest ...)
settings.register_profile("deep", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
