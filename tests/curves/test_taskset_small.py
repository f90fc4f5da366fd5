"""`taskset-small`: its specs follow the choice rule, and its shards are right.

While it is generated, the finished shards live (committed) in
`staging/taskset-small`; `scripts/make_small.py publish` moves them into
`curves/data/taskset-small`. These tests check whichever is there: the specs
are the documented choice from the committed pilot timings, every shard is a
job of the specs, taskset-mini's jobs are in it unchanged, and randomly picked
new jobs regenerate (as tests/curves/test_taskset_mini.py does for
taskset-mini); once published, it is complete, registered and the default.
"""

from __future__ import annotations

import collections
import dataclasses
import importlib.util
import json
import pathlib
import subprocess
import sys

import pytest

import curves
from curves.registry import MINI_DIR
from tests.curves.test_taskset_mini import affordable, check_regenerates

ROOT = pathlib.Path(__file__).resolve().parents[2]
STAGING = ROOT / "staging" / "taskset-small"
PUBLISHED = ROOT / "curves" / "data" / "taskset-small"


def load_make_small():
    sys.path.insert(0, str(ROOT / "scripts"))
    spec = importlib.util.spec_from_file_location("make_small", ROOT / "scripts" / "make_small.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def make_small():
    return load_make_small()


@pytest.fixture(scope="module")
def spec_jobs(make_small):
    return make_small.spec_jobs()


@pytest.fixture(scope="module")
def staged():
    """The dataset's curves: the published ones, else those staged so far."""
    for root in (PUBLISHED, STAGING):
        if (root / "manifest.json").exists():
            return curves.read(root)
    pytest.skip("taskset-small is neither published nor staged (`make_small.py seed` starts it)")


def test_every_neural_family_has_six_tasks_or_is_still_being_timed_or_over_budget(make_small):
    """A family may be short of six sampled tasks only while the pilot has not timed its whole sample
    (the budget-bound families are timed in full to find their cheap tasks), or when its budget
    cannot pay for six at the cap; the choice records the shortfall. The replica spec has one task
    per sampled family."""
    main = curves.load_spec(make_small.SPEC)
    families = collections.Counter(t.config_dict.get("family", t.name.rsplit("_seed", 1)[0]) for t in main.tasks
                                   if not t.name.startswith("fixed_"))
    choice = json.loads(make_small.CHOICE.read_text())["families"]
    for family in make_small.NEURAL_FAMILIES:
        fact = choice[family]
        assert families[family] + fact["short"] >= make_small.TARGET_PER_FAMILY, family
        if fact["short"]:
            assert fact["not_timed"] or fact["budget_bound"], \
                f"{family} is short of tasks although its whole sample was timed and its budget pays for more"
    replicas = curves.load_spec(make_small.REPLICAS_SPEC)
    assert len(replicas.tasks) == 14
    assert {job.replica for job in make_small.spec_jobs() if len(job.optimizers) == 33} == {1, 2}


def test_the_spec_is_the_documented_choice_from_the_committed_pilot(make_small):
    rows = {r["name"]: r for r in json.loads(make_small.PILOT.read_text())["tasks"]}
    mini = make_small.mini_tasks()
    facts = make_small.choose(rows, make_small.catalogue(), mini)
    names = {t.name for t in curves.load_spec(make_small.SPEC).tasks}
    assert names == set(mini) | set(facts["tasks"])
    assert json.loads(make_small.CHOICE.read_text())["tasks"] == facts["tasks"]
    for family, fact in facts["families"].items():
        assert fact["admitted_share_of_sample"] >= 0.5 or fact["budget_bound"], family


def test_a_budget_bound_family_spends_its_budget_on_its_cheapest_tasks(make_small):
    spend = make_small.spend_budget
    assert spend([5.0, 1.0, 3.0, 9.0], needed=3, cap=2.0, budget=10.0) == 5.0  # 1 + 3 + 5 fit
    assert spend([5.0, 1.0, 3.0, 9.0], needed=3, cap=2.0, budget=8.0) == 3.0  # 1 + 3; 5 more would not
    assert spend([5.0, 1.0, 3.0, 9.0], needed=1, cap=2.0, budget=100.0) == 2.0  # the cheapest is under the cap
    assert spend([20.0, 30.0], needed=2, cap=2.0, budget=10.0) == 2.0  # nothing fits: the cap stays
    assert spend([], needed=2, cap=2.0, budget=10.0) == 2.0
    choice = json.loads(make_small.CHOICE.read_text())["families"]
    for family in ("transformer_lm", "word_rnn_lm"):
        fact = choice[family]
        budget = make_small.FAMILY_BUDGETS[family]
        assert fact["budget_bound"] and fact["budget_seconds"] == budget and fact["short"] == 0
        assert fact["cap_seconds"] > budget / (make_small.TARGET_PER_FAMILY - len(fact["from_mini"]))
        rows = make_small.pilot_rows()
        drawn = sum(make_small.make_mini.estimated_seconds(rows[n]["seconds_per_config_step"]) for n in fact["chosen"])
        assert drawn <= budget, family  # the budget pays for the drawn tasks (fixed ones under the cap come free)
    assert all(choice[f]["budget_seconds"] == make_small.FAMILY_BUDGET_SECONDS for f in choice
               if f not in make_small.FAMILY_BUDGETS)


def test_generation_resumes_started_jobs_then_runs_the_standard_jobs_then_by_pilot_cost(make_small, spec_jobs):
    ordered = make_small.ordered_jobs(spec_jobs)
    standard = set(make_small.standard_tasks())
    first = [job.task in standard for job in ordered]
    assert sorted(first, reverse=True) == first and any(first) and not all(first)
    rows = make_small.pilot_rows()
    rest = [make_small.pilot_seconds(job, rows) for job in ordered if job.task not in standard]
    assert rest == sorted(rest) and rest[0] < rest[-1]
    longest = make_small.ordered_jobs(spec_jobs, longest_first=True)
    assert [job.task in standard for job in longest] == first
    assert [make_small.pilot_seconds(job, rows) for job in longest if job.task not in standard] == sorted(
        rest, reverse=True)
    started = frozenset({ordered[-1].key, ordered[len(ordered) // 2].key})
    resumed = make_small.ordered_jobs(spec_jobs, started=started)
    assert {job.key for job in resumed[:2]} == started and [j for j in resumed if j.key not in started] == [
        j for j in ordered if j.key not in started]
    replica = next(job for job in spec_jobs if len(job.optimizers) == 33)
    main = next(job for job in spec_jobs if job.task == replica.task and len(job.optimizers) == 160)
    setup = make_small.make_mini.SETUP_SECONDS
    assert (make_small.pilot_seconds(replica, rows) - setup) * 160 == pytest.approx(
        (make_small.pilot_seconds(main, rows) - setup) * 33)


def test_assist_names_a_task_it_cannot_assist(make_small, tmp_path):
    with pytest.raises(SystemExit, match="'mlp_seed999999' is not a task of taskset-small's specs"):
        make_small.main(["assist", "--task", "mlp_seed999999", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="mlp_seed35 has no unfinished job in"):  # every job of it is published
        make_small.main(["assist", "--task", "mlp_seed35", "--out", str(PUBLISHED)])


def test_assist_takes_the_job_with_most_unsaved_chunks_until_none_has_two(make_small, jobs, tmp_path, monkeypatch):
    """Each job is left with its first chunk, the one a `generate` worker starts with."""
    import curves.executors
    import curves.runner
    from curves import partials
    from tests.curves.fakes import fake_train

    monkeypatch.setattr(partials, "CHUNK_CONFIGS", 1)
    short, long_ = [j for j in jobs if len(j.optimizers) == 4][:2]
    long_ = dataclasses.replace(long_, optimizers=long_.optimizers + short.optimizers[:2])
    monkeypatch.setattr(make_small, "missing_jobs", lambda root: [short, long_])
    monkeypatch.setattr(curves.runner, "_default_train", fake_train)
    threads: list[int] = []
    monkeypatch.setattr(curves.executors, "limit_tf_threads", threads.append)
    trained: list[str] = []
    assist_job = curves.runner.assist_job
    monkeypatch.setattr(curves.runner, "assist_job", lambda job, root: trained.append(job.key) or assist_job(job, root))
    make_small.main(["assist", "--out", str(tmp_path)])
    assert threads == [1]
    assert [partials.unsaved_chunks(tmp_path, job) for job in (short, long_)] == [[range(0, 1)], [range(0, 1)]]
    assert trained == [long_.key, short.key] and long_.key != short.key


@pytest.fixture(scope="module")
def published(staged):
    """The published curves (`staged` reads them once they exist)."""
    if not (PUBLISHED / "manifest.json").exists():
        pytest.skip("taskset-small is not published yet (`make_small.py publish` once `status` has nothing missing)")
    return staged


def published_tasks_jobs(published, spec_jobs) -> set[str]:
    """The spec's jobs of the tasks the published curves hold."""
    tasks = set(published["task"].astype(str))
    return {job.key for job in spec_jobs if job.task in tasks}


def test_the_published_dataset_is_complete_verified_and_registered(published, spec_jobs, make_small):
    """Complete: every job of the specs; or, while its next version is staged, every job of its tasks
    (a version adds tasks and changes none, see the next test)."""
    info = subprocess.run([sys.executable, "-m", "taskset", "curves", "info", "taskset-small", "--json"],
                          capture_output=True, text=True, check=True)
    assert json.loads(info.stdout)["curves"] == len(published)
    subprocess.run([sys.executable, "-m", "taskset", "curves", "verify", "taskset-small"], capture_output=True,
                   check=True)
    assert sum(p.stat().st_size for p in PUBLISHED.rglob("*") if p.is_file()) <= 25_000_000
    keys = set(published["job_key"].astype(str))
    if (STAGING / "manifest.json").exists():
        assert keys == published_tasks_jobs(published, spec_jobs), "data and spec disagree on the published tasks"
        return  # the per-family counts are the next version's; the staging test checks the extension
    assert keys == {job.key for job in spec_jobs}, "data and spec disagree"
    choice = json.loads(make_small.CHOICE.read_text())["families"]
    sampled = published[~published["task"].astype(str).str.startswith("fixed_")].drop_duplicates("task")
    counts = collections.Counter(sampled["family"].astype(str))
    for family in make_small.NEURAL_FAMILIES:
        assert counts[family] == make_small.TARGET_PER_FAMILY - choice[family]["short"], family
    replicas = published[published["replica"] > 0]
    assert replicas["task"].nunique() >= 14
    per_task = replicas.groupby("task", observed=True)["optimizer"].nunique()
    assert per_task[per_task == 33].size == 14  # adam_default and nadamw_seed0..31 on the replica tasks


def test_a_version_being_staged_extends_the_published_one(published, spec_jobs, make_small):
    """`make_small.py seed` starts the next version from the published shards: staging holds every one
    of them unchanged (same sha256), and whatever else it holds or lacks is jobs of new tasks."""
    if not (STAGING / "manifest.json").exists():
        pytest.skip("no next version is being staged")
    assert make_small.extension_problems(STAGING, PUBLISHED) == []
    added = {job.key for job in spec_jobs} - published_tasks_jobs(published, spec_jobs)
    assert added, "the specs add no task to the published version: publish it or delete the staging directory"
    assert {job.key for job in make_small.missing_jobs(STAGING)} <= added


def test_taskset_mini_is_a_strict_subset_of_the_jobs(spec_jobs):
    mini_keys = set(curves.read(MINI_DIR, columns=["job_key"])["job_key"].astype(str))
    keys = {job.key for job in spec_jobs}
    assert mini_keys < keys


def test_staged_shards_are_jobs_of_the_specs_and_hold_taskset_mini_unchanged(staged, spec_jobs):
    keys = {job.key for job in spec_jobs}
    assert set(staged["job_key"].astype(str)) <= keys
    mini = curves.read(MINI_DIR)
    ours = staged[staged["job_key"].isin(set(mini["job_key"].astype(str)))]
    assert len(ours) == len(mini)
    # Sorted by the names as strings: the two frames' categorical codes follow different category lists.
    left, right = (frame.assign(job_key=frame["job_key"].astype(str), optimizer=frame["optimizer"].astype(str))
                   .sort_values(["job_key", "optimizer"]) for frame in (mini, ours))
    for split in ("train", "valid_inner", "test"):
        assert all(a.tobytes() == b.tobytes() for a, b in zip(left[split], right[split])), split


def new_jobs(staged, spec_jobs) -> list:
    """Jobs of the specs that are staged and were not taskset-mini's."""
    mini_keys = set(curves.read(MINI_DIR, columns=["job_key"])["job_key"].astype(str))
    done = set(staged["job_key"].astype(str))
    return [job for job in spec_jobs if job.key in done and job.key not in mini_keys]


def cpu_types() -> tuple[dict[str, str], dict[str, str]]:
    """(job key -> the CPU type that made it, CPU type -> its canary fingerprint) for taskset-small."""
    types = json.loads((ROOT / "curves" / "specs" / "cpu_types.json").read_text())["types"]
    made_on = {key: name for name, t in types.items() for key in t["jobs"].get("taskset-small", [])}
    return made_on, {name: t["fingerprint"] for name, t in types.items()}


def recorded_machines() -> dict[str, dict]:
    """Job key -> the numeric environment its shard recorded, from the curves `staged` reads."""
    from curves.store import job_machines

    return job_machines(PUBLISHED if (PUBLISHED / "manifest.json").exists() else STAGING)


def test_three_cheap_new_jobs_regenerate_bit_for_bit(staged, spec_jobs):
    candidates = affordable(staged, new_jobs(staged, spec_jobs), 8.0)
    if len(candidates) < 3:
        pytest.skip(f"only {len(candidates)} new job(s) so far retrain in seconds; `-m slow` retrains any")
    check_regenerates(staged, spec_jobs, candidates, *cpu_types(), recorded=recorded_machines())


@pytest.mark.slow
def test_any_three_new_jobs_regenerate_bit_for_bit(staged, spec_jobs):
    new = new_jobs(staged, spec_jobs)
    assert len(new) >= 3, f"only {len(new)} new job(s) staged"
    check_regenerates(staged, spec_jobs, new, *cpu_types(), recorded=recorded_machines())


def test_every_job_made_on_another_cpu_type_is_one_of_the_specs(staged, spec_jobs):
    made_on, fingerprints = cpu_types()
    assert set(made_on) <= {job.key for job in spec_jobs} and set(made_on) <= set(staged["job_key"].astype(str))
    assert set(made_on.values()) == set(fingerprints) and "reference" not in fingerprints
    assert all(len(value) == 64 for value in fingerprints.values())
    assert len(set(fingerprints.values())) == len(fingerprints)


def test_the_shipped_list_is_the_family_weighted_greedy_fit_of_the_shipped_curves(published):
    from hparam_lists import fit, load_list, manifest_sha256

    shipped_list = load_list("nadamw-small")
    assert shipped_list.dataset == "taskset-small" and len(shipped_list) == 50
    assert shipped_list.manifest_sha256 == manifest_sha256(PUBLISHED) and shipped_list.fit.weighting == "family"
    refit = fit(published, "nadamw", size=50, dataset="taskset-small", manifest_sha256=manifest_sha256(PUBLISHED),
                weighting="family")
    assert refit.entries == shipped_list.entries and refit.fit == shipped_list.fit


def test_taskset_small_is_the_default_dataset_of_the_list_commands():
    from curves.registry import DEFAULT_DATASET
    from taskset.cli.main import build_parser

    parser = build_parser()
    for command in (["lists", "fit", "--family", "nadamw", "--out", "x.json"],
                    ["lists", "evaluate", "x.json", "--report", "r"]):
        assert parser.parse_args(command).curves == DEFAULT_DATASET == "taskset-small"


def test_publish_replace_swaps_in_a_complete_superset_and_keeps_the_old_version_otherwise(make_small, jobs,
                                                                                          tmp_path, monkeypatch):
    import argparse
    import shutil

    from curves.registry import shipped_version
    from curves.runner import generate
    from tests.curves.fakes import fake_train

    data, staging = tmp_path / "data" / "taskset-small", tmp_path / "staging"
    generate(jobs[:4], data, train_fn=fake_train, progress=False)
    shutil.copytree(data, staging)
    monkeypatch.setattr(make_small, "DATA", data)
    monkeypatch.setattr(make_small, "STAGING", staging)
    monkeypatch.setattr(make_small, "spec_jobs", lambda: list(jobs))
    old_version = shipped_version(data)
    replace = argparse.Namespace(replace=True)

    with pytest.raises(SystemExit, match=r"lacks 4 job\(s\)"):  # incomplete: the old version stays
        make_small.publish(replace)
    assert shipped_version(data) == old_version and sorted(p.name for p in data.parent.iterdir()) == ["taskset-small"]

    generate(jobs, staging, train_fn=fake_train, progress=False)
    manifest = json.loads((staging / "manifest.json").read_text())
    key = next(iter(json.loads((data / "manifest.json").read_text())["shards"]))
    original = manifest["shards"][key]["sha256"]
    manifest["shards"][key]["sha256"] = "0" * 64  # as if staging held other bytes for a published job
    (staging / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SystemExit, match="does not extend"):
        make_small.publish(replace)
    assert shipped_version(data) == old_version
    manifest["shards"][key]["sha256"] = original
    (staging / "manifest.json").write_text(json.dumps(manifest))

    make_small.publish(replace)
    assert not staging.exists() and sorted(p.name for p in data.parent.iterdir()) == ["taskset-small"]
    assert set(curves.read(data)["job_key"].astype(str)) == {job.key for job in jobs}
    assert shipped_version(data) != old_version and curves.verify(data).ok
