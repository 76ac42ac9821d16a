"""All op samples: one file per family, so families can grow independently."""
import op_db_array  # noqa: F401  (registers samples)
import op_db_elementwise  # noqa: F401
from op_db_base import COVERED_ELSEWHERE, NON_DIFFERENTIABLE, SAMPLES, ZERO_GRADIENT, Sample  # noqa: F401
