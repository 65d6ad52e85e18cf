"""Model files are untrusted input: a model identical to the saved one, or one ValueError."""

import io
import json
import resource
import time
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradmix as gm
from gradmix.datasets import load_old_faithful

X = load_old_faithful()
MODELS = {
    "full": gm.GaussianMixture(3, random_state=0).fit(X),
    "VEV": gm.GaussianMixture(2, covariance_type="VEV", random_state=0).fit(X),
    "kmeans": gm.KMeans(3, random_state=0, n_init=1).fit(X),
}


def saved_bytes(model) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **_members(model))
    return buf.getvalue()


def _members(model):
    from gradmix.mixture import persistence

    meta = {"format": persistence.FORMAT, "class": type(model).__name__,
            "params": {k: (None if callable(v) else v) for k, v in model.get_params().items()},
            "metadata": {}}  # fmt: skip
    out = {"__meta__": np.array(json.dumps(meta, default=lambda v: list(v)))}
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
                 "converged_", "n_iter_", "lower_bound_", "lower_bounds_", "n_features_in_",
                 "cluster_centers_", "labels_", "inertia_"):  # fmt: skip
        if hasattr(model, name):
            out[name] = np.asarray(getattr(model, name))
    return out


def same_model(a, b):
    assert type(a) is type(b) and a.get_params() == b.get_params()
    if isinstance(a, gm.GaussianMixture):
        np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
        assert a.lower_bounds_ == b.lower_bounds_
    else:
        np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
        np.testing.assert_array_equal(a.labels_, b.labels_)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_round_trip(tmp_path, name):
    model = MODELS[name]
    same_model(gm.load(model.save(tmp_path / "m.npz")), model)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(MODELS)), data=st.data())
def test_corrupted_or_truncated_files_load_identically_or_raise_value_error(
    tmp_path_factory, name, data
):
    model = MODELS[name]
    path = model.save(tmp_path_factory.mktemp("m") / "m.npz")
    raw = bytearray(path.read_bytes())
    if data.draw(st.booleans(), label="truncate"):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1), label="length")]
    else:
        for _ in range(data.draw(st.integers(1, 8), label="flips")):
            pos = data.draw(st.integers(0, len(raw) - 1), label="position")
            raw[pos] = data.draw(st.integers(0, 255).filter(lambda b, p=pos: b != raw[p]))
    path.write_bytes(bytes(raw))
    try:
        loaded = gm.load(path)
    except ValueError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        return
    same_model(loaded, model)


def crafted(tmp_path, members: dict, name="x.npz", compression=zipfile.ZIP_STORED):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", compression) as zf:
        for member, value in members.items():
            buf = io.BytesIO()
            np.save(buf, value, allow_pickle=True)
            zf.writestr(member + ".npy", buf.getvalue())
    return path


@pytest.mark.parametrize(
    "change, needle",
    [
        (lambda m: m.update(n_iter_=np.array([1, 2])), "n_iter_ has shape (2,)"),
        (lambda m: m.update(means_=np.zeros((4, 2))), "means_ has shape (4, 2), expected (3, 2)"),
        (lambda m: m.update(weights_=np.array([0.5, 0.6, -0.1])), "summing to one"),
        (lambda m: m.update(means_=np.full((3, 2), np.nan)), "not finite"),
        (lambda m: m.update(precisions_cholesky_=-m["precisions_cholesky_"]), "not positive"),
        (lambda m: m.update(covariances_=2 * m["covariances_"]), "do not match"),
        (lambda m: m.update(means_=np.array([["a", "b"]] * 3)), "dtype <U1"),
        (lambda m: m.update(means_=np.array([[object()] * 2] * 3)), "Python objects"),
        (lambda m: m.update(extra=np.ones(3)), "unexpected members"),
        (lambda m: m.pop("weights_"), "no weights_"),
    ],
)
def test_crafted_attributes(tmp_path, change, needle):
    members = _members(MODELS["full"])
    change(members)
    with pytest.raises(ValueError, match="not a gradmix model file") as err:
        gm.load(crafted(tmp_path, members))
    assert needle in str(err.value)


@pytest.mark.parametrize(
    "meta_change, needle",
    [
        (lambda m: m["params"].update(n_components="three"), "bad parameter"),
        (lambda m: m["params"].update(colour="red"), "unknown parameters ['colour']"),
        (lambda m: m.update({"class": "Pickle"}), "unknown model class"),
        (lambda m: m.update(params=[1, 2]), "parameters are not a JSON object"),
        (lambda m: m.update(format="something-else"), "no gradmix format mark"),
    ],
)
def test_crafted_metadata(tmp_path, meta_change, needle):
    members = _members(MODELS["full"])
    meta = json.loads(str(members["__meta__"]))
    meta_change(meta)
    members["__meta__"] = np.array(json.dumps(meta))
    with pytest.raises(ValueError, match="not a gradmix model file") as err:
        gm.load(crafted(tmp_path, members))
    assert needle in str(err.value)


def test_missing_newer_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        gm.load(tmp_path / "none.npz")
    members = _members(MODELS["full"])
    meta = json.loads(str(members["__meta__"]))
    meta["format"] = "gradmix-model-7"
    members["__meta__"] = np.array(json.dumps(meta))
    with pytest.raises(ValueError, match="written by a newer gradmix .model format 7."):
        gm.load(crafted(tmp_path, members))
    npy = tmp_path / "a.npz"
    np.save(npy.with_suffix(".npy"), np.ones(3))
    npy.with_suffix(".npy").rename(npy)
    with pytest.raises(ValueError, match="not a zip archive"):
        gm.load(npy)
    with pytest.raises(ValueError, match="is a directory"):
        gm.load(tmp_path)


def test_a_zip_bomb_is_refused_before_it_expands(tmp_path):
    # a member declaring 1 GB of zeros, deflated to ~1 MB
    path = tmp_path / "bomb.npz"
    members = _members(MODELS["full"])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, value in members.items():
            buf = io.BytesIO()
            np.save(buf, value)
            zf.writestr(member + ".npy", buf.getvalue())
        with zf.open("labels_.npy", "w", force_zip64=True) as fh:
            n = 125_000_000
            np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False,
                                                      "shape": (n,)})  # fmt: skip
            block = bytes(2**23)
            for _ in range(n * 8 // len(block)):
                fh.write(block)
    assert path.stat().st_size < 2 * 2**20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    with pytest.raises(ValueError, match="compressed"):
        gm.load(path)
    assert time.perf_counter() - t < 1.0
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 200


def test_a_stored_member_declaring_more_than_the_file_is_refused(tmp_path):
    members = _members(MODELS["full"])
    path = crafted(tmp_path, members)
    raw = bytearray(path.read_bytes())
    # the central directory's uncompressed size of the first member, made enormous
    with zipfile.ZipFile(path) as zf:
        info = zf.infolist()[1]
    at = raw.rfind(info.filename.encode()) - 46 + 24
    raw[at : at + 4] = (2**31).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    t = time.perf_counter()
    with pytest.raises(ValueError, match="not a gradmix model file"):
        gm.load(path)
    assert time.perf_counter() - t < 1.0


def test_a_generator_random_state_is_not_saved_silently(tmp_path):
    kept = gm.GaussianMixture(2, random_state=7).fit(X)
    assert gm.load(kept.save(tmp_path / "seed")).random_state == 7
    model = gm.GaussianMixture(2, random_state=np.random.RandomState(0)).fit(X)
    with pytest.warns(UserWarning, match="random_state is a RandomState, which model files"):
        path = model.save(tmp_path / "generator")
    assert gm.load(path).random_state is None
