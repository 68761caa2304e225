"""The collector benchmark's pieces: the commands it times both ways and its report (nothing here starts them)."""

from pathlib import Path

from benchmarks.cli_gc import BEFORE, commands, markdown


def test_each_command_names_its_cli_module_and_writes_into_the_scratch_folder(tmp_path):
    jobs = commands(tmp_path, [32, 1000])
    assert {module for module, _ in jobs.values()} == {"dataset_gen.cli", "inverse.cli", "specmask.cli"}
    assert jobs["python -m dataset_gen --n 1000"][1][:2] == ["--n", "1000"]
    for module, args in jobs.values():
        outputs = [Path(a) for a in args if a.startswith(str(tmp_path))]
        assert module == "inverse.cli" or outputs  # every file a command writes goes to the scratch folder
    # the "before" side is the old entry point's steps: allocator, install check, the command's main(), no gc calls
    assert "check_install()" in BEFORE and "tune_allocator()" in BEFORE and "gc." not in BEFORE


def test_the_report_gives_both_sides_and_the_speed_up():
    results = {"command": "python benchmarks/cli_gc.py", "repeats": 5, "load_before": [1.0] * 3,
               "load_after": [1.5] * 3, "machine": {"cpu_model": "a CPU", "cpus": 2, "torch": "2.11.0"},
               "median": {"import torch": {"before": 2.0, "after": 1.5}}}
    text = markdown(results)
    assert "| `import torch` | 2.00 s | 1.50 s | -0.50 s | 1.333x |" in text
