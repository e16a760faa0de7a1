"""reappraisal-judge: LLM-as-judge for cognitive reappraisal, checked against clinical psychologists.

The package import is kept light on purpose (no LiteLLM, no numpy at import time): the CLI starts fast
and a fully cached run never loads the provider layer. Import the submodules you need, e.g.::

    from judge.data.rubric import load_rubric_set
    from judge.data.benchmark import load_benchmark
"""

__version__ = "0.1.0"
