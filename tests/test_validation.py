import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.validation import after_checks, check_embedding_pair, check_labels


def _upstream_op_types(tensor: tf.Tensor) -> set[str]:
    """The types of every op `tensor` waits for, through data and control edges."""
    seen, stack = set(), [tensor.op]
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen.add(op.name)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return {tensor.graph.get_operation_by_name(name).type for name in seen}


def _traced_outputs(fn, *specs):
    """`fn`'s outputs on placeholders of `specs`, built in a plain graph.

    Not a `tf.function`: it makes its outputs wait for every stateful op,
    which would hide whether the ops *inside* the graph wait for the check.
    """
    with tf.Graph().as_default():
        placeholders = [tf.compat.v1.placeholder(spec.dtype, spec.shape) for spec in specs]
        return tf.nest.flatten(fn(*placeholders))


def test_gated_tensors_wait_for_the_assertion_in_a_graph():
    spec = tf.TensorSpec((None,), tf.float32)
    outputs = _traced_outputs(
        lambda x, y: after_checks([tf.debugging.assert_equal(tf.size(x), tf.size(y))], x, y), spec, spec
    )
    assert len(outputs) == 2
    for output in outputs:
        assert "Assert" in _upstream_op_types(output)


def test_the_check_message_is_raised_where_a_later_op_would_fail_on_the_shapes():
    @tf.function(input_signature=[tf.TensorSpec((None,), tf.float32)] * 2)
    def add(x, y):
        x, y = after_checks([tf.debugging.assert_equal(tf.size(x), tf.size(y), message="x and y differ")], x, y)
        return x + y

    np.testing.assert_array_equal(add(tf.ones(3), tf.ones(3)).numpy(), np.full(3, 2.0))
    for _ in range(20):
        with pytest.raises(tf.errors.InvalidArgumentError, match="x and y differ"):
            add(tf.ones(3), tf.ones(5))


def test_eager_checks_are_skipped_and_tensors_come_back_as_they_are():
    x, y = tf.constant([1.0, 2.0]), tf.constant([3])
    assert after_checks([None], x) is x
    gated = after_checks([tf.debugging.assert_positive(x)], x, y)
    assert isinstance(gated, tuple) and gated[0] is x and gated[1] is y


def test_labels_and_views_of_run_time_length_wait_for_their_checks():
    views = tf.TensorSpec((None, 3), tf.float32)
    labels = tf.TensorSpec((None,), tf.int32)
    (checked_labels,) = _traced_outputs(lambda y, z: check_labels(y, z, "SupCon"), labels, views)
    assert "Assert" in _upstream_op_types(checked_labels)
    pair = _traced_outputs(lambda a, b: check_embedding_pair(a, b, 2, "Needs two"), views, views)
    for view in pair:
        assert "Assert" in _upstream_op_types(view)
