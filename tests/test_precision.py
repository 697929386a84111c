import keras
import pytest

import keras_contrastive as kc

X86_WITH_BF16 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_tile amx_bf16\n"
X86_AVX2_ONLY = "processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n"
ARM_WITH_BF16 = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n"


@pytest.mark.parametrize("cpuinfo, units", [
    (X86_WITH_BF16, ("avx512_bf16", "amx_bf16")),
    (X86_AVX2_ONLY, ()),
    (ARM_WITH_BF16, ("bf16",)),
    ("", ()),
])
def test_the_cpus_bf16_units_are_read_from_its_flags(cpuinfo, units):
    assert kc.cpu_bf16_units(cpuinfo) == units


def test_the_precision_line_names_the_units_or_warns_that_bfloat16_is_emulated():
    assert kc.describe_precision("float32", X86_AVX2_ONLY) == "precision: float32"
    assert "avx512_bf16, amx_bf16" in kc.describe_precision("mixed_bfloat16", X86_WITH_BF16)
    warning = kc.describe_precision("mixed_bfloat16", X86_AVX2_ONLY)
    assert "no bf16 units" in warning and "slower than float32" in warning


def test_layers_made_under_the_policy_compute_in_bfloat16_and_the_policy_is_restored_after_an_error():
    before = keras.mixed_precision.dtype_policy().name
    with pytest.raises(RuntimeError, match="inside"):
        with kc.precision_policy("mixed_bfloat16"):
            layer = keras.layers.Dense(4)
            raise RuntimeError("inside")
    assert keras.mixed_precision.dtype_policy().name == before
    layer.build((None, 3))
    assert layer.compute_dtype == "bfloat16" and layer.kernel.dtype == "float32"


def test_an_unknown_precision_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="'float32', 'mixed_bfloat16'.*'float16'"):
        with kc.precision_policy("float16"):
            pass
